//! Where desk keeps its files (DESIGN §8): config, data (outbox, drafts, the embedded
//! workspace) and state (logs, the SSE cursor). `DESK_CONFIG_DIR`, `DESK_DATA_DIR` and
//! `DESK_STATE_DIR` override the platform defaults from `directories`.

use std::path::{Path, PathBuf};

use super::ConfigError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    pub state_dir: PathBuf,
}

impl Paths {
    /// The directories from the environment, falling back to the platform's conventions.
    pub fn from_env() -> Result<Paths, ConfigError> {
        Self::from_lookup(|name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from))
    }

    /// Same as [`Paths::from_env`] with an injected environment (tests).
    pub fn from_lookup(env: impl Fn(&str) -> Option<PathBuf>) -> Result<Paths, ConfigError> {
        let dirs = directories::ProjectDirs::from("", "", "desk");
        let pick = |var: &str, default: Option<PathBuf>| -> Result<PathBuf, ConfigError> {
            env(var).or(default).ok_or_else(|| ConfigError::NoHome { var: var.to_owned() })
        };
        let config_dir = pick("DESK_CONFIG_DIR", dirs.as_ref().map(|d| d.config_dir().to_path_buf()))?;
        let data_dir = pick("DESK_DATA_DIR", dirs.as_ref().map(|d| d.data_dir().to_path_buf()))?;
        // Not every platform has a state directory; the local data directory is the closest.
        let state_dir = pick(
            "DESK_STATE_DIR",
            dirs.as_ref().map(|d| d.state_dir().unwrap_or_else(|| d.data_local_dir()).to_path_buf()),
        )?;
        Ok(Paths { config_dir, data_dir, state_dir })
    }

    /// All three under one root (tests, the embedded workspace's examples).
    pub fn under(root: &Path) -> Paths {
        Paths { config_dir: root.join("config"), data_dir: root.join("data"), state_dir: root.join("state") }
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    /// What `desk login` stored: each profile's server, and its token unless that is in the OS
    /// keychain (mode 0600).
    pub fn credentials_file(&self) -> PathBuf {
        self.config_dir.join("credentials.toml")
    }

    pub fn log_file(&self) -> PathBuf {
        self.state_dir.join("desk.log")
    }

    /// The last SSE event id seen for a profile, so a restart resumes where it stopped.
    pub fn events_cursor_file(&self, profile: &str) -> PathBuf {
        self.state_dir.join(format!("events-{}.cursor", safe_file_name(profile)))
    }
}

/// Profile names come from users; keep them from escaping the directory.
fn safe_file_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_every_directory() {
        let paths = Paths::from_lookup(|var| match var {
            "DESK_CONFIG_DIR" => Some("/c".into()),
            "DESK_DATA_DIR" => Some("/d".into()),
            "DESK_STATE_DIR" => Some("/s".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(paths.config_file(), PathBuf::from("/c/config.toml"));
        assert_eq!(paths.credentials_file(), PathBuf::from("/c/credentials.toml"));
        assert_eq!(paths.data_dir, PathBuf::from("/d"));
        assert_eq!(paths.log_file(), PathBuf::from("/s/desk.log"));
    }

    #[test]
    fn cursor_file_names_cannot_escape() {
        let paths = Paths::under(Path::new("/r"));
        assert_eq!(paths.events_cursor_file("../x"), PathBuf::from("/r/state/events-___x.cursor"));
    }
}
