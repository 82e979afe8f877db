//! The rich-text module of desk, compiled on its own for fuzzing (see Cargo.toml for why).
//! It is the very source of `desk::richtext`, included by path.

#[path = "../../src/richtext/mod.rs"]
pub mod richtext;
