//! Which of a vendor camera's files are finished. A Novatek or BlackVue camera lists the file it
//! is recording like any other; copying it would give a half-written video. A file is taken only
//! once its size (from the listing, or from `Content-Length` where the listing has none) is the
//! same at two successive looks.

use std::collections::{HashMap, HashSet};

/// Remembers each file's size from the previous look at the camera.
#[derive(Clone, Debug, Default)]
pub struct GrowthWatch {
    last: HashMap<String, u64>,
}

impl GrowthWatch {
    /// A watch that has not looked yet: nothing is settled at the first look.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records this look's sizes and returns the names whose size is non-zero and unchanged
    /// since the previous look. Files not in this look are forgotten (memory follows the
    /// listing, which is bounded); a file that left and came back needs two looks again.
    pub fn settled<'a>(
        &mut self,
        sizes: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> HashSet<String> {
        let mut now = HashMap::new();
        let mut settled = HashSet::new();
        for (name, size) in sizes {
            if size > 0 && self.last.get(name) == Some(&size) {
                settled.insert(name.to_string());
            }
            now.insert(name.to_string(), size);
        }
        self.last = now;
        settled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(set: &HashSet<String>) -> Vec<&str> {
        let mut v: Vec<&str> = set.iter().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn a_file_is_taken_once_its_size_holds_between_two_looks() {
        let mut watch = GrowthWatch::new();
        assert!(watch.settled([("a.mp4", 100), ("b.mp4", 50)]).is_empty());
        // b is still being written.
        let second = watch.settled([("a.mp4", 100), ("b.mp4", 80)]);
        assert_eq!(names(&second), ["a.mp4"]);
        let third = watch.settled([("a.mp4", 100), ("b.mp4", 80), ("c.mp4", 10)]);
        assert_eq!(names(&third), ["a.mp4", "b.mp4"]);
    }

    #[test]
    fn empty_rewritten_and_returning_files_wait() {
        let mut watch = GrowthWatch::new();
        watch.settled([("empty.mp4", 0), ("loop.mp4", 100), ("gone.mp4", 5)]);
        // The loop recorder rewrote loop.mp4 (smaller now); gone.mp4 vanished.
        let second = watch.settled([("empty.mp4", 0), ("loop.mp4", 40)]);
        assert!(second.is_empty());
        let third = watch.settled([("empty.mp4", 0), ("loop.mp4", 40), ("gone.mp4", 5)]);
        assert_eq!(names(&third), ["loop.mp4"]);
        let fourth = watch.settled([("gone.mp4", 5)]);
        assert_eq!(names(&fourth), ["gone.mp4"]);
    }
}
