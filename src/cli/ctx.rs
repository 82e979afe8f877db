//! What every server-facing subcommand needs: paths, config, the resolved profile, an
//! `ApiClient`, the outbox flushed before the command runs, and the mapping from client
//! errors to exit codes (DESIGN §7).

use std::io::IsTerminal;
use std::time::Duration;

use super::output::note;
use super::{CliError, Exit, GlobalArgs};
use crate::client::{ApiClient, ApiError, ClientOptions, Delivery, Outbox, OutboxError, RetryPolicy};
use crate::config::{Config, ConfigError, CredentialStore, Paths, ResolvedProfile};

pub struct Ctx {
    pub global: GlobalArgs,
    pub paths: Paths,
    pub config: Config,
    pub profile: ResolvedProfile,
    pub store: CredentialStore,
}

impl Ctx {
    pub fn load(global: &GlobalArgs) -> Result<Ctx, CliError> {
        Self::load_inner(global, false)
    }

    /// Like [`Ctx::load`], but a profile that exists nowhere yet is fine (`desk login --profile new`).
    pub fn load_for_login(global: &GlobalArgs) -> Result<Ctx, CliError> {
        Self::load_inner(global, true)
    }

    fn load_inner(global: &GlobalArgs, new_profile_ok: bool) -> Result<Ctx, CliError> {
        init_logging(global.verbose, global.color);
        let paths = Paths::from_env()?;
        let config = Config::load(&paths)?;
        let env = |k: &str| std::env::var(k).ok();
        let store = config.credential_store(&paths, &env)?;
        let profile = match config.resolve(&paths, global.profile.as_deref(), &env, &store) {
            // Logging in replaces the stored token, so one that cannot be read (keychain gone,
            // corrupt entry) must not stop it; keep the server the profile names.
            Err(ConfigError::Credentials { .. }) if new_profile_ok => {
                let (name, _) = config.profile_name(global.profile.as_deref(), &env);
                let server = config.profiles.get(&name).and_then(|p| p.server.clone());
                let server_origin = if server.is_some() {
                    crate::config::Origin::ConfigFile
                } else {
                    crate::config::Origin::None
                };
                ResolvedProfile {
                    name,
                    server,
                    server_origin,
                    token: None,
                    token_origin: crate::config::Origin::None,
                }
            }
            Err(ConfigError::UnknownProfile { name, .. }) if new_profile_ok => ResolvedProfile {
                name,
                server: None,
                server_origin: crate::config::Origin::None,
                token: None,
                token_origin: crate::config::Origin::None,
            },
            other => other?,
        };
        tracing::debug!(
            target: "desk::cli",
            "profile {} server {:?} ({}), token {} ({})",
            profile.name,
            profile.server,
            profile.server_origin,
            if profile.token.is_some() { "<redacted>" } else { "none" },
            profile.token_origin
        );
        Ok(Ctx { global: global.clone(), paths, config, profile, store })
    }

    pub fn client_options(&self) -> ClientOptions {
        let n = &self.config.network;
        ClientOptions {
            timeout: Duration::from_secs(n.timeout_secs),
            connect_timeout: Duration::from_secs(n.connect_timeout_secs),
            retry: RetryPolicy {
                max_retries: n.retries,
                budget: Duration::from_secs(n.retry_budget_secs),
                ..RetryPolicy::default()
            },
            ..ClientOptions::default()
        }
    }

    pub fn server(&self) -> Result<String, CliError> {
        self.profile.server.clone().ok_or_else(|| {
            CliError::new(Exit::Auth, format!("no server configured for profile `{}`", self.profile.name))
                .with_hint("run `desk login --server URL`, or set DESK_SERVER")
        })
    }

    /// A client for the profile's server; no request is made yet.
    pub fn client(&self) -> Result<ApiClient, CliError> {
        let server = self.server()?;
        let Some(token) = &self.profile.token else {
            return Err(CliError::new(
                Exit::Auth,
                format!("not logged in to {server} (profile `{}`)", self.profile.name),
            )
            .with_hint(format!("run `desk login --server {server}`, or set DESK_TOKEN")));
        };
        ApiClient::new(&server, Some(token.expose().to_owned()), self.client_options())
            .map_err(CliError::from)
    }

    pub fn outbox(&self) -> Outbox {
        Outbox::open(&self.paths.data_dir)
    }

    /// The client, after delivering whatever the outbox holds (DESIGN §9: retried on start).
    pub async fn connect(&self) -> Result<ApiClient, CliError> {
        let client = self.client()?;
        flush_outbox(&self.outbox(), &client).await?;
        Ok(client)
    }
}

/// Delivers pending outbox entries and says on stderr what happened to each.
pub async fn flush_outbox(outbox: &Outbox, client: &ApiClient) -> Result<(), CliError> {
    for (entry, delivery) in outbox.flush(client).await? {
        let what = format!("{} {} on #{}", entry.message.visibility_word(), entry.id, entry.ticket_id);
        match delivery {
            Delivery::Sent(_) => note(&format!("outbox: delivered {what}")),
            Delivery::Kept(e) => note(&format!("outbox: {what} still pending: {e}")),
            Delivery::Failed(e) => {
                note(&format!("outbox: {what} was refused ({e}); see `desk outbox`"));
            }
        }
    }
    Ok(())
}

trait VisibilityWord {
    fn visibility_word(&self) -> &'static str;
}

impl VisibilityWord for crate::model::NewMessage {
    fn visibility_word(&self) -> &'static str {
        match self.visibility {
            crate::model::Visibility::Public => "reply",
            crate::model::Visibility::Internal => "note",
        }
    }
}

/// Runs a future on a small runtime (the CLI does one thing at a time).
pub fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, CliError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(Exit::Error, format!("cannot start the async runtime: {e}")))?;
    Ok(rt.block_on(f))
}

/// Logs go to stderr: warnings by default, everything of desk's with `--verbose`.
/// Nothing logged ever contains a token (see `client::redact_url` and `config::Token`).
pub(super) fn init_logging(verbose: bool, color: super::ColorChoice) {
    let filter = if verbose { "desk=debug" } else { "desk=warn" };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(super::output::color_enabled(color, std::io::stderr().is_terminal()))
        .with_target(false)
        .without_time()
        .try_init();
}

pub fn stdin_is_tty() -> bool {
    std::io::stdin().is_terminal()
}

impl From<ApiError> for CliError {
    fn from(e: ApiError) -> CliError {
        let message = e.to_string();
        match e {
            ApiError::NotFound { .. } => CliError::new(Exit::NotFound, message),
            ApiError::Unauthenticated { .. } => {
                CliError::new(Exit::Auth, format!("authentication failed: {message}"))
                    .with_hint("run `desk login` again, or check DESK_TOKEN")
            }
            ApiError::Forbidden { .. } => CliError::new(Exit::Error, format!("not allowed: {message}")),
            ApiError::Conflict { .. } => CliError::new(Exit::Conflict, format!("conflict: {message}")),
            ApiError::PreconditionFailed { current, .. } => {
                let version = current.as_ref().and_then(|c| c.get("version")).and_then(|v| v.as_i64());
                let err =
                    CliError::new(Exit::Conflict, format!("changed on the server meanwhile: {message}"));
                match version {
                    Some(v) => err.with_hint(format!(
                        "the current version is {v}; look again and retry with --if-version {v}"
                    )),
                    None => err,
                }
            }
            ApiError::RateLimited { .. } | ApiError::Unavailable { .. } => {
                CliError::new(Exit::Unavailable, message).with_hint("this is temporary; try again later")
            }
            ApiError::Validation { .. }
            | ApiError::Server { .. }
            | ApiError::Decode { .. }
            | ApiError::Config(_) => CliError::new(Exit::Error, message),
        }
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> CliError {
        CliError::new(Exit::Error, e.to_string())
    }
}

impl From<OutboxError> for CliError {
    fn from(e: OutboxError) -> CliError {
        CliError::new(Exit::Error, e.to_string())
    }
}

impl From<crate::client::DraftError> for CliError {
    fn from(e: crate::client::DraftError) -> CliError {
        CliError::new(Exit::Error, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_map_to_exit_codes() {
        let code = |e: ApiError| CliError::from(e).code;
        assert_eq!(code(ApiError::NotFound { message: "x".into(), request_id: None }), Exit::NotFound);
        assert_eq!(code(ApiError::Unauthenticated { message: "x".into() }), Exit::Auth);
        assert_eq!(code(ApiError::PreconditionFailed { message: "x".into(), current: None }), Exit::Conflict);
        assert_eq!(code(ApiError::Conflict { message: "x".into(), current: None }), Exit::Conflict);
        assert_eq!(code(ApiError::RateLimited { url: "u".into(), retry_after: None }), Exit::Unavailable);
        let e = CliError::from(ApiError::Unavailable {
            url: "http://h:1/api/v1/me".into(),
            reason: "refused".into(),
        });
        assert_eq!(e.code, Exit::Unavailable);
        assert!(e.message.contains("http://h:1/api/v1/me"));
    }
}
