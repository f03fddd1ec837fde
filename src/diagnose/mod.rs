//! DIAGNOSE: finding patterns worth fixing in the observed metrics history.

pub mod detect;
