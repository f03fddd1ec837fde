//! `improve` makes a running system better over time while its humans stay in control.
//! One module per phase of the cycle (observe, diagnose, propose, validate, approve,
//! deploy, learn) and `cycle`, which only sequences them; below the phases the stores
//! they share (`store`, `records`), and at the bottom config, git, audit and leaves.
//! Imports only run downwards (README, "Layout"; `tests/it/layout.rs` enforces it).
//! The library never prints: the command line is the binary's (`src/cli/`).

pub mod approve;
pub mod audit;
pub mod clock;
pub mod command;
pub mod config;
pub mod context;
pub mod crash;
pub mod cycle;
pub mod demo;
pub mod deploy;
pub mod diagnose;
pub mod error;
pub mod forge;
pub mod fsutil;
pub mod git;
pub mod health;
pub mod housekeeping;
pub mod init;
pub mod learn;
pub mod lock;
pub mod notify;
pub mod observe;
pub mod propose;
pub mod records;
pub mod report;
pub mod sanitize;
pub mod stats;
pub mod store;
pub mod triggers;
pub mod validate;
pub mod vocab;
