//! All integration tests in one binary (one link, one harness): each module drives the
//! real `improve` binary against temporary git repositories.

mod support;

mod cycle;
mod demo;
mod health;
mod lifecycle;
mod observe;
mod reliability;
