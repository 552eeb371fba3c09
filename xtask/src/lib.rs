//! The parts of the project tasks that tests use too.

pub mod package;
