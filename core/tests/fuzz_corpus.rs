//! Replays every fuzz corpus file and crash reproducer (`fuzz/seeds/<target>/`, `fuzz/corpus/<target>/`,
//! `fuzz/regressions/<target>/`) through the same entry points the fuzz targets use, on the
//! stable toolchain: CI checks the corpora without fuzzing. A panic here is a parser bug.

use std::path::Path;

#[test]
fn every_corpus_file_goes_through_its_parser_without_panicking() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut total = 0;
    for (target, entry) in dashkeep_core::fuzzing::TARGETS {
        let mut files = 0;
        for kind in ["seeds", "corpus", "regressions"] {
            let dir = fuzz.join(kind).join(target);
            for file in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let bytes = std::fs::read(file.path()).expect("read corpus file");
                let name = file.path().display().to_string();
                let outcome = std::panic::catch_unwind(|| entry(&bytes));
                assert!(outcome.is_ok(), "{target} panicked on {name}");
                files += 1;
            }
        }
        assert!(files > 0, "fuzz target {target} has no corpus in {}", fuzz.display());
        total += files;
    }
    println!("replayed {total} corpus files");
}
