//! Typed records the phases share, each with its load and save: proposals (and their
//! branches) and the pattern library. They sit below the phases, so a phase reads
//! and writes them without importing the phase or the cycle that made them.

pub mod library;
pub mod proposals;
