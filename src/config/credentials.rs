//! Tokens saved by `desk login`.
//!
//! desk stores tokens in `credentials.toml` in the config directory, created with mode 0600
//! and rewritten atomically. It does not use an OS keychain: the `keyring` crate would pull a
//! D-Bus stack into every build, and headless Linux machines (where desk often runs) rarely
//! have a Secret Service. A profile can instead take its token from the environment or from
//! a command such as `pass show desk` (see `config.example.toml`).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// A bearer token. Its `Debug` and `Display` never show the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(secret: String) -> Token {
        Token(secret)
    }

    /// The secret itself, for the `Authorization` header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredCredential {
    pub server: String,
    pub token: Token,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    #[serde(default)]
    profiles: BTreeMap<String, CredentialEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialEntry {
    server: String,
    token: String,
}

/// The credentials file: one `[profiles.NAME]` table with `server` and `token` per profile.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    path: PathBuf,
}

impl CredentialStore {
    pub fn new(path: PathBuf) -> CredentialStore {
        CredentialStore { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A short description for `desk config show` and `desk login`.
    pub fn describe(&self) -> String {
        format!("file {} (mode 0600; no OS keychain is used)", self.path.display())
    }

    fn read(&self) -> Result<CredentialsFile, ConfigError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ConfigError::Credentials {
                path: self.path.clone(),
                // Never echo the file's content: it holds secrets.
                message: format!(
                    "cannot parse ({}); delete it and run `desk login` again",
                    e.message().trim()
                ),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CredentialsFile::default()),
            Err(source) => Err(ConfigError::Io { path: self.path.clone(), source }),
        }
    }

    fn write(&self, file: &CredentialsFile) -> Result<(), ConfigError> {
        let text = toml::to_string(file).map_err(|e| ConfigError::Credentials {
            path: self.path.clone(),
            message: format!("cannot encode: {e}"),
        })?;
        write_private(&self.path, text.as_bytes())
            .map_err(|source| ConfigError::Io { path: self.path.clone(), source })
    }

    pub fn get(&self, profile: &str) -> Result<Option<StoredCredential>, ConfigError> {
        Ok(self
            .read()?
            .profiles
            .remove(profile)
            .map(|e| StoredCredential { server: e.server, token: Token::new(e.token) }))
    }

    pub fn save(&self, profile: &str, server: &str, token: &Token) -> Result<(), ConfigError> {
        let mut file = self.read()?;
        file.profiles.insert(
            profile.to_owned(),
            CredentialEntry { server: server.to_owned(), token: token.expose().to_owned() },
        );
        self.write(&file)
    }

    /// Forgets a profile's token; true when there was one.
    pub fn remove(&self, profile: &str) -> Result<bool, ConfigError> {
        let mut file = self.read()?;
        let had = file.profiles.remove(profile).is_some();
        if had {
            self.write(&file)?;
        }
        Ok(had)
    }
}

/// Writes a file readable only by its owner: a temp file created with mode 0600 in the same
/// directory, fsynced, then renamed over the target, so no reader ever sees half a file
/// and the secret is never briefly world-readable.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("credentials"),
        std::process::id()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut f = options.open(&tmp)?;
        #[cfg(unix)]
        {
            // The temp file may have existed with wider permissions.
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_get_remove_round_trip_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::new(dir.path().join("sub/credentials.toml"));
        assert_eq!(store.get("default").unwrap(), None);
        store.save("default", "http://a", &Token::new("s3cret".into())).unwrap();
        store.save("work", "http://b", &Token::new("other".into())).unwrap();
        let got = store.get("default").unwrap().unwrap();
        assert_eq!((got.server.as_str(), got.token.expose()), ("http://a", "s3cret"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(store.remove("default").unwrap());
        assert!(!store.remove("default").unwrap());
        assert!(store.get("work").unwrap().is_some());
    }

    #[test]
    fn tokens_never_format() {
        let t = Token::new("s3cret".into());
        assert!(!format!("{t:?} {t}").contains("s3cret"));
    }

    #[test]
    fn a_corrupt_file_is_reported_without_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.toml");
        std::fs::write(&path, "token = s3cret garbage").unwrap();
        let err = CredentialStore::new(path).get("default").unwrap_err().to_string();
        assert!(!err.contains("s3cret"), "{err}");
        assert!(err.contains("desk login"), "{err}");
    }
}
