//! The console: app state, the event loop, views, keymap and themes.
