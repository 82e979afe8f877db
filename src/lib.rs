//! desk: a terminal console for support agents, its scripting CLI and its backend.
//!
//! Modules are walled like crates (DESIGN §1): `model`, `richtext` and `sla` are pure and
//! trusted by everything else; `client`, `server`, `config` and `tui` build on them; `cli`
//! wires the pieces together.

pub mod cli;
pub mod client;
pub mod config;
pub mod model;
pub mod richtext;
pub mod server;
pub mod sla;
pub mod tui;
