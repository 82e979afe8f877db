//! Config file, profiles, paths and credentials (DESIGN §8).
//!
//! `config.toml` is strict: an unknown key or a bad value is an error that names the file,
//! the line and the key, because a silently ignored setting is worse than a refusal.
//! Every option is documented in `config.example.toml` at the repository root, which
//! `desk config init` writes out.

mod credentials;
mod keychain;
mod paths;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use crate::model::{NotificationKind, SortKey, TicketFilter};

pub use credentials::{CredentialStore, Saved, StoreMode, StoredCredential, StoredSecret, Token};
pub use paths::Paths;

/// The commented example config, written by `desk config init`.
pub const EXAMPLE_CONFIG: &str = include_str!("../../config.example.toml");

/// The profile used when neither `--profile`, `DESK_PROFILE` nor `default_profile` names one.
pub const DEFAULT_PROFILE: &str = "default";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}:{line}:{column}: {message}")]
    Parse { file: PathBuf, line: usize, column: usize, message: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("no home directory to put desk's files in; set {var}")]
    NoHome { var: String },
    #[error("unknown profile `{name}` (known: {known}); add [profiles.{name}] to {} or run `desk login --profile {name} --server URL`", file.display())]
    UnknownProfile { name: String, known: String, file: PathBuf },
    #[error("{}: {message}", path.display())]
    Credentials { path: PathBuf, message: String },
    #[error("token for profile `{profile}`: {message}")]
    TokenSource { profile: String, message: String },
    #[error("{var}: {message}")]
    Env { var: String, message: String },
}

/// `config.toml`. Every field has a default, so an absent file is an empty config.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Profile used when `--profile` and `DESK_PROFILE` are absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_profile: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub profiles: BTreeMap<String, Profile>,
    /// Where `desk login` keeps tokens: `auto` (the OS keychain when one answers, else a
    /// 0600 file), `keychain` or `file`. `DESK_CREDENTIAL_STORE` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_store: Option<StoreMode>,
    /// Theme name: a built-in (`dark`, `light`, `high-contrast`) or a file in `themes/` of the config dir.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    /// Console key overrides: action name -> one key or a list of keys. The console
    /// validates action names and key syntax when it starts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keys: BTreeMap<String, KeyBinding>,
    #[serde(default)]
    pub notifications: Notifications,
    #[serde(default)]
    pub refresh: Refresh,
    #[serde(default)]
    pub network: Network,
    /// Local queue definitions shown as tabs after the server's views.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<ViewConfig>,
}

/// A server to talk to and where its token comes from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Base URL, e.g. `https://desk.example.com` (no `/api/v1`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "server_url")]
    pub server: Option<String>,
    #[serde(default)]
    pub token: TokenSource,
}

/// `token = "store"` (default: what `desk login` saved), `token = { env = "VAR" }`,
/// or `token = { command = ["pass", "show", "desk"] }` (stdout, trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TokenSource {
    #[default]
    Store,
    Env(String),
    Command(Vec<String>),
}

/// One key (`"r"`) or several (`["q", "esc"]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, expecting = "a key like \"r\" or a list of keys like [\"q\", \"esc\"]")]
pub enum KeyBinding {
    One(String),
    Many(Vec<String>),
}

impl KeyBinding {
    pub fn keys(&self) -> Vec<&str> {
        match self {
            KeyBinding::One(k) => vec![k.as_str()],
            KeyBinding::Many(ks) => ks.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    /// Ring the terminal bell when a notification arrives.
    #[serde(default = "yes")]
    pub bell: bool,
    /// Which notification kinds the console shows as toasts.
    #[serde(default = "all_notification_kinds")]
    pub kinds: Vec<NotificationKind>,
}

impl Default for Notifications {
    fn default() -> Self {
        Notifications { bell: true, kinds: all_notification_kinds() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refresh {
    /// Full refetch of the open queue every this many seconds, as a safety net beside
    /// the live events; 0 turns it off.
    #[serde(default = "default_queue_secs")]
    pub queue_secs: u64,
    /// How often the console renews its presence on the open ticket.
    #[serde(default = "default_presence_secs", deserialize_with = "positive")]
    pub presence_secs: u64,
}

impl Default for Refresh {
    fn default() -> Self {
        Refresh { queue_secs: default_queue_secs(), presence_secs: default_presence_secs() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Whole-request timeout of one attempt.
    #[serde(default = "default_timeout_secs", deserialize_with = "positive")]
    pub timeout_secs: u64,
    #[serde(default = "default_connect_timeout_secs", deserialize_with = "positive")]
    pub connect_timeout_secs: u64,
    /// Retries after the first attempt, for requests that are safe to repeat.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Cap on the total time spent on one request including its retries.
    #[serde(default = "default_retry_budget_secs", deserialize_with = "positive")]
    pub retry_budget_secs: u64,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            timeout_secs: default_timeout_secs(),
            connect_timeout_secs: default_connect_timeout_secs(),
            retries: default_retries(),
            retry_budget_secs: default_retry_budget_secs(),
        }
    }
}

/// `[[views]]`: a local saved queue (same filter language as the server's views).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewConfig {
    pub name: String,
    #[serde(default)]
    pub filter: TicketFilter,
    #[serde(default = "default_sort")]
    pub sort: SortKey,
}

fn yes() -> bool {
    true
}
fn all_notification_kinds() -> Vec<NotificationKind> {
    NotificationKind::ALL.to_vec()
}
fn default_queue_secs() -> u64 {
    60
}
fn default_presence_secs() -> u64 {
    15
}
fn default_timeout_secs() -> u64 {
    30
}
fn default_connect_timeout_secs() -> u64 {
    5
}
fn default_retries() -> u32 {
    3
}
fn default_retry_budget_secs() -> u64 {
    30
}
fn default_sort() -> SortKey {
    SortKey::Sla
}

fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = u64::deserialize(d)?;
    if v == 0 {
        return Err(serde::de::Error::custom("must be greater than 0"));
    }
    Ok(v)
}

fn server_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    check_server_url(&s).map_err(serde::de::Error::custom)?;
    Ok(Some(s.trim_end_matches('/').to_owned()))
}

/// A server URL is `http(s)://host[:port][/prefix]`.
pub fn check_server_url(s: &str) -> Result<(), String> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| format!("server `{s}` must start with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
        return Err(format!("server `{s}` has no host"));
    }
    Ok(())
}

impl Config {
    /// Reads `config.toml` from the config directory; an absent file is the default config.
    pub fn load(paths: &Paths) -> Result<Config, ConfigError> {
        let file = paths.config_file();
        match std::fs::read_to_string(&file) {
            Ok(text) => Config::from_toml(&text, &file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(ConfigError::Io { path: file, source }),
        }
    }

    /// Parses config text; errors carry `file:line:column` and the key.
    pub fn from_toml(text: &str, file: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            let key = key_at(text, e.span().map(|s| s.start));
            let mut message = e.message().trim().to_owned();
            if let Some(key) = key.filter(|k| !message.contains(k.as_str())) {
                message = format!("`{key}`: {message}");
            }
            ConfigError::Parse { file: file.to_path_buf(), line, column, message }
        })
    }

    /// The credential store for this config: `credential_store`, overridden by
    /// `DESK_CREDENTIAL_STORE`.
    pub fn credential_store(
        &self,
        paths: &Paths,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<CredentialStore, ConfigError> {
        let mode = match env("DESK_CREDENTIAL_STORE").filter(|s| !s.trim().is_empty()) {
            Some(v) => StoreMode::parse(&v).ok_or_else(|| ConfigError::Env {
                var: "DESK_CREDENTIAL_STORE".into(),
                message: format!("`{v}` is not a credential store; use auto, keychain or file"),
            })?,
            None => self.credential_store.unwrap_or_default(),
        };
        Ok(CredentialStore::new(paths.credentials_file(), mode))
    }

    /// The active profile's name (`--profile`, `DESK_PROFILE`, `default_profile`, `default`)
    /// and whether it was named explicitly.
    pub fn profile_name(&self, flag: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> (String, bool) {
        let named = flag.map(str::to_owned).or_else(|| env("DESK_PROFILE").filter(|s| !s.is_empty()));
        let explicit = named.is_some() || self.default_profile.is_some();
        let name =
            named.or_else(|| self.default_profile.clone()).unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
        (name, explicit)
    }

    /// Picks the profile: `--profile`, then `DESK_PROFILE`, then `default_profile`, then
    /// `default`; then applies `DESK_SERVER` and `DESK_TOKEN` and the profile's token source.
    pub fn resolve(
        &self,
        paths: &Paths,
        flag: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
        store: &CredentialStore,
    ) -> Result<ResolvedProfile, ConfigError> {
        let (name, explicit) = self.profile_name(flag, env);
        let stored = store.get(&name)?;
        let profile = self.profiles.get(&name);
        if explicit && profile.is_none() && stored.is_none() && !self.profiles.is_empty() {
            return Err(ConfigError::UnknownProfile {
                known: self.profiles.keys().cloned().collect::<Vec<_>>().join(", "),
                name,
                file: paths.config_file(),
            });
        }
        let (server, server_origin) = if let Some(s) = env("DESK_SERVER").filter(|s| !s.is_empty()) {
            (Some(s.trim_end_matches('/').to_owned()), Origin::Env("DESK_SERVER"))
        } else if let Some(s) = profile.and_then(|p| p.server.clone()) {
            (Some(s), Origin::ConfigFile)
        } else if let Some(s) = stored.as_ref().map(|c| c.server.clone()) {
            (Some(s), Origin::Credentials)
        } else {
            (None, Origin::None)
        };
        let source = profile.map(|p| p.token.clone()).unwrap_or_default();
        let (token, token_origin) = if let Some(t) = env("DESK_TOKEN").filter(|s| !s.is_empty()) {
            (Some(Token::new(t)), Origin::Env("DESK_TOKEN"))
        } else {
            match &source {
                TokenSource::Store => match &stored {
                    Some(c) => {
                        let origin = match c.secret {
                            StoredSecret::File(_) => Origin::Credentials,
                            StoredSecret::Keychain => Origin::Keychain,
                        };
                        (Some(store.token(&name, c)?), origin)
                    }
                    None => (None, Origin::None),
                },
                TokenSource::Env(var) => match env(var).filter(|s| !s.is_empty()) {
                    Some(t) => (Some(Token::new(t)), Origin::ProfileEnv(var.clone())),
                    None => {
                        return Err(ConfigError::TokenSource {
                            profile: name,
                            message: format!("environment variable {var} is not set"),
                        });
                    }
                },
                TokenSource::Command(argv) => {
                    (Some(token_from_command(&name, argv)?), Origin::Command(argv.join(" ")))
                }
            }
        };
        Ok(ResolvedProfile { name, server, server_origin, token, token_origin })
    }
}

fn token_from_command(profile: &str, argv: &[String]) -> Result<Token, ConfigError> {
    let err = |message: String| ConfigError::TokenSource { profile: profile.to_owned(), message };
    let (program, args) = argv.split_first().ok_or_else(|| err("token command is empty".into()))?;
    let out = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| err(format!("cannot run `{program}`: {e}")))?;
    if !out.status.success() {
        return Err(err(format!("`{program}` exited with {}", out.status)));
    }
    let token = String::from_utf8(out.stdout).map_err(|_| err(format!("`{program}` printed non-UTF-8")))?;
    let token = token.trim();
    if token.is_empty() {
        return Err(err(format!("`{program}` printed nothing")));
    }
    Ok(Token::new(token.to_owned()))
}

/// Where a resolved setting came from (shown by `desk config show`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    None,
    Env(&'static str),
    ConfigFile,
    Credentials,
    Keychain,
    ProfileEnv(String),
    Command(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::None => f.write_str("not set"),
            Origin::Env(var) => write!(f, "environment ({var})"),
            Origin::ConfigFile => f.write_str("config file"),
            Origin::Credentials => f.write_str("credentials file (desk login)"),
            Origin::Keychain => f.write_str("OS keychain (desk login)"),
            Origin::ProfileEnv(var) => write!(f, "environment ({var}, from the profile)"),
            Origin::Command(cmd) => write!(f, "command `{cmd}`"),
        }
    }
}

/// The profile a command runs with. `token` never prints (see [`Token`]).
#[derive(Debug, Clone)]
pub struct ResolvedProfile {
    pub name: String,
    pub server: Option<String>,
    pub server_origin: Origin,
    pub token: Option<Token>,
    pub token_origin: Origin,
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, column)
}

/// The `key = ` written on the error's line, so a bad value names its key even when
/// the deserializer's message does not.
fn key_at(text: &str, offset: Option<usize>) -> Option<String> {
    let offset = offset?.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = &text[start..end];
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("/x/config.toml"))
    }

    #[test]
    fn the_example_config_is_valid_and_documents_every_section() {
        let cfg = parse(EXAMPLE_CONFIG).unwrap();
        assert!(!cfg.profiles.is_empty());
        assert!(cfg.theme.is_some());
        assert!(!cfg.keys.is_empty());
        assert!(!cfg.views.is_empty());
        for section in ["[notifications]", "[refresh]", "[network]", "[keys]", "[[views]]", "token ="] {
            assert!(EXAMPLE_CONFIG.contains(section), "{section} missing from config.example.toml");
        }
    }

    #[test]
    fn empty_config_is_the_default() {
        assert_eq!(parse("").unwrap(), Config::default());
        assert!(Config::default().notifications.bell);
        assert_eq!(Config::default().network.retries, 3);
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err =
            parse("theme = \"dark\"\n[network]\ntimeout_secs = 5\nretrys = 2\n").unwrap_err().to_string();
        assert!(err.starts_with("/x/config.toml:4:1: "), "{err}");
        assert!(err.contains("retrys"), "{err}");
    }

    #[test]
    fn bad_value_names_the_key() {
        let err = parse("[network]\ntimeout_secs = 0\n").unwrap_err().to_string();
        assert!(err.starts_with("/x/config.toml:2:16: "), "{err}");
        assert!(err.contains("timeout_secs") && err.contains("greater than 0"), "{err}");
        let err = parse("[profiles.work]\nserver = \"desk.example.com\"\n").unwrap_err().to_string();
        assert!(err.contains(":2:") && err.contains("http://"), "{err}");
        let err = parse("[notifications]\nkinds = [\"mention\", \"gossip\"]\n").unwrap_err().to_string();
        assert!(err.contains(":2:") && err.contains("gossip"), "{err}");
    }

    #[test]
    fn keys_take_one_key_or_a_list() {
        let cfg = parse("[keys]\nreply = \"R\"\nquit = [\"q\", \"ctrl-c\"]\n").unwrap();
        assert_eq!(cfg.keys["reply"].keys(), vec!["R"]);
        assert_eq!(cfg.keys["quit"].keys(), vec!["q", "ctrl-c"]);
        assert!(parse("[keys]\nreply = 3\n").unwrap_err().to_string().contains(":2:"));
    }

    #[test]
    fn token_sources_parse() {
        let cfg = parse(
            "[profiles.a]\nserver = \"http://a/\"\n[profiles.b]\ntoken = { env = \"B_TOKEN\" }\n\
             [profiles.c]\ntoken = { command = [\"echo\", \"tok\"] }\n",
        )
        .unwrap();
        assert_eq!(cfg.profiles["a"].server.as_deref(), Some("http://a"));
        assert_eq!(cfg.profiles["a"].token, TokenSource::Store);
        assert_eq!(cfg.profiles["b"].token, TokenSource::Env("B_TOKEN".into()));
        assert_eq!(cfg.profiles["c"].token, TokenSource::Command(vec!["echo".into(), "tok".into()]));
    }

    fn resolve(
        cfg: &Config,
        flag: Option<&str>,
        env: &[(&str, &str)],
    ) -> Result<ResolvedProfile, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let store = CredentialStore::new(paths.credentials_file(), StoreMode::File);
        store.save("default", "http://stored", &Token::new("stored-token".into())).unwrap();
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let lookup = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        cfg.resolve(&paths, flag, &lookup, &store)
    }

    #[test]
    fn profile_resolution_order() {
        let cfg = parse(
            "[profiles.default]\nserver = \"http://cfg\"\n[profiles.work]\nserver = \"http://work\"\n\
             token = { env = \"WORK_TOKEN\" }\n",
        )
        .unwrap();
        let p = resolve(&cfg, None, &[]).unwrap();
        assert_eq!((p.name.as_str(), p.server.as_deref()), ("default", Some("http://cfg")));
        assert_eq!(p.token.as_ref().map(Token::expose), Some("stored-token"));
        let p = resolve(&cfg, None, &[("DESK_PROFILE", "work"), ("WORK_TOKEN", "w")]).unwrap();
        assert_eq!(
            (p.server.as_deref(), p.token.as_ref().map(Token::expose)),
            (Some("http://work"), Some("w"))
        );
        let p = resolve(&cfg, Some("default"), &[("DESK_PROFILE", "work"), ("DESK_SERVER", "http://env/")])
            .unwrap();
        assert_eq!((p.name.as_str(), p.server.as_deref()), ("default", Some("http://env")));
        let p = resolve(&cfg, None, &[("DESK_TOKEN", "t")]).unwrap();
        assert_eq!(p.token.as_ref().map(Token::expose), Some("t"));
        assert_eq!(p.token_origin, Origin::Env("DESK_TOKEN"));
        let err = resolve(&cfg, Some("work"), &[]).unwrap_err().to_string();
        assert!(err.contains("WORK_TOKEN"), "{err}");
        let err = resolve(&cfg, Some("wrok"), &[]).unwrap_err().to_string();
        assert!(err.contains("unknown profile `wrok`") && err.contains("default, work"), "{err}");
    }

    #[test]
    fn stored_credentials_supply_the_server_without_a_config() {
        let p = resolve(&Config::default(), None, &[]).unwrap();
        assert_eq!(p.server.as_deref(), Some("http://stored"));
        assert_eq!(p.server_origin, Origin::Credentials);
    }

    #[test]
    fn token_command_output_is_trimmed() {
        let cfg = parse("[profiles.c]\ntoken = { command = [\"echo\", \" tok \"] }\n").unwrap();
        let p = resolve(&cfg, Some("c"), &[]).unwrap();
        assert_eq!(p.token.as_ref().map(Token::expose), Some("tok"));
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncé=x", 6), (2, 3));
        assert_eq!(line_col("", 0), (1, 1));
    }
}
