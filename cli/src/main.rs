//! The `dashkeep` command.
fn main() {}
