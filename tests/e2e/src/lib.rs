//! Shared pieces of the end-to-end tests and fault campaigns: the invariants checked after every
//! fault ([`invariants`]) and the campaigns' knobs and helpers ([`campaign`]). The tests
//! themselves live under `tests/`; the kill -9 campaign's worker is `src/bin/campaign_worker.rs`.

pub mod campaign;
pub mod invariants;
