//! Fuzz target `ts_read`: arbitrary bytes through `dashkeep_core::fuzzing::ts_read`, which drives the
//! same parser the app runs on outside input. It must return (an error or a value), never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| dashkeep_core::fuzzing::ts_read(data));
