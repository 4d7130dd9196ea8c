//! Feeds arbitrary bytes to the segment reader used by `clips::cut_clip`: it must return a
//! typed error or a summary, never panic, and never allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dashkeep_core::clips::probe_segment_bytes(data);
});
