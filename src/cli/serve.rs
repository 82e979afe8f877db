//! `desk serve`: runs the helpdesk API until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::{CliError, Exit};
use crate::server::{ServeOptions, spawn};

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Database: sqlite://PATH or postgres://USER@HOST/DB. Default: desk.db in the data directory.
    #[arg(long, env = "DESK_DB")]
    pub db: Option<String>,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7171")]
    pub bind: SocketAddr,
    /// Seed the demo workspace into an empty database.
    #[arg(long)]
    pub demo: bool,
    /// Number of demo tickets (implies --demo).
    #[arg(long, value_name = "N")]
    pub demo_size: Option<usize>,
    /// Create the first admin agent with this token when the database has no agent.
    #[arg(long, env = "DESK_BOOTSTRAP_TOKEN", hide_env_values = true)]
    pub bootstrap_token: Option<String>,
    /// Requests per second allowed per token (0 disables the limit).
    #[arg(long, default_value_t = 50)]
    pub rate_limit: u32,
    /// Requests a token may send at once before the rate applies.
    #[arg(long, default_value_t = 200)]
    pub rate_burst: u32,
    /// Concurrent event streams per token.
    #[arg(long, default_value_t = 50)]
    pub max_streams_per_token: usize,
    /// Slack Web API base URL (replies are posted to {URL}/chat.postMessage).
    #[arg(long, env = "DESK_SLACK_API_URL", default_value = "https://slack.com/api")]
    pub slack_api_url: String,
}

/// The data directory: DESK_DATA_DIR, else the platform's data directory for desk.
pub fn data_dir() -> Result<PathBuf, CliError> {
    if let Some(d) = std::env::var_os("DESK_DATA_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    directories::ProjectDirs::from("", "", "desk").map(|p| p.data_dir().to_path_buf()).ok_or_else(|| {
        CliError::new(Exit::Error, "cannot find a data directory").with_hint("set DESK_DATA_DIR")
    })
}

pub fn run(args: ServeArgs) -> Result<(), CliError> {
    init_logging();
    let db = match args.db {
        Some(db) => db,
        None => format!("sqlite://{}", data_dir()?.join("desk.db").display()),
    };
    let mut opts = ServeOptions::new(db);
    opts.bind = args.bind;
    opts.demo = match (args.demo, args.demo_size) {
        (_, Some(n)) => Some(n),
        (true, None) => Some(500),
        (false, None) => None,
    };
    opts.bootstrap_token = args.bootstrap_token;
    opts.rate_limit_per_sec = args.rate_limit;
    opts.rate_limit_burst = args.rate_burst;
    opts.max_streams_per_token = args.max_streams_per_token;
    opts.slack_api_url = args.slack_api_url;
    let rt = tokio::runtime::Runtime::new()
        .map_err(|e| CliError::new(Exit::Error, format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async move {
        let handle = spawn(opts).await.map_err(|e| CliError::new(Exit::Unavailable, e.to_string()))?;
        eprintln!("desk serve: listening on {}", handle.url());
        handle.run_until(shutdown_signal()).await;
        Ok(())
    })
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DESK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
