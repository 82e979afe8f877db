//! `desk serve`: the helpdesk API over SQLite or PostgreSQL.
//!
//! [`spawn`] opens the database (running migrations), seeds the demo workspace and the first
//! admin when asked, binds, and serves in the background; the returned [`ServerHandle`] stops
//! it gracefully. `desk serve` and the console's embedded local workspace both use it.

pub mod api;
pub mod auth;
pub mod automation;
pub mod demo;
pub mod error;
pub mod events;
pub mod extract;
pub mod glue;
pub mod metrics;
pub mod openapi;
pub mod slack;
pub mod store;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use auth::{Principal, RateLimiter};
use error::AppError;
use store::Store;

/// The clock of the server; tests freeze or move it.
#[derive(Clone, Default)]
pub struct Clock(Arc<Mutex<Option<Timestamp>>>);

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    pub fn fixed(at: Timestamp) -> Clock {
        Clock(Arc::new(Mutex::new(Some(at))))
    }

    pub fn now(&self) -> Timestamp {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).unwrap_or_else(Timestamp::now)
    }

    /// Moves a fixed clock (a system clock becomes fixed at `at`).
    pub fn set(&self, at: Timestamp) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({:?})", self.0.lock().map(|g| *g).ok().flatten())
    }
}

#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// `sqlite://PATH` or `postgres://...`.
    pub db_url: String,
    /// Use port 0 for an ephemeral port; [`ServerHandle::addr`] tells the real one.
    pub bind: SocketAddr,
    /// Seed the demo workspace with this many tickets when the database holds no ticket.
    pub demo: Option<usize>,
    /// Creates the first admin agent with this token when the database has no agent.
    pub bootstrap_token: Option<String>,
    /// Requests per second per token (0 disables rate limiting) and the burst allowed.
    pub rate_limit_per_sec: u32,
    pub rate_limit_burst: u32,
    /// Concurrent `GET /events` streams per token.
    pub max_streams_per_token: usize,
    /// How long events stay replayable; older `Last-Event-ID`s get `event: resync`.
    pub event_retention: Duration,
    pub clock: Clock,
    /// Slack Web API base URL (`--slack-api-url`, DESK_SLACK_API_URL); tests point it at a local server.
    pub slack_api_url: String,
    /// Run the SLA warning scheduler (`sla.at_risk` / `sla.breached` events and notifications).
    pub sla_warnings: bool,
}

impl ServeOptions {
    pub fn new(db_url: impl Into<String>) -> ServeOptions {
        ServeOptions {
            db_url: db_url.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 7171)),
            demo: None,
            bootstrap_token: None,
            rate_limit_per_sec: 50,
            rate_limit_burst: 200,
            max_streams_per_token: 50,
            event_retention: Duration::from_secs(7 * 24 * 3600),
            clock: Clock::system(),
            slack_api_url: std::env::var("DESK_SLACK_API_URL")
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "https://slack.com/api".into()),
            sla_warnings: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("database: {0}")]
    Database(String),
    #[error("cannot listen on {addr}: {source} (is another desk serve running? try --bind 127.0.0.1:0)")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("seeding the workspace failed: {0}")]
    Seed(String),
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    pub policies: glue::PolicyCache,
    pub limiter: RateLimiter,
    pub hub: events::Hub,
    pub clock: Clock,
    pub shutdown: CancellationToken,
    pub max_streams_per_token: usize,
    /// Slack and automation workers' shared state and the `/metrics` counters.
    pub slack: Arc<slack::Runtime>,
    principals: Mutex<HashMap<String, (Instant, Principal)>>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// How long a resolved token is trusted before it is looked up again.
const PRINCIPAL_TTL: Duration = Duration::from_secs(5);

impl AppState {
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The agent behind a token hash (cached for a few seconds; tokens are never reused).
    pub async fn principal_for(&self, hash: &str) -> Result<Option<Principal>, AppError> {
        if let Some((at, p)) = self.principals.lock().unwrap_or_else(|p| p.into_inner()).get(hash)
            && at.elapsed() < PRINCIPAL_TTL
        {
            return Ok(Some(p.clone()));
        }
        let p = store::workspace::principal_for_hash(&self.store, hash).await?;
        if let Some(p) = &p {
            let mut cache = self.principals.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(hash.to_owned(), (Instant::now(), p.clone()));
        }
        Ok(p)
    }
}

/// A running server.
pub struct ServerHandle {
    /// The address it listens on (the real port when bound to port 0).
    pub addr: SocketAddr,
    state: AppState,
    task: tokio::task::JoinHandle<()>,
    fanout: tokio::task::JoinHandle<()>,
    /// Slack ingest and outbound workers, the presence sweep, the SLA warning scheduler.
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl ServerHandle {
    /// `http://ADDR`, the base URL for clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// Stops accepting connections, lets in-flight requests finish, closes SSE streams and
    /// the database pool.
    pub async fn shutdown(self) {
        self.state.shutdown.cancel();
        if tokio::time::timeout(Duration::from_secs(30), self.task).await.is_err() {
            tracing::warn!("in-flight requests did not finish within 30 s; stopping anyway");
        }
        let _ = self.fanout.await;
        for w in self.workers {
            let _ = w.await;
        }
        self.state.store.close().await;
    }

    /// Serves until `signal` resolves, then shuts down gracefully.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) {
        let token = self.state.shutdown.clone();
        tokio::select! {
            _ = signal => {}
            _ = token.cancelled() => {}
        }
        tracing::info!("shutting down: finishing in-flight requests");
        self.shutdown().await;
    }
}

/// Opens the database, migrates, seeds, binds and serves in the background.
pub async fn spawn(opts: ServeOptions) -> Result<ServerHandle, ServeError> {
    // reqwest/rustls need a process-wide crypto provider; a second install is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let store = Store::open(&opts.db_url).await.map_err(ServeError::Database)?;
    let now = opts.clock.now();
    store::workspace::ensure_default_views(&store).await.map_err(|e| ServeError::Seed(e.message))?;
    if let Some(token) = opts.bootstrap_token.as_deref().filter(|t| !t.is_empty())
        && store::workspace::bootstrap(&store, token, now).await.map_err(|e| ServeError::Seed(e.message))?
    {
        tracing::info!("created the first admin agent for the bootstrap token");
    }
    // The bootstrap admin comes first; the demo then adds it to every team.
    if let Some(n) = opts.demo {
        let started = Instant::now();
        if demo::seed(&store, n, now).await.map_err(|e| ServeError::Seed(e.message))? {
            tracing::info!(
                tickets = n,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "seeded the demo workspace"
            );
        }
    }
    let listener = tokio::net::TcpListener::bind(opts.bind)
        .await
        .map_err(|source| ServeError::Bind { addr: opts.bind, source })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind { addr: opts.bind, source })?;
    // Without TCP_NODELAY a small write that follows another (an SSE frame after the last, a
    // body after its headers) waits for the client's delayed ACK, up to 40 ms on Linux.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
    });
    let shutdown = CancellationToken::new();
    let hub = events::Hub::new();
    let state = AppState(Arc::new(Inner {
        store: store.clone(),
        policies: glue::PolicyCache::default(),
        limiter: RateLimiter::new(opts.rate_limit_per_sec, opts.rate_limit_burst),
        hub: hub.clone(),
        clock: opts.clock.clone(),
        shutdown: shutdown.clone(),
        max_streams_per_token: opts.max_streams_per_token,
        slack: Arc::new(slack::Runtime::new(&opts.slack_api_url)),
        principals: Mutex::new(HashMap::new()),
    }));
    let fanout = tokio::spawn(events::run_fanout(
        store.clone(),
        hub,
        shutdown.clone(),
        opts.event_retention,
        opts.clock.clone(),
    ));
    let mut workers = vec![
        tokio::spawn(slack::ingest::run_worker(state.clone())),
        tokio::spawn(slack::outbound::run_worker(state.clone())),
        tokio::spawn(automation::presence::run(state.clone())),
    ];
    if opts.sla_warnings {
        workers.push(tokio::spawn(automation::warnings::run(state.clone())));
    }
    let app = api::router(state.clone());
    let token = shutdown.clone();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the HTTP server stopped with an error");
        }
    });
    tracing::info!(%addr, db = %redact(&opts.db_url), "desk serve is listening");
    Ok(ServerHandle { addr, state, task, fanout, workers })
}

/// The database URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }
}
