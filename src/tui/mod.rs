//! The console: app state, the event loop, views, keymap and themes.
//!
//! `app` holds all state and the pure `update`; `view` draws from state only; `runtime` is
//! the thin async shell that turns terminal input, server events and request results into
//! messages and carries out effects.

pub mod app;
pub mod badge;
pub mod filter;
#[doc(hidden)]
pub mod fixtures;
pub mod keymap;
pub mod open;
pub mod refs;
pub mod runtime;
pub mod theme;
pub mod view;
pub mod when;
