//! Exit codes (DESIGN §7) and the error type every subcommand returns.

use std::fmt;
use std::process::ExitCode;

/// 0 ok, 1 error, 2 usage, 3 not found, 4 authentication needed, 5 conflict,
/// 6 rate limited or server unavailable (retryable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Error = 1,
    Usage = 2,
    NotFound = 3,
    Auth = 4,
    Conflict = 5,
    Unavailable = 6,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// A failure to report on stderr: what went wrong and, when we know, what to do.
#[derive(Debug)]
pub struct CliError {
    pub code: Exit,
    pub message: String,
    pub hint: Option<String>,
}

impl CliError {
    pub fn new(code: Exit, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), hint: None }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Prints the error (and hint) to stderr.
    pub fn report(&self) {
        eprintln!("desk: {}", self.message);
        if let Some(hint) = &self.hint {
            eprintln!("hint: {hint}");
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}
