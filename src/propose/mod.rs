//! PROPOSE: typed proposals (V6) written as branches with exactly the change, a
//! `change.patch` and a pull-request body. Editors keep every other byte alone.

pub mod change;
pub mod edit;
pub mod formula;
pub mod generate;
pub mod locate;
pub mod patch;
pub mod persist;
pub mod render;
pub mod targets;
pub mod template;
