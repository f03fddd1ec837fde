//! LEARN: the pattern library (known patterns, diagnoses, fixes and their outcomes)
//! and the learning record every finished cycle writes (V8).

pub mod library;
pub mod meta;
