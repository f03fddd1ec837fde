//! `improve` makes a running system better over time while its humans stay in control.
//! One module per phase of the cycle (observe, diagnose, propose, validate, approve,
//! deploy, learn), plus the records store, the audit log, health and invariants.
//! `main.rs` only parses the command line and maps errors to exit codes.

pub mod audit;
pub mod clock;
pub mod config;
pub mod crash;
pub mod demo;
pub mod error;
pub mod fsutil;
pub mod git;
pub mod observe;
pub mod records;
