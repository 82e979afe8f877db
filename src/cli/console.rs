//! `desk` with no subcommand: the console. Connects to the active profile's server, or opens
//! the local workspace (the embedded server on a loopback port over SQLite in the data
//! directory, seeded with the demo on first start) through the same `ApiClient`.

use super::{CliError, ColorChoice, Exit, GlobalArgs};
use crate::client::ApiClient;
use crate::config::{Config, Paths};
use crate::tui::app::App;
use crate::tui::keymap::Keymap;
use crate::tui::runtime::Runtime;
use crate::tui::theme::Theme;
use std::collections::BTreeMap;
use std::io::IsTerminal;

pub fn run(global: &GlobalArgs) -> Result<(), CliError> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(CliError::new(Exit::Usage, "the console needs a terminal")
            .with_hint("run `desk --help` for the scripting commands (`desk tickets list`, ...)"));
    }
    let paths = Paths::from_env()?;
    let config = Config::load(&paths)?;
    let _log_guard = init_file_logging(&paths);
    let env = |k: &str| std::env::var(k).ok();
    let store = config.credential_store(&paths, &env)?;
    let profile = config.resolve(&paths, global.profile.as_deref(), &env, &store)?;

    let mut warnings = Vec::new();
    let overrides: BTreeMap<String, Vec<String>> = config
        .keys
        .iter()
        .map(|(action, binding)| (action.clone(), binding.keys().into_iter().map(str::to_owned).collect()))
        .collect();
    let (keymap, problems) = Keymap::with_overrides(&overrides, &paths.config_file().display().to_string());
    warnings.extend(problems);
    let theme = pick_theme(global, &config, &paths, &mut warnings);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(Exit::Error, format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let options = client_options(&config);
        let (client, label, local) = match &profile.server {
            Some(server) => {
                let token = profile.token.as_ref().map(|t| t.expose().to_owned());
                if token.is_none() {
                    return Err(CliError::new(
                        Exit::Auth,
                        format!("not logged in to {server} (profile `{}`)", profile.name),
                    )
                    .with_hint(format!("run `desk login --server {server}`, or set DESK_TOKEN")));
                }
                (ApiClient::new(server, token, options)?, None, None)
            }
            None => {
                let ws = local::open(&paths).await?;
                let client = ApiClient::new(&ws.url, Some(ws.token.clone()), options)?;
                (client, Some(ws.label.clone()), Some(ws))
            }
        };
        let tz = jiff::tz::TimeZone::system();
        let mut app = App::new(client.server_now(), tz, keymap);
        app.workspace_label = label;
        app.bell = config.notifications.bell;
        app.notify_kinds = config.notifications.kinds.clone();
        let rt = Runtime {
            client,
            app,
            theme,
            data_dir: paths.data_dir.clone(),
            state_dir: paths.state_dir.clone(),
            cursor_file: Some(paths.events_cursor_file(&profile.name)),
            warnings,
        };
        let result = rt.run().await.map_err(|e| CliError::new(Exit::Error, e));
        if let Some(ws) = local {
            ws.shutdown().await;
        }
        result
    })
}

/// Timeouts and retries from `[network]`, as the other commands use them.
fn client_options(config: &Config) -> crate::client::ClientOptions {
    use std::time::Duration;
    let n = &config.network;
    crate::client::ClientOptions {
        timeout: Duration::from_secs(n.timeout_secs),
        connect_timeout: Duration::from_secs(n.connect_timeout_secs),
        retry: crate::client::RetryPolicy {
            max_retries: n.retries,
            budget: Duration::from_secs(n.retry_budget_secs),
            ..crate::client::RetryPolicy::default()
        },
        ..crate::client::ClientOptions::default()
    }
}

/// `NO_COLOR` (or `--color never`) wins; then the config's `theme`; then dark. A theme that
/// does not load falls back to dark with a warning naming the file.
fn pick_theme(global: &GlobalArgs, config: &Config, paths: &Paths, warnings: &mut Vec<String>) -> Theme {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if global.color == ColorChoice::Never || (no_color && global.color != ColorChoice::Always) {
        return Theme::monochrome();
    }
    let name = config.theme.clone().unwrap_or_else(|| "dark".into());
    match Theme::load(&name, Some(&paths.config_dir)) {
        Ok(t) => t,
        Err(e) => {
            warnings.push(format!("theme: {e}; using dark"));
            Theme::dark()
        }
    }
}

/// The console owns the screen: logs go to `<state dir>/desk.log`, never to stderr.
fn init_file_logging(paths: &Paths) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    std::fs::create_dir_all(&paths.state_dir).ok()?;
    let file = paths.log_file();
    let dir = file.parent()?.to_path_buf();
    let name = file.file_name()?.to_owned();
    let appender = tracing_appender::rolling::never(dir, name);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = std::env::var("DESK_LOG").unwrap_or_else(|_| "desk=info".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}

/// The local workspace: `desk` with no server configured.
pub mod local {
    use super::*;
    use crate::server::{ServeOptions, ServerHandle};
    use std::path::{Path, PathBuf};

    /// Tickets seeded into a new local workspace (`DESK_DEMO_TICKETS` overrides).
    pub const DEMO_TICKETS: usize = 500;

    /// The embedded workspace: the real server in this process, on a loopback port.
    pub struct Workspace {
        pub url: String,
        pub token: String,
        pub label: String,
        pub db: PathBuf,
        handle: ServerHandle,
    }

    impl Workspace {
        pub async fn shutdown(self) {
            self.handle.shutdown().await;
        }
    }

    pub fn db_path(data_dir: &Path) -> PathBuf {
        data_dir.join("workspace.db")
    }

    /// Starts the embedded server over `<data>/workspace.db`; the first start seeds the demo
    /// workspace and creates the admin token it then keeps in `<data>/workspace.token` (0600).
    pub async fn open(paths: &Paths) -> Result<Workspace, CliError> {
        let io = |what: &str, p: &Path, e: std::io::Error| {
            CliError::new(Exit::Error, format!("{what} {}: {e}", p.display()))
        };
        std::fs::create_dir_all(&paths.data_dir).map_err(|e| io("cannot create", &paths.data_dir, e))?;
        let db = db_path(&paths.data_dir);
        let token_file = paths.data_dir.join("workspace.token");
        let fresh = !db.exists();
        let token = match std::fs::read_to_string(&token_file) {
            Ok(t) if !t.trim().is_empty() => t.trim().to_owned(),
            Ok(_) | Err(_) if !fresh => {
                return Err(CliError::new(
                    Exit::Auth,
                    format!(
                        "the local workspace {} has no token file {}",
                        db.display(),
                        token_file.display()
                    ),
                )
                .with_hint(format!("move {} away to start a new demo workspace", db.display())));
            }
            _ => {
                let t = format!("desk_local_{}", hex::encode(rand::random::<[u8; 24]>()));
                crate::client::atomic_write(&token_file, t.as_bytes())
                    .map_err(|e| io("cannot write", &token_file, e))?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600))
                        .map_err(|e| io("cannot protect", &token_file, e))?;
                }
                t
            }
        };
        let demo =
            std::env::var("DESK_DEMO_TICKETS").ok().and_then(|n| n.parse().ok()).unwrap_or(DEMO_TICKETS);
        let mut opts = ServeOptions::new(format!("sqlite://{}", db.display()));
        opts.bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        opts.demo = Some(demo);
        opts.bootstrap_token = Some(token.clone());
        // One agent on its own machine: no need to rate-limit the console.
        opts.rate_limit_per_sec = 0;
        let handle = crate::server::spawn(opts).await.map_err(|e| {
            CliError::new(Exit::Unavailable, format!("cannot start the local workspace: {e}"))
                .with_hint(format!("the database is {}", db.display()))
        })?;
        tracing::info!(url = %handle.url(), db = %db.display(), "local workspace started");
        Ok(Workspace { url: handle.url(), token, label: "demo workspace (local)".into(), db, handle })
    }
}
