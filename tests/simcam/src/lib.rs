//! A simulated dash cam (work in progress).
