//! `improve demo`: a self-contained target shaped like the mind system, with a planted
//! fault, and a simulator of the logs it would write. It lets the whole cycle run end
//! to end (observe, diagnose, tune, canary, deploy, roll back) without the real system.

pub mod constants;
mod exploration;
pub mod model;
mod output;
pub mod simulate;
mod steplog;
pub mod story;
pub mod target;

pub use simulate::{simulate, SimOptions, SimStats, VariantStats};
pub use target::create_target;

#[cfg(test)]
mod tests;
