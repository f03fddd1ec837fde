//! All integration tests in one binary (one link, one harness): each module drives the
//! real `improve` binary against temporary git repositories.

mod support;

mod cli;
mod cycle;
mod demo;
mod fake_forge;
mod forge;
mod forge_flow;
mod health;
mod host;
mod hostile;
mod layout;
mod lifecycle;
mod longlife;
mod mind;
mod mind_fixture;
mod observe;
mod records;
mod reliability;
mod report;
mod units;
