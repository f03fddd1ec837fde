//! VALIDATE: judging a proposed change before (and after) it ships.

pub mod judge;
