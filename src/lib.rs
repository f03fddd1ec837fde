//! `improve` makes a running system better over time while its humans stay in control.
//! One module per phase of the cycle (observe, diagnose, propose, validate, approve,
//! deploy, learn), plus the records store, the audit log, health and invariants.
//! `main.rs` only parses the command line and maps errors to exit codes.

// Phase functions take the repository, records, config, cycle id and clock explicitly
// rather than through a grab-bag context, so each one shows what it touches.
#![allow(clippy::too_many_arguments)]

pub mod app;
pub mod approve;
pub mod audit;
pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crash;
pub mod cycle;
pub mod demo;
pub mod deploy;
pub mod diagnose;
pub mod error;
pub mod fsutil;
pub mod git;
pub mod health;
pub mod history;
pub mod housekeeping;
pub mod learn;
pub mod lifecycle;
pub mod lock;
pub mod notify;
pub mod observe;
pub mod propose;
pub mod records;
pub mod report;
pub mod stats;
pub mod triggers;
pub mod validate;
