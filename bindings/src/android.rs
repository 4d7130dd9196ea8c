//! Android start-up. HTTPS from Rust (the S3 endpoint) verifies certificates with Android's
//! trust store through rustls-platform-verifier, which needs the app's `Context`: the app's
//! `NativeCore.load` calls [`Java_org_dashkeep_app_platform_NativeCore_initTrustStore`] once,
//! right after `System.loadLibrary`. With the `btleplug` feature, btleplug reaches Android's
//! Bluetooth through JNI, and needs the JVM and a JNI env from a thread Java called into, with the
//! app's class loader. `JNI_OnLoad` is that moment: the JVM calls it when the app's
//! `System.loadLibrary` (or JNA's `Native.register`) loads `libdashkeep_ffi`, on a thread Java
//! owns. The app's own BLE central (`BleTransport.platform`) needs none of this.
//!
//! Written against jni 0.22 (the version btleplug 0.13 uses) but not compiled on the Linux CI
//! machine: building it needs the Android NDK (see docs/mobile.md, "Android: JNI_OnLoad").
#![allow(unsafe_code)]

#[cfg(feature = "btleplug")]
use std::ffi::c_void;

#[cfg(feature = "btleplug")]
use jni::sys::{JNI_ERR, JNI_VERSION_1_6, JavaVM as RawJavaVm, jint};

/// `NativeCore.initTrustStore(context)`: hands the app's context (and through it the class
/// loader) to rustls-platform-verifier, once per process. A failure throws a `RuntimeException`
/// in Kotlin, which the app logs: HTTPS to the cloud then fails verification, typed, not a crash.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_dashkeep_app_platform_NativeCore_initTrustStore<'local>(
    mut env: jni::EnvUnowned<'local>,
    _class: jni::objects::JClass<'local>,
    context: jni::objects::JObject<'local>,
) {
    env.with_env(|env| -> jni::errors::Result<()> {
        rustls_platform_verifier::android::init_with_env(env, context)
    })
    .resolve::<jni::errors::ThrowRuntimeExAndDefault>()
}

/// Called by the JVM once, when the library is loaded: initialises btleplug's Android bridge.
#[cfg(feature = "btleplug")]
/// A failure is logged and loading continues: `BleTransport.system()` then reports Bluetooth as
/// unavailable (a typed error) rather than the app failing to start.
#[unsafe(no_mangle)]
pub extern "system" fn JNI_OnLoad(vm: *mut RawJavaVm, _reserved: *mut c_void) -> jint {
    if vm.is_null() {
        return JNI_ERR;
    }
    // SAFETY: the JVM passes JNI_OnLoad a valid JavaVM pointer that outlives the library.
    let vm = unsafe { jni::JavaVM::from_raw(vm) };
    let init = vm.attach_current_thread(|env| -> Result<(), Box<dyn std::error::Error>> {
        btleplug::platform::init(env)?;
        Ok(())
    });
    if let Err(e) = init {
        tracing::error!(error = %e, "btleplug's Android bridge did not start; Bluetooth is unavailable");
    }
    JNI_VERSION_1_6
}
