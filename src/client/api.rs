//! `ApiClient`: one typed method per endpoint of DESIGN §3.
//!
//! Every request goes through [`ApiClient::execute`], which adds the token, retries what is
//! safe to retry (reads, PUTs, and POSTs that carry an `Idempotency-Key`; any request whose
//! connection was refused, since nothing reached the server), honours `Retry-After`, caps the
//! total time, maps error envelopes to [`ApiError`] and tracks the clock skew from `Date`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode, Url, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::retry::{RetryPolicy, parse_http_date, parse_retry_after};
use crate::model::*;

/// Timeouts and retries; `Default` suits interactive use.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Whole-request timeout of one attempt (not used for the event stream).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// The event stream reconnects when nothing (not even a keep-alive) arrives for this long.
    pub stream_idle_timeout: Duration,
    pub retry: RetryPolicy,
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            // The server sends a keep-alive every 15 s; three missed ones mean a dead link.
            stream_idle_timeout: Duration::from_secs(45),
            retry: RetryPolicy::default(),
            user_agent: format!("desk/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// A `GET /tickets` query: a saved view and/or the filter language, sort and page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketQuery {
    pub view: Option<ViewId>,
    pub filter: TicketFilter,
    pub sort: Option<SortKey>,
    pub limit: Option<u32>,
    pub after: Option<String>,
}

impl TicketQuery {
    /// The query string pairs, in the comma-separated form the server reads.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        fn join<T: std::fmt::Display>(items: &[T]) -> String {
            items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
        }
        let f = &self.filter;
        let mut q = Vec::new();
        if let Some(v) = self.view {
            q.push(("view", v.to_string()));
        }
        if !f.status.is_empty() {
            q.push(("status", join(&f.status)));
        }
        if !f.priority.is_empty() {
            q.push(("priority", join(&f.priority)));
        }
        match &f.assignee {
            Some(AssigneeFilter::Me) => q.push(("assignee", "me".into())),
            Some(AssigneeFilter::None) => q.push(("assignee", "none".into())),
            Some(AssigneeFilter::Agent(id)) => q.push(("assignee", id.to_string())),
            None => {}
        }
        if !f.team.is_empty() {
            q.push(("team", join(&f.team)));
        }
        if !f.tag.is_empty() {
            q.push(("tag", join(&f.tag)));
        }
        if let Some(text) = f.q.as_ref().filter(|t| !t.is_empty()) {
            q.push(("q", text.clone()));
        }
        if let Some(m) = f.breaching_within {
            q.push(("breaching_within", m.to_string()));
        }
        if let Some(s) = self.sort {
            q.push(("sort", s.to_string()));
        }
        push_page(&mut q, self.limit, self.after.as_deref());
        q
    }
}

/// `GET /tasks` filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskQuery {
    /// `me` or an agent.
    pub assignee: Option<AssigneeFilter>,
    pub done: Option<bool>,
    pub ticket: Option<TicketId>,
    pub contact: Option<ContactId>,
    pub account: Option<AccountId>,
    pub page: PageQuery,
}

impl TaskQuery {
    fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        match &self.assignee {
            Some(AssigneeFilter::Me) => q.push(("assignee", "me".to_owned())),
            Some(AssigneeFilter::Agent(a)) => q.push(("assignee", a.to_string())),
            Some(AssigneeFilter::None) | None => {}
        }
        if let Some(d) = self.done {
            q.push(("done", d.to_string()));
        }
        if let Some(t) = self.ticket {
            q.push(("ticket", t.to_string()));
        }
        if let Some(c) = self.contact {
            q.push(("contact", c.to_string()));
        }
        if let Some(a) = self.account {
            q.push(("account", a.to_string()));
        }
        q.extend(self.page.to_pairs());
        q
    }
}

/// `?limit=&after=` of any list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageQuery {
    pub limit: Option<u32>,
    pub after: Option<String>,
}

impl PageQuery {
    fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        push_page(&mut q, self.limit, self.after.as_deref());
        q
    }
}

fn push_page(q: &mut Vec<(&'static str, String)>, limit: Option<u32>, after: Option<&str>) {
    if let Some(l) = limit {
        q.push(("limit", l.to_string()));
    }
    if let Some(a) = after {
        q.push(("after", a.to_owned()));
    }
}

/// A fresh client-made idempotency key (128 random bits, hex).
pub fn new_idempotency_key() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// One request as the retry loop sees it.
pub(crate) struct Request {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    idempotency_key: Option<String>,
    if_match: Option<i64>,
    /// POSTs that change nothing (e.g. `/resolve`) may be repeated freely.
    safe: bool,
}

impl Request {
    pub(crate) fn new(method: Method, path: impl Into<String>) -> Request {
        Request {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            idempotency_key: None,
            if_match: None,
            safe: false,
        }
    }

    pub(crate) fn json(mut self, body: &impl Serialize) -> Result<Request, ApiError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| ApiError::Config(format!("cannot encode request body: {e}")))?;
        self.body = Some(bytes);
        Ok(self)
    }

    fn query(mut self, pairs: Vec<(&'static str, String)>) -> Request {
        self.query = pairs;
        self
    }

    fn key(mut self, key: Option<&str>) -> Request {
        self.idempotency_key = Some(key.map(str::to_owned).unwrap_or_else(new_idempotency_key));
        self
    }

    /// May this request be sent again after it may have reached the server?
    fn repeatable(&self) -> bool {
        self.safe
            || self.idempotency_key.is_some()
            || matches!(
                self.method,
                Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
            )
    }
}

/// The bearer token, kept out of `Debug` output.
#[derive(Clone)]
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    stream_http: reqwest::Client,
    /// Base URL with a trailing slash, e.g. `http://host:7878/`.
    base: Url,
    token: Option<Secret>,
    options: ClientOptions,
    /// Server clock minus local clock, in milliseconds, from the latest `Date` header.
    skew_ms: Mutex<Option<i64>>,
}

/// A cheap-to-clone handle on the API of one server.
#[derive(Debug, Clone)]
pub struct ApiClient {
    inner: Arc<Inner>,
}

impl ApiClient {
    /// `base_url` is the server's root (`http://127.0.0.1:7878`), without `/api/v1`.
    pub fn new(base_url: &str, token: Option<String>, options: ClientOptions) -> Result<ApiClient, ApiError> {
        // reqwest is built without a default crypto provider; installing one twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut base = Url::parse(base_url.trim())
            .map_err(|e| ApiError::Config(format!("invalid server URL `{base_url}`: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(ApiError::Config(format!(
                "invalid server URL `{base_url}`: expected http(s)://host[:port]"
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let build = |timeout: Option<Duration>| {
            let mut b = reqwest::Client::builder()
                .user_agent(options.user_agent.clone())
                .connect_timeout(options.connect_timeout);
            b = match timeout {
                Some(t) => b.timeout(t),
                // Streams have no total timeout, only one between reads.
                None => b.read_timeout(options.stream_idle_timeout),
            };
            b.build().map_err(|e| ApiError::Config(format!("cannot build HTTP client: {e}")))
        };
        Ok(ApiClient {
            inner: Arc::new(Inner {
                http: build(Some(options.timeout))?,
                stream_http: build(None)?,
                base,
                token: token.filter(|t| !t.is_empty()).map(Secret),
                options,
                skew_ms: Mutex::new(None),
            }),
        })
    }

    /// The server root this client talks to, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.inner.base.as_str().trim_end_matches('/').to_owned()
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// Server clock minus local clock, from the latest response's `Date` header
    /// (±0.5 s: `Date` has whole seconds). `None` before the first response.
    pub fn clock_skew(&self) -> Option<SignedDuration> {
        self.inner.skew_ms.lock().ok().and_then(|g| *g).map(SignedDuration::from_millis)
    }

    /// The server's idea of now: what SLA countdowns should count from.
    pub fn server_now(&self) -> Timestamp {
        let now = Timestamp::now();
        self.clock_skew().and_then(|s| now.checked_add(s).ok()).unwrap_or(now)
    }

    pub(crate) fn url(&self, path: &str) -> Result<Url, ApiError> {
        self.inner
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| ApiError::Config(format!("bad path {path}: {e}")))
    }

    pub(crate) fn stream_http(&self) -> &reqwest::Client {
        &self.inner.stream_http
    }

    pub(crate) fn authorize(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.inner.token {
            Some(t) => rb.bearer_auth(&t.0),
            None => rb,
        }
    }

    pub(crate) fn has_token(&self) -> bool {
        self.inner.token.is_some()
    }

    pub(crate) fn note_date(&self, headers: &header::HeaderMap, sent: Timestamp, received: Timestamp) {
        let date = headers.get(header::DATE).and_then(|v| v.to_str().ok()).and_then(parse_http_date);
        if let (Some(date), Ok(mut skew)) = (date, self.inner.skew_ms.lock()) {
            *skew = Some(estimate_skew(date, sent, received).as_millis() as i64);
        }
    }

    /// Sends one logical request with retries; returns the successful response's body.
    pub(crate) async fn execute(&self, req: Request) -> Result<Vec<u8>, ApiError> {
        let url = self.url(&format!("api/v1/{}", req.path.trim_start_matches('/')))?;
        let shown = url.as_str().to_owned();
        let policy = &self.inner.options.retry;
        let started = Instant::now();
        let mut retry = 0u32;
        loop {
            let mut rb = self.inner.http.request(req.method.clone(), url.clone());
            if !req.query.is_empty() {
                rb = rb.query(&req.query);
            }
            rb = self.authorize(rb).header(header::ACCEPT, "application/json");
            if let Some(key) = &req.idempotency_key {
                rb = rb.header("Idempotency-Key", key);
            }
            if let Some(v) = req.if_match {
                rb = rb.header(header::IF_MATCH, format!("\"{v}\""));
            }
            if let Some(body) = &req.body {
                rb = rb.header(header::CONTENT_TYPE, "application/json").body(body.clone());
            }
            tracing::debug!(
                target: "desk::http",
                "{} {} attempt {} (authorization: {}{})",
                req.method,
                redact_url(&shown),
                retry + 1,
                if self.has_token() { "Bearer <redacted>" } else { "none" },
                req.idempotency_key.as_ref().map(|k| format!(", idempotency-key: {k}")).unwrap_or_default()
            );
            let sent = Timestamp::now();
            let t0 = Instant::now();
            let (error, retry_after) = match rb.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    self.note_date(resp.headers(), sent, Timestamp::now());
                    let retry_after = resp
                        .headers()
                        .get(header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, Timestamp::now()));
                    let body = resp.bytes().await;
                    tracing::debug!(target: "desk::http", "{} {} -> {} in {} ms", req.method, redact_url(&shown), status.as_u16(), t0.elapsed().as_millis());
                    match body {
                        Ok(body) if status.is_success() => return Ok(body.to_vec()),
                        Ok(body) => {
                            let err = ApiError::from_response(status.as_u16(), &shown, retry_after, &body);
                            let retryable =
                                is_retryable_status(status) || matches!(err, ApiError::Unavailable { .. });
                            if !(retryable && req.repeatable()) {
                                return Err(err);
                            }
                            (err, retry_after)
                        }
                        Err(e) => {
                            let err = ApiError::Unavailable { url: shown.clone(), reason: describe(&e) };
                            if !req.repeatable() {
                                return Err(err);
                            }
                            (err, None)
                        }
                    }
                }
                Err(e) => {
                    tracing::debug!(target: "desk::http", "{} {} failed: {}", req.method, redact_url(&shown), describe(&e));
                    let err = ApiError::Unavailable { url: shown.clone(), reason: describe(&e) };
                    // A refused connection never reached the server: safe to repeat anything.
                    if !(e.is_connect() || req.repeatable()) {
                        return Err(err);
                    }
                    (err, None)
                }
            };
            match policy.next_delay(retry, started.elapsed(), retry_after, rand::random::<f64>()) {
                Some(delay) => {
                    tracing::debug!(target: "desk::http", "retrying in {} ms: {error}", delay.as_millis());
                    tokio::time::sleep(delay).await;
                    retry += 1;
                }
                None => return Err(error),
            }
        }
    }

    pub(crate) async fn call<T: DeserializeOwned>(&self, req: Request) -> Result<T, ApiError> {
        let path = req.path.clone();
        let body = self.execute(req).await?;
        serde_json::from_slice(&body).map_err(|e| ApiError::Decode {
            url: self.url(&format!("api/v1/{path}")).map(|u| u.to_string()).unwrap_or(path),
            message: e.to_string(),
        })
    }

    /// `GET /healthz`: is the server up (no token needed)?
    pub async fn healthz(&self) -> Result<(), ApiError> {
        let url = self.url("healthz")?;
        let shown = url.to_string();
        let resp = self
            .inner
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| ApiError::Unavailable { url: shown.clone(), reason: describe(&e) })?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(ApiError::Unavailable { url: shown, reason: format!("HTTP {}", resp.status().as_u16()) })
        }
    }

    // ---- agents and workspace -------------------------------------------------------

    pub async fn me(&self) -> Result<Me, ApiError> {
        self.call(Request::new(Method::GET, "me")).await
    }

    pub async fn list_views(&self) -> Result<Page<View>, ApiError> {
        self.call(Request::new(Method::GET, "views")).await
    }

    pub async fn list_notifications(&self, page: &PageQuery) -> Result<Page<Notification>, ApiError> {
        self.call(Request::new(Method::GET, "notifications").query(page.to_pairs())).await
    }

    /// Marks a notification read; returns it as it is now.
    pub async fn mark_notification_read(&self, id: NotificationId) -> Result<Notification, ApiError> {
        let mut req = Request::new(Method::POST, format!("notifications/{id}/read"));
        req.safe = true; // reading twice is reading once
        self.call(req).await
    }

    /// Every agent (assignment pickers, `--assignee EMAIL`).
    pub async fn list_agents(&self) -> Result<Page<Agent>, ApiError> {
        self.call(Request::new(Method::GET, "agents")).await
    }

    pub async fn list_teams(&self) -> Result<Page<Team>, ApiError> {
        self.call(Request::new(Method::GET, "teams")).await
    }

    /// Admin: a new team.
    pub async fn create_team(&self, team: &NewTeam, key: Option<&str>) -> Result<Team, ApiError> {
        self.call(Request::new(Method::POST, "teams").json(team)?.key(key)).await
    }

    pub async fn list_macros(&self) -> Result<Page<Macro>, ApiError> {
        self.call(Request::new(Method::GET, "macros")).await
    }

    /// `POST /resolve`: display names for mentions, in one batch.
    pub async fn resolve(&self, refs: Vec<EntityRef>) -> Result<ResolveResponse, ApiError> {
        let mut req = Request::new(Method::POST, "resolve").json(&ResolveRequest { refs })?;
        req.safe = true;
        self.call(req).await
    }

    // ---- tickets --------------------------------------------------------------------

    pub async fn list_tickets(&self, query: &TicketQuery) -> Result<Page<Ticket>, ApiError> {
        self.call(Request::new(Method::GET, "tickets").query(query.to_pairs())).await
    }

    pub async fn get_ticket(&self, id: TicketId) -> Result<Ticket, ApiError> {
        self.call(Request::new(Method::GET, format!("tickets/{id}"))).await
    }

    /// `key`: the idempotency key to send; `None` makes a fresh one (retries reuse it).
    pub async fn create_ticket(&self, ticket: &NewTicket, key: Option<&str>) -> Result<Ticket, ApiError> {
        self.call(Request::new(Method::POST, "tickets").json(ticket)?.key(key)).await
    }

    /// `PATCH /tickets/{id}`; with `if_version` the server refuses (412, [`ApiError::PreconditionFailed`])
    /// when the ticket changed since that version.
    pub async fn update_ticket(
        &self,
        id: TicketId,
        patch: &TicketPatch,
        if_version: Option<i64>,
    ) -> Result<Ticket, ApiError> {
        let mut req = Request::new(Method::PATCH, format!("tickets/{id}")).json(patch)?;
        req.if_match = if_version;
        self.call(req).await
    }

    pub async fn bulk_update(&self, bulk: &BulkUpdate, key: Option<&str>) -> Result<BulkResult, ApiError> {
        self.call(Request::new(Method::POST, "tickets/bulk").json(bulk)?.key(key)).await
    }

    pub async fn list_messages(&self, id: TicketId, page: &PageQuery) -> Result<Page<Message>, ApiError> {
        self.call(Request::new(Method::GET, format!("tickets/{id}/messages")).query(page.to_pairs())).await
    }

    /// Every message of a ticket, following cursors.
    pub async fn all_messages(&self, id: TicketId) -> Result<Vec<Message>, ApiError> {
        let mut out = Vec::new();
        let mut page = PageQuery { limit: Some(MAX_PAGE_SIZE), after: None };
        loop {
            let p = self.list_messages(id, &page).await?;
            out.extend(p.items);
            match p.next {
                Some(next) => page.after = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// A reply or an internal note. Pass the outbox entry's key so a retry is stored once.
    pub async fn post_message(
        &self,
        id: TicketId,
        message: &NewMessage,
        key: Option<&str>,
    ) -> Result<Message, ApiError> {
        self.call(Request::new(Method::POST, format!("tickets/{id}/messages")).json(message)?.key(key)).await
    }

    /// Merges ticket `id` into `into`; returns the surviving ticket.
    pub async fn merge_ticket(
        &self,
        id: TicketId,
        into: TicketId,
        key: Option<&str>,
    ) -> Result<Ticket, ApiError> {
        self.call(
            Request::new(Method::POST, format!("tickets/{id}/merge")).json(&MergeRequest { into })?.key(key),
        )
        .await
    }

    pub async fn apply_macro(
        &self,
        id: TicketId,
        macro_id: MacroId,
        dry_run: bool,
        key: Option<&str>,
    ) -> Result<MacroOutcome, ApiError> {
        let req = Request::new(Method::POST, format!("tickets/{id}/macros/{macro_id}"))
            .query(vec![("dry_run", dry_run.to_string())]);
        // A dry run changes nothing, so it needs no key to be retried.
        let req = if dry_run { Request { safe: true, ..req } } else { req.key(key) };
        self.call(req).await
    }

    /// Who else is viewing or replying to a ticket.
    pub async fn get_presence(&self, id: TicketId) -> Result<PresenceList, ApiError> {
        self.call(Request::new(Method::GET, format!("tickets/{id}/presence"))).await
    }

    /// `DELETE /tickets/{id}/presence`: the caller left the ticket; returns who is still on it.
    pub async fn clear_presence(&self, id: TicketId) -> Result<PresenceList, ApiError> {
        let mut req = Request::new(Method::DELETE, format!("tickets/{id}/presence"));
        req.safe = true; // leaving twice is the same as once
        self.call(req).await
    }

    /// `POST /tickets/{id}/presence` (viewing/replying); returns who is on the ticket now.
    pub async fn set_presence(&self, id: TicketId, state: PresenceState) -> Result<PresenceList, ApiError> {
        let mut req =
            Request::new(Method::POST, format!("tickets/{id}/presence")).json(&PresenceUpdate { state })?;
        req.safe = true; // renewing presence twice is the same as once
        self.call(req).await
    }

    // ---- CRM ------------------------------------------------------------------------

    /// `GET /contacts?q=` (name or email); `account` narrows to one account's contacts.
    pub async fn search_contacts(
        &self,
        q: &str,
        account: Option<AccountId>,
        page: &PageQuery,
    ) -> Result<Page<Contact>, ApiError> {
        let mut pairs = Vec::new();
        if !q.is_empty() {
            pairs.push(("q", q.to_owned()));
        }
        if let Some(a) = account {
            pairs.push(("account", a.to_string()));
        }
        pairs.extend(page.to_pairs());
        self.call(Request::new(Method::GET, "contacts").query(pairs)).await
    }

    pub async fn create_contact(&self, contact: &NewContact, key: Option<&str>) -> Result<Contact, ApiError> {
        self.call(Request::new(Method::POST, "contacts").json(contact)?.key(key)).await
    }

    pub async fn get_contact(&self, id: ContactId) -> Result<Contact, ApiError> {
        self.call(Request::new(Method::GET, format!("contacts/{id}"))).await
    }

    pub async fn contact_context(&self, id: ContactId) -> Result<ContactContext, ApiError> {
        self.call(Request::new(Method::GET, format!("contacts/{id}/context"))).await
    }

    pub async fn update_contact(&self, id: ContactId, patch: &ContactPatch) -> Result<Contact, ApiError> {
        self.call(Request::new(Method::PATCH, format!("contacts/{id}")).json(patch)?).await
    }

    pub async fn get_account(&self, id: AccountId) -> Result<Account, ApiError> {
        self.call(Request::new(Method::GET, format!("accounts/{id}"))).await
    }

    pub async fn account_context(&self, id: AccountId) -> Result<AccountContext, ApiError> {
        self.call(Request::new(Method::GET, format!("accounts/{id}/context"))).await
    }

    pub async fn create_activity(
        &self,
        activity: &NewActivity,
        key: Option<&str>,
    ) -> Result<Activity, ApiError> {
        self.call(Request::new(Method::POST, "activities").json(activity)?.key(key)).await
    }

    pub async fn list_tasks(&self, query: &TaskQuery) -> Result<Page<Task>, ApiError> {
        self.call(Request::new(Method::GET, "tasks").query(query.to_pairs())).await
    }

    pub async fn create_task(&self, task: &NewTask, key: Option<&str>) -> Result<Task, ApiError> {
        self.call(Request::new(Method::POST, "tasks").json(task)?.key(key)).await
    }

    pub async fn update_task(&self, id: TaskId, patch: &TaskPatch) -> Result<Task, ApiError> {
        self.call(Request::new(Method::PATCH, format!("tasks/{id}")).json(patch)?).await
    }

    // ---- admin ----------------------------------------------------------------------

    pub async fn get_sla_policies(&self) -> Result<Page<SlaPolicy>, ApiError> {
        self.call(Request::new(Method::GET, "sla-policies")).await
    }

    /// Replaces the SLA policies (with id: update; without: create; absent: delete).
    pub async fn put_sla_policies(&self, policies: &[SlaPolicy]) -> Result<Page<SlaPolicy>, ApiError> {
        self.call(Request::new(Method::PUT, "sla-policies").json(&policies)?).await
    }

    pub async fn create_agent(&self, agent: &NewAgent, key: Option<&str>) -> Result<Agent, ApiError> {
        self.call(Request::new(Method::POST, "agents").json(agent)?.key(key)).await
    }

    pub async fn create_token(&self, token: &NewToken, key: Option<&str>) -> Result<CreatedToken, ApiError> {
        self.call(Request::new(Method::POST, "tokens").json(token)?.key(key)).await
    }

    pub async fn openapi(&self) -> Result<serde_json::Value, ApiError> {
        self.call(Request::new(Method::GET, "openapi.json")).await
    }
}

fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 502 | 503 | 504)
}

/// A transport error in words, without reqwest's nesting noise.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    if e.is_connect() {
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
        let mut last = None;
        while let Some(s) = source {
            last = Some(s.to_string());
            source = s.source();
        }
        return format!("cannot connect ({})", last.unwrap_or_else(|| "connection failed".into()));
    }
    let mut text = e.to_string();
    if let Some(src) = std::error::Error::source(e) {
        text = format!("{text}: {src}");
    }
    text
}

/// Strips userinfo and any `token`/`access_token` query value from a URL before it is logged.
pub fn redact_url(url: &str) -> String {
    let Ok(mut u) = Url::parse(url) else { return url.to_owned() };
    if !u.username().is_empty() || u.password().is_some() {
        let _ = u.set_username("<redacted>");
        let _ = u.set_password(None);
    }
    let pairs: Vec<(String, String)> =
        u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    if pairs.iter().any(|(k, _)| k.contains("token")) {
        let mut q = u.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, if k.contains("token") { "<redacted>" } else { v });
        }
    }
    u.to_string()
}

/// Server minus local clock. `Date` is truncated to the second, so its mid-point is the
/// best guess, compared with the mid-point of the request's round trip.
pub fn estimate_skew(date: Timestamp, sent: Timestamp, received: Timestamp) -> SignedDuration {
    let server_mid = date.as_millisecond() + 500;
    let local_mid = (sent.as_millisecond() + received.as_millisecond()) / 2;
    SignedDuration::from_millis(server_mid - local_mid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_query_uses_the_filter_language() {
        let q = TicketQuery {
            view: Some(ViewId(3)),
            filter: TicketFilter {
                status: vec![Status::Open, Status::Pending],
                priority: vec![Priority::Urgent],
                assignee: Some(AssigneeFilter::Me),
                tag: vec!["billing".into()],
                q: Some("refund".into()),
                breaching_within: Some(30),
                ..TicketFilter::default()
            },
            sort: Some(SortKey::Sla),
            limit: Some(10),
            after: Some("c1".into()),
        };
        let pairs: Vec<String> = q.to_pairs().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            pairs,
            [
                "view=3",
                "status=open,pending",
                "priority=urgent",
                "assignee=me",
                "tag=billing",
                "q=refund",
                "breaching_within=30",
                "sort=sla",
                "limit=10",
                "after=c1"
            ]
        );
    }

    #[test]
    fn skew_uses_round_trip_mid_points() {
        let ts = |s: &str| s.parse::<Timestamp>().unwrap();
        let skew =
            estimate_skew(ts("2026-01-01T00:01:00Z"), ts("2026-01-01T00:00:00Z"), ts("2026-01-01T00:00:01Z"));
        assert_eq!(skew, SignedDuration::from_millis(60_000));
        let skew =
            estimate_skew(ts("2026-01-01T00:00:00Z"), ts("2026-01-01T00:00:10Z"), ts("2026-01-01T00:00:10Z"));
        assert_eq!(skew, SignedDuration::from_millis(-9_500));
    }

    #[test]
    fn urls_are_redacted_for_logs() {
        assert_eq!(
            redact_url("http://u:p@h/x?a=1&token=s"),
            "http://%3Credacted%3E@h/x?a=1&token=%3Credacted%3E"
        );
        assert_eq!(redact_url("http://h/api/v1/tickets?limit=5"), "http://h/api/v1/tickets?limit=5");
    }

    #[test]
    fn base_url_validation_and_joining() {
        let c = ApiClient::new("http://127.0.0.1:9/prefix", None, ClientOptions::default()).unwrap();
        assert_eq!(c.url("api/v1/me").unwrap().as_str(), "http://127.0.0.1:9/prefix/api/v1/me");
        assert_eq!(c.base_url(), "http://127.0.0.1:9/prefix");
        assert!(ApiClient::new("ftp://x", None, ClientOptions::default()).is_err());
        assert!(ApiClient::new("not a url", None, ClientOptions::default()).is_err());
    }

    #[test]
    fn only_safe_requests_repeat() {
        assert!(Request::new(Method::GET, "x").repeatable());
        assert!(!Request::new(Method::POST, "x").repeatable());
        assert!(Request::new(Method::POST, "x").key(None).repeatable());
        assert!(!Request::new(Method::PATCH, "x").repeatable());
    }

    #[tokio::test]
    async fn a_refused_connection_is_unavailable_and_names_the_url() {
        // Bind then drop a listener: nothing listens on that port any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let opts = ClientOptions {
            retry: RetryPolicy {
                max_retries: 1,
                base_delay: Duration::from_millis(1),
                ..RetryPolicy::default()
            },
            ..ClientOptions::default()
        };
        let c = ApiClient::new(&format!("http://127.0.0.1:{port}"), Some("t".into()), opts).unwrap();
        let err = c.me().await.unwrap_err();
        assert!(matches!(err, ApiError::Unavailable { .. }), "{err:?}");
        assert!(err.to_string().contains(&format!("http://127.0.0.1:{port}/api/v1/me")), "{err}");
        assert!(err.is_transient());
    }
}
