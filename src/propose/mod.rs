//! PROPOSE: turn a diagnosis into one concrete, reviewable change. The editors change a
//! single literal (or add a guidance section) and the patch module turns the result
//! into a unified diff that `git apply` accepts.

pub mod edit;
pub mod patch;
