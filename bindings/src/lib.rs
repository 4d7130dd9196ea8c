//! Dashkeep's UniFFI bindings: the Kotlin and Swift API of `dashkeep-core`.
//!
//! This crate adapts, it decides nothing: records and enums shaped for a UI (`types`, `clips`,
//! `cloud`, whose `Companion` methods live there too), one error
//! enum per core error family (`errors`), the `Companion` object (`companion`), live events to a
//! listener the app registers (`events`), platform services the app may implement (`probe`), and
//! start-up (`platform`: logging and the panic hook). Async exports run on the bindings' own tokio
//! runtime (`runtime`). Proc-macros only; no UDL.

uniffi::setup_scaffolding!();

// UniFFI catches panics at the boundary and throws them into the app as exceptions; with
// panic = "abort" every panic would kill the app instead.
#[cfg(panic = "abort")]
compile_error!(
    "dashkeep-ffi must be built with panic = \"unwind\" (see [profile.*] in Cargo.toml)"
);

#[cfg(target_os = "android")]
mod android;
pub mod ble;
pub mod camera;
pub mod clips;
pub mod cloud;
pub mod companion;
pub mod drive;
pub mod errors;
pub mod events;
#[doc(hidden)]
pub mod fixtures;
pub mod platform;
pub mod probe;
pub mod rules;
mod runtime;
pub mod share;
pub mod types;

pub use camera::{BleTransport, ConnectionState, PairedCamera, SecretStore, WifiJoiner};
pub use companion::{Companion, CompanionSettings, open_companion};
pub use errors::{CompanionError, PlatformError};
pub use events::{CompanionEvent, CompanionListener, TaskHandle};
pub use platform::{LogSink, PlatformConfig, init_platform};
pub use probe::StorageProbe;
