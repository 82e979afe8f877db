//! Tokens saved by `desk login`.
//!
//! Where a token goes depends on the credential store setting ([`StoreMode`]): with `auto`
//! (the default) desk puts it in the OS keychain when one answers and otherwise in
//! `credentials.toml` in the config directory, created with mode 0600 and rewritten
//! atomically. The file always records each profile's server and where its token is, so
//! `desk config show` can say it without touching the keychain, and a command that gets its
//! token from `DESK_TOKEN` never wakes the keychain.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::keychain::Keychain;

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

/// Where `desk login` may put tokens: `credential_store` in config.toml, overridden by
/// `DESK_CREDENTIAL_STORE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreMode {
    /// The OS keychain when one answers, else the 0600 file.
    #[default]
    Auto,
    /// The OS keychain or nothing: `desk login` fails when there is none.
    Keychain,
    /// Only the 0600 file. The keychain is contacted only to delete a token that an earlier
    /// login left there, so that no stale copy outlives the switch.
    File,
}

impl StoreMode {
    pub fn parse(s: &str) -> Option<StoreMode> {
        match s.trim() {
            "auto" => Some(StoreMode::Auto),
            "keychain" => Some(StoreMode::Keychain),
            "file" => Some(StoreMode::File),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StoreMode::Auto => "auto",
            StoreMode::Keychain => "keychain",
            StoreMode::File => "file",
        }
    }
}

/// What the credentials file knows about a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCredential {
    pub server: String,
    pub secret: StoredSecret,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StoredSecret {
    /// In the file itself.
    File(Token),
    /// In the OS keychain, under this profile and server.
    Keychain,
}

/// Where `save` put the token.
#[derive(Debug, Clone, PartialEq)]
pub enum Saved {
    /// In the keychain with this name.
    Keychain(&'static str),
    /// In the file; `why` says why not in the keychain (None when the mode is `file`).
    File { why_not_keychain: Option<String> },
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    /// The token is in the OS keychain.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    keychain: bool,
}

/// The credentials of every profile: `credentials.toml` plus, for profiles whose token is
/// there, the OS keychain.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    path: PathBuf,
    mode: StoreMode,
    /// Opened on first use, at most once per process.
    keychain: std::sync::Arc<OnceLock<Result<Keychain, String>>>,
}

impl CredentialStore {
    pub fn new(path: PathBuf, mode: StoreMode) -> CredentialStore {
        CredentialStore { path, mode, keychain: Default::default() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn mode(&self) -> StoreMode {
        self.mode
    }

    fn keychain(&self) -> Result<&Keychain, String> {
        self.keychain.get_or_init(Keychain::open).as_ref().map_err(Clone::clone)
    }

    /// A short description for `desk config show`: the setting and the file, without
    /// contacting the keychain.
    pub fn describe(&self) -> String {
        match self.mode {
            StoreMode::File => format!("file {} (mode 0600)", self.path.display()),
            m => format!(
                "OS keychain when one answers (credential_store = \"{}\"), else file {} (mode 0600)",
                m.as_str(),
                self.path.display()
            ),
        }
    }

    /// Where a saved token now lives, for messages.
    pub fn describe_saved(&self, saved: &Saved) -> String {
        match saved {
            Saved::Keychain(name) => format!("{name} (server recorded in {})", self.path.display()),
            Saved::File { .. } => format!("file {} (mode 0600)", self.path.display()),
        }
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

    fn err(&self, message: String) -> ConfigError {
        ConfigError::Credentials { path: self.path.clone(), message }
    }

    /// What the file records for a profile; the keychain is not contacted.
    pub fn get(&self, profile: &str) -> Result<Option<StoredCredential>, ConfigError> {
        let Some(e) = self.read()?.profiles.remove(profile) else { return Ok(None) };
        let secret = match (e.token, e.keychain) {
            (Some(t), _) => StoredSecret::File(Token::new(t)),
            (None, true) => StoredSecret::Keychain,
            (None, false) => {
                return Err(self.err(format!(
                    "profile `{profile}` has neither a token nor `keychain = true`; run `desk login --profile {profile}` again"
                )));
            }
        };
        Ok(Some(StoredCredential { server: e.server, secret }))
    }

    /// The token of a stored credential, from the file or the keychain.
    pub fn token(&self, profile: &str, cred: &StoredCredential) -> Result<Token, ConfigError> {
        match &cred.secret {
            StoredSecret::File(t) => Ok(t.clone()),
            StoredSecret::Keychain => {
                let relogin = format!("run `desk login --profile {profile} --server {}` again", cred.server);
                let chain = self
                    .keychain()
                    .map_err(|why| self.err(format!("the token of profile `{profile}` is in the OS keychain, which is not reachable: {why}; {relogin}")))?;
                match chain.get(profile, &cred.server) {
                    Ok(Some(t)) => Ok(t),
                    Ok(None) => Err(self.err(format!(
                        "the token of profile `{profile}` is no longer in {}; {relogin}",
                        chain.name()
                    ))),
                    Err(why) => Err(self.err(format!(
                        "cannot read the token of profile `{profile}` from {}: {why}; {relogin}",
                        chain.name()
                    ))),
                }
            }
        }
    }

    /// Saves a profile's server and token: in the keychain when the mode allows and one
    /// answers, else in the file. A token left from an earlier login elsewhere is removed so
    /// that exactly one copy exists.
    pub fn save(&self, profile: &str, server: &str, token: &Token) -> Result<Saved, ConfigError> {
        let mut file = self.read()?;
        let previous = file.profiles.remove(profile);
        let saved = match self.mode {
            StoreMode::File => Saved::File { why_not_keychain: None },
            mode => match self.keychain().and_then(|k| k.set(profile, server, token).map(|()| k.name())) {
                Ok(name) => Saved::Keychain(name),
                Err(why) if mode == StoreMode::Auto => Saved::File { why_not_keychain: Some(why) },
                Err(why) => {
                    return Err(self.err(format!(
                        "credential_store is \"keychain\" but the OS keychain cannot take the token: {why}; \
                         set credential_store = \"auto\" or \"file\" (or DESK_CREDENTIAL_STORE) to use the 0600 file"
                    )));
                }
            },
        };
        let in_keychain = matches!(saved, Saved::Keychain(_));
        file.profiles.insert(
            profile.to_owned(),
            CredentialEntry {
                server: server.to_owned(),
                token: (!in_keychain).then(|| token.expose().to_owned()),
                keychain: in_keychain,
            },
        );
        self.write(&file)?;
        if let Some(old) = previous.filter(|old| old.keychain && !(in_keychain && old.server == server)) {
            // Best effort: the new token is saved; a stale keychain item is only clutter.
            if let Err(why) = self.keychain().and_then(|k| k.delete(profile, &old.server)) {
                tracing::warn!("could not delete the old keychain item of profile {profile}: {why}");
            }
        }
        Ok(saved)
    }

    /// Forgets a profile's token, wherever it is; true when there was one. When the keychain
    /// holds the token but cannot be reached, the file entry stays and the error says so.
    pub fn remove(&self, profile: &str) -> Result<bool, ConfigError> {
        let mut file = self.read()?;
        let Some(entry) = file.profiles.remove(profile) else { return Ok(false) };
        if entry.keychain {
            let chain = self.keychain().map_err(|why| {
                self.err(format!("the token of profile `{profile}` is in the OS keychain, which is not reachable: {why}; try again where the keychain is available"))
            })?;
            chain.delete(profile, &entry.server).map_err(|why| {
                self.err(format!(
                    "cannot delete the token of profile `{profile}` from {}: {why}",
                    chain.name()
                ))
            })?;
        }
        self.write(&file)?;
        Ok(true)
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
        let store = CredentialStore::new(dir.path().join("sub/credentials.toml"), StoreMode::File);
        assert_eq!(store.get("default").unwrap(), None);
        let saved = store.save("default", "http://a", &Token::new("s3cret".into())).unwrap();
        assert_eq!(saved, Saved::File { why_not_keychain: None });
        store.save("work", "http://b", &Token::new("other".into())).unwrap();
        let got = store.get("default").unwrap().unwrap();
        let token = store.token("default", &got).unwrap();
        assert_eq!((got.server.as_str(), token.expose()), ("http://a", "s3cret"));
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
    fn a_keychain_entry_is_read_without_touching_the_keychain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.toml");
        std::fs::write(&path, "[profiles.default]\nserver = \"http://a\"\nkeychain = true\n").unwrap();
        let store = CredentialStore::new(path.clone(), StoreMode::File);
        let got = store.get("default").unwrap().unwrap();
        assert_eq!(got, StoredCredential { server: "http://a".into(), secret: StoredSecret::Keychain });
        // An entry with neither says what to do.
        std::fs::write(&path, "[profiles.default]\nserver = \"http://a\"\n").unwrap();
        let err = store.get("default").unwrap_err().to_string();
        assert!(err.contains("desk login --profile default"), "{err}");
    }

    #[test]
    fn store_modes_parse() {
        for m in [StoreMode::Auto, StoreMode::Keychain, StoreMode::File] {
            assert_eq!(StoreMode::parse(m.as_str()), Some(m));
        }
        assert_eq!(StoreMode::parse("vault"), None);
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
        let err = CredentialStore::new(path, StoreMode::File).get("default").unwrap_err().to_string();
        assert!(!err.contains("s3cret"), "{err}");
        assert!(err.contains("desk login"), "{err}");
    }
}
