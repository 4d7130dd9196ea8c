//! Dashkeep core: everything a dash cam companion app decides, with no UI and no FFI types.
//!
//! One module per domain noun, each with a small public surface and its own error enum. The
//! [`companion::Companion`] facade wires them together for the CLI and the UniFFI bindings.

pub mod camera;
pub mod catalog;
pub mod clips;
pub mod cloud;
pub mod companion;
pub mod drive;
pub mod events;
#[doc(hidden)]
pub mod fuzzing;
pub mod ingest;
pub mod protocol;
pub mod storage;
mod tls;

pub use companion::{Companion, CompanionConfig, CompanionError, CompanionEvent};
