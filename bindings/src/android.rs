//! Android start-up: btleplug reaches Android's Bluetooth through JNI, and needs the JVM and a
//! JNI env from a thread Java called into, with the app's class loader. `JNI_OnLoad` is that
//! moment: the JVM calls it when the generated bindings load `libdashkeep_ffi` (JNA's
//! `Native.register`, or the app's own `System.loadLibrary`), on a thread Java owns.
//!
//! Written against jni 0.22 (the version btleplug 0.13 uses) but not compiled on the Linux CI
//! machine: building it needs the Android NDK (see docs/mobile.md, "Android: JNI_OnLoad").
#![allow(unsafe_code)]

use std::ffi::c_void;

use jni::sys::{JNI_ERR, JNI_VERSION_1_6, JavaVM as RawJavaVm, jint};

/// Called by the JVM once, when the library is loaded: initialises btleplug's Android bridge.
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
