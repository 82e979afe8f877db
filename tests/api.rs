//! Integration tests of `desk serve`: the real server on an ephemeral port with a temp SQLite
//! file (in-process through `server::spawn`, plus the real binary), driven over HTTP.
//! The store scenarios run again against PostgreSQL when `DESK_TEST_POSTGRES_URL` is set;
//! each PostgreSQL test creates its own database from that URL.

use std::collections::HashSet;
use std::time::Duration;

use desk::server::{Clock, ServeOptions, ServerHandle, spawn};
use futures::StreamExt;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const ADMIN: &str = "admin-secret-token";

struct Server {
    handle: Option<ServerHandle>,
    base: String,
    http: Client,
    _dir: Option<tempfile::TempDir>,
}

fn http() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match Client::builder().timeout(Duration::from_secs(20)).build() {
        Ok(c) => c,
        Err(e) => panic!("cannot build an HTTP client: {e}"),
    }
}

fn options(db_url: String, demo: usize, clock: Clock) -> ServeOptions {
    let mut o = ServeOptions::new(db_url);
    o.bind = "127.0.0.1:0".parse().expect("loopback address");
    o.demo = Some(demo);
    o.bootstrap_token = Some(ADMIN.into());
    o.rate_limit_per_sec = 0;
    o.clock = clock;
    // Demo clocks crossing mid-test would add SLA notifications to exact counts; the
    // scheduler has its own tests (mod slack).
    o.sla_warnings = false;
    o
}

async fn start_sqlite(demo: usize) -> Server {
    start_sqlite_with(demo, Clock::system()).await
}

async fn start_sqlite_with(demo: usize, clock: Clock) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let handle = spawn(options(url, demo, clock)).await.expect("server starts");
    Server { base: handle.url(), handle: Some(handle), http: http(), _dir: Some(dir) }
}

/// A fresh PostgreSQL database for one test, or None when PostgreSQL tests are off.
async fn fresh_postgres() -> Option<String> {
    let base = std::env::var("DESK_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())?;
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&base).await.expect("connect to DESK_TEST_POSTGRES_URL");
    let name = format!("desk_t_{}", hex::encode(rand::random::<[u8; 6]>()));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create db");
    let (prefix, _) = base.rsplit_once('/').expect("URL with a database name");
    Some(format!("{prefix}/{name}"))
}

/// Drops a database made by [`fresh_postgres`] (FORCE closes what is still connected).
async fn drop_postgres(url: &str) {
    let (Ok(base), Some((_, name))) = (std::env::var("DESK_TEST_POSTGRES_URL"), url.rsplit_once('/')) else {
        return;
    };
    use sqlx::Connection;
    let Ok(mut conn) = sqlx::PgConnection::connect(&base).await else { return };
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await {
        eprintln!("could not drop the test database {name}: {e}");
    }
}

async fn start_postgres(demo: usize) -> Option<(Server, String)> {
    let url = fresh_postgres().await?;
    let handle =
        spawn(options(url.clone(), demo, Clock::system())).await.expect("server starts on PostgreSQL");
    Some((Server { base: handle.url(), handle: Some(handle), http: http(), _dir: None }, url))
}

impl Server {
    async fn call(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let text = res.text().await.expect("body read");
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    async fn get(&self, token: &str, path: &str) -> Value {
        let (s, v) = self.call(Some(token), Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "GET {path}: {v}");
        v
    }

    async fn send(&self, token: &str, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Some(token), method, path, Some(body)).await
    }

    /// A token for the demo agent with this first name.
    async fn token_for(&self, first_name: &str) -> (i64, String) {
        let agents = self.get(ADMIN, "/api/v1/agents").await;
        let agent = agents["items"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"].as_str().is_some_and(|n| n.starts_with(first_name))))
            .cloned()
            .expect("demo agent");
        let id = agent["id"].as_i64().expect("agent id");
        let (s, t) = self.send(ADMIN, Method::POST, "/api/v1/tokens", json!({"agent_id": id})).await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        (id, t["token"].as_str().expect("token").to_owned())
    }

    async fn team_id(&self, name: &str) -> i64 {
        let teams = self.get(ADMIN, "/api/v1/teams").await;
        teams["items"]
            .as_array()
            .and_then(|a| a.iter().find(|t| t["name"] == name))
            .and_then(|t| t["id"].as_i64())
            .expect("team")
    }

    async fn stop(mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown().await;
        }
    }
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"].as_array().map(|a| a.iter().filter_map(|t| t["id"].as_i64()).collect()).unwrap_or_default()
}

async fn all_ticket_ids(s: &Server, token: &str, query: &str) -> Vec<i64> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/api/v1/tickets?{query}&limit=200&after={a}"),
            None => format!("/api/v1/tickets?{query}&limit=200"),
        };
        let page = s.get(token, &path).await;
        out.extend(ids(&page));
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => return out,
        }
    }
}

// ---------------------------------------------------------------- scenarios (SQLite and PostgreSQL)

async fn scenario_pagination_while_creating(s: &Server) {
    let requester =
        s.get(ADMIN, "/api/v1/contacts?limit=1").await["items"][0]["id"].as_i64().expect("contact");
    for sort in ["created", "sla", "updated", "priority"] {
        let before: HashSet<i64> =
            all_ticket_ids(s, ADMIN, &format!("sort={sort}")).await.into_iter().collect();
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &after {
                Some(a) => format!("/api/v1/tickets?sort={sort}&limit=7&after={a}"),
                None => format!("/api/v1/tickets?sort={sort}&limit=7"),
            };
            let page = s.get(ADMIN, &path).await;
            seen.extend(ids(&page));
            pages += 1;
            // New tickets arrive between pages.
            let (st, _) = s
                .send(ADMIN, Method::POST, "/api/v1/tickets", json!({"subject": format!("new during paging {pages}"), "requester_id": requester, "body_markdown": "hi"}))
                .await;
            assert_eq!(st, StatusCode::CREATED);
            match page["next"].as_str() {
                Some(n) => after = Some(n.to_owned()),
                None => break,
            }
        }
        let unique: HashSet<i64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "sort={sort}: a ticket appeared twice across pages");
        assert!(before.is_subset(&unique), "sort={sort}: a ticket present from the start was skipped");
        assert!(pages > 3, "sort={sort}: the test must cross page boundaries");
    }
}

async fn scenario_idempotency(s: &Server) {
    let requester =
        s.get(ADMIN, "/api/v1/contacts?limit=1").await["items"][0]["id"].as_i64().expect("contact");
    let body = json!({"subject": "Idempotent", "requester_id": requester, "body_markdown": "once"});
    let post = |b: Value, key: &'static str| {
        s.http
            .post(format!("{}/api/v1/tickets", s.base))
            .bearer_auth(ADMIN)
            .header("Idempotency-Key", key)
            .json(&b)
            .send()
    };
    let r1 = post(body.clone(), "key-1").await.expect("sent");
    assert_eq!(r1.status(), StatusCode::CREATED);
    let t1: Value = r1.json().await.expect("json");
    let r2 = post(body.clone(), "key-1").await.expect("sent");
    assert_eq!(r2.status(), StatusCode::CREATED);
    assert_eq!(r2.headers().get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    let t2: Value = r2.json().await.expect("json");
    assert_eq!(t1, t2, "the replay is the stored response");
    let r3 = post(json!({"subject": "Other", "requester_id": requester}), "key-1").await.expect("sent");
    assert_eq!(r3.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r3.json().await.expect("json");
    assert_eq!(e["error"]["code"], "idempotency_key_reused");
    let found = s.get(ADMIN, "/api/v1/tickets?q=Idempotent&limit=50").await;
    assert_eq!(ids(&found), vec![t1["id"].as_i64().expect("id")], "exactly one ticket was created");
    // Messages honour the key too.
    let path = format!("{}/api/v1/tickets/{}/messages", s.base, t1["id"]);
    let msg = json!({"visibility": "public", "body_markdown": "reply"});
    let m1: Value = s
        .http
        .post(&path)
        .bearer_auth(ADMIN)
        .header("Idempotency-Key", "m-1")
        .json(&msg)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let m2: Value = s
        .http
        .post(&path)
        .bearer_auth(ADMIN)
        .header("Idempotency-Key", "m-1")
        .json(&msg)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(m1["id"], m2["id"]);
}

async fn scenario_if_match(s: &Server) {
    let id = ids(&s.get(ADMIN, "/api/v1/tickets?limit=1").await)[0];
    let path = format!("/api/v1/tickets/{id}");
    let t = s.get(ADMIN, &path).await;
    let v = t["version"].as_i64().expect("version");
    let patch = |version: i64, body: Value| {
        s.http
            .patch(format!("{}{path}", s.base))
            .bearer_auth(ADMIN)
            .header("If-Match", format!("\"{version}\""))
            .json(&body)
            .send()
    };
    let ok = patch(v, json!({"add_tags": ["checked"]})).await.expect("sent");
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        ok.headers().get("etag").and_then(|e| e.to_str().ok()),
        Some(format!("\"{}\"", v + 1).as_str())
    );
    let stale = patch(v, json!({"add_tags": ["again"]})).await.expect("sent");
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let e: Value = stale.json().await.expect("json");
    assert_eq!(e["error"]["code"], "precondition_failed");
    assert_eq!(e["error"]["current"]["version"], v + 1);
    assert!(e["error"]["current"]["tags"].as_array().is_some_and(|t| t.contains(&json!("checked"))));
}

async fn scenario_authorization(s: &Server) {
    let (_, ben) = s.token_for("Ben").await; // Support only
    let billing = s.team_id("Billing").await;
    let support = s.team_id("Support").await;
    let billing_ids = all_ticket_ids(s, ADMIN, &format!("team={billing}")).await;
    let support_ids = all_ticket_ids(s, ADMIN, &format!("team={support}&status=new,open,pending")).await;
    let all_support = all_ticket_ids(s, ADMIN, &format!("team={support}")).await;
    let foreign = *billing_ids.iter().find(|i| !all_support.contains(i)).expect("a billing ticket");
    let (st, e) = s.call(Some(&ben), Method::GET, &format!("/api/v1/tickets/{foreign}"), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(e["error"]["code"], "not_found");
    let visible: HashSet<i64> = all_ticket_ids(s, &ben, "sort=created").await.into_iter().collect();
    assert!(!visible.contains(&foreign));
    assert!(visible.contains(&support_ids[0]));
    // 401 without or with a wrong token.
    let (st, e) = s.call(None, Method::GET, "/api/v1/tickets", None).await;
    assert_eq!((st, e["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
    let (st, _) = s.call(Some("nope"), Method::GET, "/api/v1/me", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // 403 for an agent on admin routes.
    for (m, p, b) in [
        (Method::POST, "/api/v1/agents", json!({"name": "X", "email": "x@y.example"})),
        (Method::POST, "/api/v1/tokens", json!({"agent_id": 1})),
        (Method::PUT, "/api/v1/sla-policies", json!([])),
    ] {
        let (st, e) = s.send(&ben, m, p, b).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{p}: {e}");
        assert_eq!(e["error"]["code"], "forbidden");
    }
    // Property rule: an agent may not move a ticket to a team it is not in.
    let (st, e) = s
        .send(
            &ben,
            Method::PATCH,
            &format!("/api/v1/tickets/{}", support_ids[0]),
            json!({"team_id": billing}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["error"]["field"], "team_id");
    // Bulk with a mix of allowed and forbidden ids: a result per id.
    let (st, r) = s
        .send(
            &ben,
            Method::POST,
            "/api/v1/tickets/bulk",
            json!({"ids": [support_ids[0], foreign, support_ids[1]], "patch": {"add_tags": ["bulk"]}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let res = r["results"].as_array().expect("results");
    assert_eq!(res.len(), 3);
    assert_eq!(
        (res[0]["ok"].as_bool(), res[1]["ok"].as_bool(), res[2]["ok"].as_bool()),
        (Some(true), Some(false), Some(true))
    );
    assert_eq!(res[1]["error"]["code"], "not_found");
    assert!(res[0]["ticket"]["tags"].as_array().is_some_and(|t| t.contains(&json!("bulk"))));
    let untouched = s.get(ADMIN, &format!("/api/v1/tickets/{foreign}")).await;
    assert!(!untouched["tags"].as_array().is_some_and(|t| t.contains(&json!("bulk"))));
}

/// Reads SSE frames `(id, event)` until `n` events arrive (keep-alives and comments skipped).
async fn read_events(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<bytes_alias::Bytes>> + Unpin),
    buf: &mut String,
    n: usize,
) -> Vec<(i64, String, Value)> {
    let mut out = Vec::new();
    while out.len() < n {
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let (mut id, mut ev, mut data) = (None, String::new(), String::new());
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    ev = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if let Some(id) = id {
                out.push((id, ev, serde_json::from_str(&data).unwrap_or(Value::Null)));
                if out.len() == n {
                    return out;
                }
            }
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("an event within 10 s")
            .expect("stream open")
            .expect("chunk");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
    out
}

mod bytes_alias {
    pub use axum::body::Bytes;
}

async fn open_events(
    s: &Server,
    token: &str,
    last: Option<i64>,
) -> impl futures::Stream<Item = reqwest::Result<bytes_alias::Bytes>> + Unpin {
    let mut req =
        s.http.get(format!("{}/api/v1/events", s.base)).bearer_auth(token).timeout(Duration::from_secs(3600));
    if let Some(l) = last {
        req = req.header("Last-Event-ID", l.to_string());
    }
    let res = req.send().await.expect("events stream");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()
            .get("content-type")
            .and_then(|c| c.to_str().ok())
            .is_some_and(|c| c.starts_with("text/event-stream"))
    );
    res.bytes_stream()
}

async fn scenario_sse_resume(s: &Server) {
    let id = ids(&s.get(ADMIN, "/api/v1/tickets?limit=1").await)[0];
    let path = format!("/api/v1/tickets/{id}");
    let mut stream = open_events(s, ADMIN, None).await;
    let mut buf = String::new();
    for i in 0..3 {
        let (st, _) = s.send(ADMIN, Method::PATCH, &path, json!({"add_tags": [format!("sse-{i}")]})).await;
        assert_eq!(st, StatusCode::OK);
    }
    let first = read_events(&mut stream, &mut buf, 3).await;
    drop(stream); // disconnect
    for i in 3..6 {
        let (st, _) = s.send(ADMIN, Method::PATCH, &path, json!({"add_tags": [format!("sse-{i}")]})).await;
        assert_eq!(st, StatusCode::OK);
    }
    let last_seen = first.last().map(|e| e.0).expect("events");
    let mut stream = open_events(s, ADMIN, Some(last_seen)).await;
    let mut buf = String::new();
    let second = read_events(&mut stream, &mut buf, 3).await;
    // And a live one after the replay.
    let (st, _) = s.send(ADMIN, Method::PATCH, &path, json!({"add_tags": ["sse-live"]})).await;
    assert_eq!(st, StatusCode::OK);
    let live = read_events(&mut stream, &mut buf, 1).await;
    let all: Vec<&(i64, String, Value)> = first.iter().chain(&second).chain(&live).collect();
    let got: Vec<i64> = all.iter().map(|e| e.0).collect();
    let mut sorted = got.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(got, sorted, "in order, each once");
    assert_eq!(got.len(), 7);
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.1, "ticket.updated");
        assert_eq!(e.2["ticket_id"], id);
        let want = if i < 6 { format!("tag added: sse-{i}") } else { "tag added: sse-live".into() };
        assert_eq!(e.2["data"]["changes"][0], want.as_str());
    }
    // An id from the future (another database) gets a resync.
    let mut stream = open_events(s, ADMIN, Some(i64::MAX / 2)).await;
    let mut buf = String::new();
    let r = read_events(&mut stream, &mut buf, 1).await;
    assert_eq!(r[0].1, "resync");
}

async fn scenario_sse_team_filter(s: &Server) {
    let (_, ben) = s.token_for("Ben").await; // Support only
    let (billing, support) = (s.team_id("Billing").await, s.team_id("Support").await);
    let all_support = all_ticket_ids(s, ADMIN, &format!("team={support}")).await;
    let foreign = all_ticket_ids(s, ADMIN, &format!("team={billing}&status=new,open,pending"))
        .await
        .into_iter()
        .find(|i| !all_support.contains(i))
        .expect("a billing ticket");
    let own = all_ticket_ids(s, ADMIN, &format!("team={support}&status=new,open,pending")).await[0];
    let mut stream = open_events(s, &ben, None).await;
    let mut buf = String::new();
    let (st, _) = s
        .send(ADMIN, Method::PATCH, &format!("/api/v1/tickets/{foreign}"), json!({"add_tags": ["hidden"]}))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) =
        s.send(ADMIN, Method::PATCH, &format!("/api/v1/tickets/{own}"), json!({"add_tags": ["shown"]})).await;
    assert_eq!(st, StatusCode::OK);
    let got = read_events(&mut stream, &mut buf, 1).await;
    assert_eq!(got[0].2["ticket_id"], own, "the other team's event was filtered out");
}

async fn scenario_bad_input(s: &Server) {
    let id = ids(&s.get(ADMIN, "/api/v1/tickets?limit=1").await)[0];
    let raw = |m: Method, p: String, body: Vec<u8>| {
        s.http
            .request(m, format!("{}{p}", s.base))
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            // One connection per case: after refusing an oversized body the server closes the
            // connection, and a pooled connection reused by the next case would fail to send.
            .header("connection", "close")
            .body(body)
            .send()
    };
    let cases: Vec<(Method, String, Vec<u8>, u16, &str)> = vec![
        (Method::POST, "/api/v1/tickets".into(), b"{not json".to_vec(), 400, "invalid_json"),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            br#"{"subject": 5, "requester_id": "x"}"#.to_vec(),
            422,
            "validation_failed",
        ),
        (
            Method::PATCH,
            format!("/api/v1/tickets/{id}"),
            br#"{"status": "open", "colour": "red"}"#.to_vec(),
            422,
            "validation_failed",
        ),
        (
            Method::PATCH,
            format!("/api/v1/tickets/{id}"),
            br#"{"status": "exploded"}"#.to_vec(),
            422,
            "validation_failed",
        ),
        (Method::PATCH, format!("/api/v1/tickets/{id}"), br#"[1, 2, 3]"#.to_vec(), 422, "validation_failed"),
        (
            Method::POST,
            format!("/api/v1/tickets/{id}/messages"),
            vec![b'x'; 2 * 1024 * 1024],
            413,
            "payload_too_large",
        ),
        (
            Method::POST,
            format!("/api/v1/tickets/{id}/messages"),
            br#"{"visibility": "public"}"#.to_vec(),
            422,
            "validation_failed",
        ),
        (Method::GET, "/api/v1/tickets?limit=100000".into(), vec![], 400, "bad_request"),
        (Method::GET, "/api/v1/tickets?limit=-1".into(), vec![], 400, "bad_request"),
        (Method::GET, "/api/v1/tickets?sort=drop_table".into(), vec![], 400, "bad_request"),
        (Method::GET, "/api/v1/tickets?status=open%27%20OR%201%3D1".into(), vec![], 400, "bad_request"),
        (
            Method::GET,
            "/api/v1/tickets?after=%27%3B%20DROP%20TABLE%20tickets".into(),
            vec![],
            400,
            "bad_request",
        ),
        (Method::GET, "/api/v1/tickets?bogus=1".into(), vec![], 400, "bad_request"),
        (Method::GET, "/api/v1/tickets/abc".into(), vec![], 404, "not_found"),
        (Method::GET, "/api/v1/tickets/99999999".into(), vec![], 404, "not_found"),
        (Method::GET, "/api/v1/nope".into(), vec![], 404, "not_found"),
        (Method::DELETE, "/api/v1/tickets".into(), vec![], 405, "bad_request"),
        (Method::GET, "/api/v1/events?last_event_id=abc".into(), vec![], 400, "bad_request"),
    ];
    for (m, p, body, status, code) in cases {
        // A server that refuses an oversized body answers 413 and closes the connection without
        // reading the rest (RFC 9112 §9.6); a client still writing may then see a reset instead of
        // the answer. Real clients retry such a request; so does this check, a bounded number of times.
        let mut attempt = 0;
        let res = loop {
            attempt += 1;
            match raw(m.clone(), p.clone(), body.clone()).await {
                Ok(res) => break res,
                Err(e) if status == 413 && attempt < 5 => eprintln!("413 case, attempt {attempt}: {e}"),
                Err(e) => panic!("{m} {p}: request failed: {e}"),
            }
        };
        let st = res.status().as_u16();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(st, status, "{m} {p}: {v}");
        assert_eq!(v["error"]["code"], code, "{m} {p}: {v}");
        assert!(v["error"]["request_id"].is_string(), "{m} {p}: {v}");
    }
    // SQL metacharacters in free text are just text.
    let v = s.get(ADMIN, "/api/v1/tickets?q=%27%3B%20DROP%20TABLE%20tickets%3B%20--%20%25_").await;
    assert_eq!(v["items"], json!([]));
    let v = s.get(ADMIN, "/api/v1/contacts?q=%27%20OR%20%271%27%3D%271").await;
    assert_eq!(v["items"], json!([]));
    assert!(!ids(&s.get(ADMIN, "/api/v1/tickets?limit=5").await).is_empty(), "the table is still there");
}

async fn scenario_workspace(s: &Server) {
    let me = s.get(ADMIN, "/api/v1/me").await;
    assert_eq!(me["agent"]["role"], "admin");
    let views = s.get(ADMIN, "/api/v1/views").await;
    let names: Vec<&str> =
        views["items"].as_array().expect("views").iter().filter_map(|v| v["name"].as_str()).collect();
    assert_eq!(names, ["My open", "Unassigned", "Breaching soon", "Urgent", "Waiting on customer"]);
    // A view's count equals the number of tickets listed through it.
    for v in views["items"].as_array().expect("views") {
        let listed = all_ticket_ids(s, ADMIN, &format!("view={}", v["id"])).await;
        assert_eq!(v["count"].as_i64(), Some(listed.len() as i64), "view {}", v["name"]);
    }
    // Context in one call.
    let contact = s.get(ADMIN, "/api/v1/contacts?limit=1").await["items"][0].clone();
    let cid = contact["id"].as_i64().expect("contact id");
    let ctx = s.get(ADMIN, &format!("/api/v1/contacts/{cid}/context")).await;
    assert_eq!(ctx["contact"]["id"], cid);
    assert!(ctx["account"]["name"].is_string());
    let aid = ctx["account"]["id"].as_i64().expect("account");
    let actx = s.get(ADMIN, &format!("/api/v1/accounts/{aid}/context")).await;
    assert!(actx["contacts"].as_array().is_some_and(|c| c.iter().any(|c| c["id"] == cid)));
    assert_eq!(s.get(ADMIN, &format!("/api/v1/accounts/{aid}")).await["id"], aid);
    // CRM writes.
    let (st, a) = s
        .send(
            ADMIN,
            Method::POST,
            "/api/v1/activities",
            json!({"kind": "call", "summary": "Renewal call", "contact_id": cid}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let ctx = s.get(ADMIN, &format!("/api/v1/contacts/{cid}/context")).await;
    assert_eq!(ctx["activities"][0]["summary"], "Renewal call");
    let (st, t) = s
        .send(
            ADMIN,
            Method::POST,
            "/api/v1/tasks",
            json!({"title": "Send the deck", "contact_id": cid, "due_at": "2030-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{t}");
    let tid = t["id"].as_i64().expect("task id");
    let (st, t) = s.send(ADMIN, Method::PATCH, &format!("/api/v1/tasks/{tid}"), json!({"done": true})).await;
    assert_eq!((st, t["done"].as_bool()), (StatusCode::OK, Some(true)));
    let tasks = s.get(ADMIN, &format!("/api/v1/tasks?contact={cid}&done=true")).await;
    assert!(ids(&tasks).contains(&tid));
    let (st, c) = s
        .send(ADMIN, Method::PATCH, &format!("/api/v1/contacts/{cid}"), json!({"title": "VP Support"}))
        .await;
    assert_eq!((st, c["title"].as_str()), (StatusCode::OK, Some("VP Support")));
    let stale = s
        .http
        .patch(format!("{}/api/v1/contacts/{cid}", s.base))
        .bearer_auth(ADMIN)
        .header("If-Match", "\"0000\"")
        .json(&json!({"title": "x"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    // Batched resolution.
    let (st, r) = s
        .send(
            ADMIN,
            Method::POST,
            "/api/v1/resolve",
            json!({"refs": [
                {"kind": "contact", "id": cid.to_string()},
                {"kind": "slack_user", "id": contact["slack_user_id"]},
                {"kind": "agent", "id": "1"},
                {"kind": "account", "id": "nope"}
            ]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["items"][0]["label"], contact["name"]);
    assert_eq!(r["items"][1]["desk_id"], cid);
    assert!(r["items"][2]["label"].is_string());
    assert!(r["items"][3]["label"].is_null());
    // Macros: a dry run changes nothing, applying does.
    let macros = s.get(ADMIN, "/api/v1/macros").await;
    let ask = macros["items"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["name"] == "Ask for more details"))
        .cloned()
        .expect("macro");
    let open = all_ticket_ids(s, ADMIN, "status=open").await;
    let tid = open[0];
    let (st, dry) = s
        .call(
            Some(ADMIN),
            Method::POST,
            &format!("/api/v1/tickets/{tid}/macros/{}?dry_run=true", ask["id"]),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{dry}");
    assert_eq!((dry["dry_run"].as_bool(), dry["ticket"]["status"].as_str()), (Some(true), Some("pending")));
    assert_eq!(dry["changes"], json!(["status: open -> pending"]));
    assert_eq!(s.get(ADMIN, &format!("/api/v1/tickets/{tid}")).await["status"], "open");
    let (st, done) =
        s.call(Some(ADMIN), Method::POST, &format!("/api/v1/tickets/{tid}/macros/{}", ask["id"]), None).await;
    assert_eq!((st, done["ticket"]["status"].as_str()), (StatusCode::OK, Some("pending")));
    let msgs = s.get(ADMIN, &format!("/api/v1/tickets/{tid}/messages")).await;
    assert!(
        msgs["items"]
            .as_array()
            .and_then(|m| m.last())
            .is_some_and(|m| m["body"]["markdown"].as_str().is_some_and(|b| b.starts_with("Could you send")))
    );
    // Merge.
    let (a, b) = (open[1], open[2]);
    let before =
        s.get(ADMIN, &format!("/api/v1/tickets/{a}/messages")).await["items"].as_array().map_or(0, Vec::len);
    let (st, m) =
        s.send(ADMIN, Method::POST, &format!("/api/v1/tickets/{a}/merge"), json!({"into": b})).await;
    assert_eq!((st, m["id"].as_i64()), (StatusCode::OK, Some(b)));
    let src = s.get(ADMIN, &format!("/api/v1/tickets/{a}")).await;
    assert_eq!((src["status"].as_str(), src["merged_into"].as_i64()), (Some("closed"), Some(b)));
    let moved = s.get(ADMIN, &format!("/api/v1/tickets/{b}/messages?limit=200")).await["items"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(moved > before);
    let (st, _) =
        s.send(ADMIN, Method::POST, &format!("/api/v1/tickets/{a}/merge"), json!({"into": b})).await;
    assert_eq!(st, StatusCode::CONFLICT);
    // The text filter and query params agree.
    let via_params = all_ticket_ids(s, ADMIN, "status=open,pending&priority=urgent").await;
    let f = desk::model::TicketFilter::parse_text("status:open,pending priority:urgent").expect("filter");
    let q: Vec<String> = f.to_query_pairs().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(all_ticket_ids(s, ADMIN, &q.join("&")).await, via_params);
    // SLA policies round trip through the admin route.
    let pol = s.get(ADMIN, "/api/v1/sla-policies").await;
    let items = pol["items"].clone();
    assert_eq!(items.as_array().map(Vec::len), Some(3));
    let (st, back) = s.send(ADMIN, Method::PUT, "/api/v1/sla-policies", items.clone()).await;
    assert_eq!((st, &back["items"]), (StatusCode::OK, &items));
    let (st, e) = s
        .send(ADMIN, Method::PUT, "/api/v1/sla-policies", json!([{"name": "bad", "timezone": "Mars/Base"}]))
        .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"))
    );
}

async fn scenario_notifications(s: &Server) {
    let (ben_id, ben) = s.token_for("Ben").await;
    let support = s.team_id("Support").await;
    let tid = all_ticket_ids(s, ADMIN, &format!("team={support}&status=open")).await[0];
    let (st, t) =
        s.send(ADMIN, Method::PATCH, &format!("/api/v1/tickets/{tid}"), json!({"assignee_id": ben_id})).await;
    assert_eq!(st, StatusCode::OK, "{t}");
    let (st, _) = s
        .send(
            ADMIN,
            Method::POST,
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({"visibility": "internal", "body_markdown": "@ben can you take this one?"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let n = s.get(&ben, "/api/v1/notifications?unread=true").await;
    let kinds: Vec<&str> =
        n["items"].as_array().expect("items").iter().filter_map(|x| x["kind"].as_str()).collect();
    assert_eq!(kinds, ["mention", "assignment"]);
    let nid = n["items"][0]["id"].as_i64().expect("id");
    let (st, r) = s.call(Some(&ben), Method::POST, &format!("/api/v1/notifications/{nid}/read"), None).await;
    assert_eq!((st, r["read"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(
        s.get(&ben, "/api/v1/notifications?unread=true").await["items"].as_array().map(Vec::len),
        Some(1)
    );
    // The admin's notifications are not Ben's.
    let (st, _) = s.call(Some(ADMIN), Method::POST, &format!("/api/v1/notifications/{nid}/read"), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // An assignee outside the ticket's team is refused.
    let (hiro, _) = s.token_for("Hiroshi").await;
    let (st, e) =
        s.send(ADMIN, Method::PATCH, &format!("/api/v1/tickets/{tid}"), json!({"assignee_id": hiro})).await;
    assert_eq!((st, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("assignee_id")));
}

async fn scenario_sla(s: &Server) {
    let mut tickets = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/api/v1/tickets?sort=sla&limit=200&after={a}"),
            None => "/api/v1/tickets?sort=sla&limit=200".to_owned(),
        };
        let page = s.get(ADMIN, &path).await;
        tickets.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => break,
        }
    }
    // sort=sla: soonest due first, tickets without a running clock last.
    let due: Vec<Option<jiff::Timestamp>> =
        tickets.iter().map(|t| t["next_sla_due_at"].as_str().and_then(|d| d.parse().ok())).collect();
    let firsts_none = due.iter().position(Option::is_none).unwrap_or(due.len());
    assert!(due[firsts_none..].iter().all(Option::is_none));
    assert!(due[..firsts_none].windows(2).all(|w| w[0] <= w[1]), "ordered by next_sla_due_at");
    // The demo has clocks in every state, and each ticket carries its report.
    let mut states = HashSet::new();
    for t in &tickets {
        for m in ["first_response", "next_response", "resolution"] {
            if let Some(st) = t["sla"][m]["state"].as_str() {
                states.insert(st.to_owned());
            }
        }
    }
    for want in ["active", "breached", "paused", "achieved"] {
        assert!(states.contains(want), "no {want} clock in the demo: {states:?}");
    }
    // Raising the priority moves the due instant earlier (or keeps it).
    let t = tickets
        .iter()
        .find(|t| t["status"] == "new" && t["priority"] == "low" && t["next_sla_due_at"].is_string())
        .or_else(|| {
            tickets.iter().find(|t| {
                t["status"] == "new" && t["priority"] != "urgent" && t["next_sla_due_at"].is_string()
            })
        })
        .expect("a new ticket with a running clock");
    let before: jiff::Timestamp = t["next_sla_due_at"].as_str().and_then(|d| d.parse().ok()).expect("due");
    let (st, after) = s
        .send(ADMIN, Method::PATCH, &format!("/api/v1/tickets/{}", t["id"]), json!({"priority": "urgent"}))
        .await;
    assert_eq!(st, StatusCode::OK, "{after}");
    let now_due: jiff::Timestamp =
        after["next_sla_due_at"].as_str().and_then(|d| d.parse().ok()).expect("due");
    assert!(now_due <= before);
    // Pending pauses the resolution clock.
    let (st, paused) = s
        .send(ADMIN, Method::PATCH, &format!("/api/v1/tickets/{}", t["id"]), json!({"status": "pending"}))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(paused["sla"]["resolution"]["clock"], "paused", "{paused}");
}

// ---------------------------------------------------------------- SQLite

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_pagination_while_creating() {
    let s = start_sqlite(40).await;
    scenario_pagination_while_creating(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_idempotency_and_if_match() {
    let s = start_sqlite(20).await;
    scenario_idempotency(&s).await;
    scenario_if_match(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_authorization_and_bulk() {
    let s = start_sqlite(60).await;
    scenario_authorization(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sse_resume_delivers_each_event_once_in_order() {
    let s = start_sqlite(30).await;
    scenario_sse_resume(&s).await;
    scenario_sse_team_filter(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_bad_input_gets_the_envelope_never_500() {
    let s = start_sqlite(10).await;
    scenario_bad_input(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_workspace_crm_macros_merge() {
    let s = start_sqlite(50).await;
    scenario_workspace(&s).await;
    scenario_notifications(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sla_reports_and_sort() {
    let s = start_sqlite(150).await;
    scenario_sla(&s).await;
    s.stop().await;
}

/// Without the demo: the bootstrap admin builds a workspace through the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_empty_workspace_from_scratch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut o = options(format!("sqlite://{}", dir.path().join("d.db").display()), 0, Clock::system());
    o.demo = None;
    let h = spawn(o).await.expect("server");
    let s = Server { base: h.url(), handle: Some(h), http: http(), _dir: Some(dir) };
    let (st, team) = s.send(ADMIN, Method::POST, "/api/v1/teams", json!({"name": "Support"})).await;
    assert_eq!(st, StatusCode::CREATED, "{team}");
    let (st, _) = s.send(ADMIN, Method::POST, "/api/v1/teams", json!({"name": "Support"})).await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (st, agent) = s
        .send(
            ADMIN,
            Method::POST,
            "/api/v1/agents",
            json!({"name": "Kim Lee", "email": "kim@example.com", "teams": [team["id"]]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{agent}");
    let (st, contact) = s
        .send(
            ADMIN,
            Method::POST,
            "/api/v1/contacts",
            json!({"name": "Pat Doe", "email": "pat@customer.example"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{contact}");
    let (st, t) = s
        .send(ADMIN, Method::POST, "/api/v1/tickets", json!({"subject": "First", "requester_id": contact["id"], "team_id": team["id"], "tags": ["Hello"]}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{t}");
    assert_eq!((t["status"].as_str(), t["tags"].clone()), (Some("new"), json!(["hello"])));
    assert!(t["sla"]["first_response"].is_null(), "no policy, no clocks");
    let (st, t) = s
        .send(
            ADMIN,
            Method::PATCH,
            &format!("/api/v1/tickets/{}", t["id"]),
            json!({"assignee_id": agent["id"]}),
        )
        .await;
    assert_eq!((st, &t["assignee_id"]), (StatusCode::OK, &agent["id"]));
    let (st, p) = s
        .send(
            ADMIN,
            Method::PUT,
            "/api/v1/sla-policies",
            json!([{"name": "24x7", "targets": {"first_response_min": 60}}]),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let t = s.get(ADMIN, &format!("/api/v1/tickets/{}", t["id"])).await;
    assert_eq!(t["sla"]["first_response"]["state"], "active", "a new policy applies to open tickets: {t}");
    assert!(t["next_sla_due_at"].is_string());
    s.stop().await;
}

/// A 20-ticket workspace on a fixed clock, a Support ticket and Ben's token: what every presence
/// test starts from.
async fn presence_fixture() -> (Server, Clock, jiff::Timestamp, i64, String) {
    let start = jiff::Timestamp::from_second(1_800_000_000).expect("ts");
    let clock = Clock::fixed(start);
    let s = start_sqlite_with(20, clock.clone()).await;
    let support = s.team_id("Support").await;
    let tid = all_ticket_ids(&s, ADMIN, &format!("team={support}")).await[0];
    let (_, ben) = s.token_for("Ben").await;
    (s, clock, start, tid, ben)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_expires_after_30_seconds() {
    let (s, clock, start, tid, ben) = presence_fixture().await;
    let (st, p) = s
        .send(ADMIN, Method::POST, &format!("/api/v1/tickets/{tid}/presence"), json!({"state": "replying"}))
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let seen = s.get(&ben, &format!("/api/v1/tickets/{tid}/presence")).await;
    assert_eq!(seen["items"][0]["state"], "replying");
    clock.set(start + jiff::SignedDuration::from_secs(29));
    assert_eq!(
        s.get(&ben, &format!("/api/v1/tickets/{tid}/presence")).await["items"].as_array().map(Vec::len),
        Some(1)
    );
    clock.set(start + jiff::SignedDuration::from_secs(31));
    assert_eq!(s.get(&ben, &format!("/api/v1/tickets/{tid}/presence")).await["items"], json!([]));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429_with_retry_after() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut o = options(format!("sqlite://{}", dir.path().join("d.db").display()), 5, Clock::system());
    o.rate_limit_per_sec = 1;
    o.rate_limit_burst = 3;
    let h = spawn(o).await.expect("server");
    let http = http();
    let mut statuses = Vec::new();
    let mut retry = None;
    for _ in 0..5 {
        let r = http.get(format!("{}/api/v1/me", h.url())).bearer_auth(ADMIN).send().await.expect("sent");
        statuses.push(r.status().as_u16());
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        }
    }
    assert_eq!(&statuses[..3], &[200, 200, 200]);
    assert_eq!(statuses[3], 429);
    assert_eq!(retry.as_deref(), Some("1"));
    h.shutdown().await;
}

/// The real binary: starts on port 0, answers, and exits cleanly on SIGTERM.
#[test]
fn binary_serves_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_desk"))
        .args(["serve", "--bind", "127.0.0.1:0", "--demo-size", "5"])
        .env("DESK_DATA_DIR", dir.path())
        .env("DESK_BOOTSTRAP_TOKEN", ADMIN)
        .env("DESK_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .expect("desk serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines.next().expect("a line").expect("readable");
        if let Some(u) = line.strip_prefix("desk serve: listening on ") {
            break u.to_owned();
        }
    };
    assert!(dir.path().join("desk.db").exists(), "the default database lives in the data directory");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let http = http();
        let me: Value = http
            .get(format!("{url}/api/v1/me"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("json");
        assert_eq!(me["agent"]["role"], "admin");
        let health = http.get(format!("{url}/healthz")).send().await.expect("sent");
        assert_eq!(health.status(), StatusCode::OK);
    });
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("exit status");
    assert!(exit.success(), "graceful exit, got {exit:?}");
}

// ---------------------------------------------------------------- PostgreSQL

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_scenarios() {
    let Some((s, url)) = start_postgres(150).await else {
        eprintln!("DESK_TEST_POSTGRES_URL is not set; skipping the PostgreSQL scenarios");
        return;
    };
    scenario_pagination_while_creating(&s).await;
    scenario_idempotency(&s).await;
    scenario_if_match(&s).await;
    scenario_authorization(&s).await;
    scenario_sse_resume(&s).await;
    scenario_sse_team_filter(&s).await;
    scenario_bad_input(&s).await;
    scenario_workspace(&s).await;
    scenario_notifications(&s).await;
    scenario_sla(&s).await;
    s.stop().await;
    drop_postgres(&url).await;
}

/// Two `desk serve` processes on one PostgreSQL database: an event written through one
/// reaches an SSE client of the other (LISTEN/NOTIFY).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_instances_share_events() {
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};
    let Some(db) = fresh_postgres().await else {
        eprintln!("DESK_TEST_POSTGRES_URL is not set; skipping");
        return;
    };
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let start = |demo: bool| -> (Kill, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_desk"));
        cmd.args(["serve", "--db", &db, "--bind", "127.0.0.1:0"]);
        if demo {
            cmd.args(["--demo-size", "10"]);
        }
        let mut child = cmd
            .env("DESK_BOOTSTRAP_TOKEN", ADMIN)
            .env("DESK_LOG", "warn")
            .stderr(Stdio::piped())
            .spawn()
            .expect("desk serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = lines.next().expect("a line").expect("readable");
            if let Some(u) = line.strip_prefix("desk serve: listening on ") {
                break u.to_owned();
            }
        };
        // Keep draining stderr so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        (Kill(child), url)
    };
    let (_a, url_a) = start(true);
    let (_b, url_b) = start(false);
    let a = Server { handle: None, base: url_a, http: http(), _dir: None };
    let b = Server { handle: None, base: url_b, http: http(), _dir: None };
    let mut stream = open_events(&b, ADMIN, None).await;
    let mut buf = String::new();
    let requester =
        a.get(ADMIN, "/api/v1/contacts?limit=1").await["items"][0]["id"].as_i64().expect("contact");
    let (st, t) = a
        .send(
            ADMIN,
            Method::POST,
            "/api/v1/tickets",
            json!({"subject": "Across instances", "requester_id": requester}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let got = read_events(&mut stream, &mut buf, 1).await;
    assert_eq!(got[0].1, "ticket.created");
    assert_eq!(got[0].2["ticket_id"], t["id"]);
    drop(stream);
    drop((_a, _b));
    drop_postgres(&db).await;
}

// ---------------------------------------------------------------- Slack, auto-responders, SLA warnings

mod slack {
    use super::*;
    use desk::server::slack::signature::sign;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TEAM: &str = "T0DESK";
    const CHANNEL: &str = "C0HELP";

    fn now_secs() -> i64 {
        jiff::Timestamp::now().as_second()
    }

    /// A real Events API `event_callback` envelope around a `message` event.
    fn envelope(event_id: &str, event: Value) -> Value {
        json!({
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "api_app_id": "A0DESKAPP",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": now_secs(),
            "authorizations": [{"team_id": TEAM, "user_id": "U0DESKBOT", "is_bot": true}],
            "is_ext_shared_channel": false,
            "event_context": "4-eyJldCI6Im1lc3NhZ2UifQ",
        })
    }

    fn message(ts: &str, thread_ts: Option<&str>, user: &str, text: &str) -> Value {
        let mut m = json!({
            "type": "message",
            "channel": CHANNEL,
            "channel_type": "channel",
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "team": TEAM,
            "client_msg_id": format!("cm-{ts}"),
            "blocks": [{"type": "rich_text", "block_id": "b1", "elements": [{"type": "rich_text_section", "elements": [
                {"type": "text", "text": text},
                {"type": "text", "text": " urgent", "style": {"bold": true}}
            ]}]}],
            "user_profile": {"real_name": "Carla Mendes", "display_name": "carla", "name": "carla.m"},
        });
        if let Some(t) = thread_ts {
            m["thread_ts"] = json!(t);
            m["parent_user_id"] = json!(user);
        }
        m
    }

    async fn post_signed(s: &Server, body: &Value, at: i64, secret: &str) -> (StatusCode, Value, Duration) {
        let raw = body.to_string();
        let started = Instant::now();
        let res = s
            .http
            .post(format!("{}/api/v1/integrations/slack/events", s.base))
            .header("content-type", "application/json")
            .header("x-slack-request-timestamp", at.to_string())
            .header("x-slack-signature", sign(secret, &at.to_string(), raw.as_bytes()))
            .body(raw)
            .send()
            .await
            .expect("request sent");
        let took = started.elapsed();
        let status = res.status();
        let text = res.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), took)
    }

    async fn configure(s: &Server, ignore_bots: bool) {
        let team = s.team_id("Billing").await;
        let (st, v) = s
            .send(
                ADMIN,
                Method::PUT,
                &format!("/api/v1/integrations/slack/workspaces/{TEAM}"),
                json!({"slack_team_id": TEAM, "name": "Acme", "signing_secret": SECRET, "bot_token": "xoxb-test-token",
                       "bot_user_id": "U0DESKBOT", "bot_id": "B0DESKBOT", "ignore_bots": ignore_bots}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["signing_secret"], "***");
        let (st, v) = s
            .send(
                ADMIN,
                Method::PUT,
                &format!("/api/v1/integrations/slack/channels/{CHANNEL}"),
                json!({"channel_id": CHANNEL, "slack_team_id": TEAM, "team_id": team, "name": "help"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }

    /// Polls until `f` gives Some, failing after 10 s.
    async fn until<T, F, Fut>(what: &str, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(v) = f().await {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn slack_ticket(s: &Server, subject_word: &str) -> Option<Value> {
        let page = s.get(ADMIN, &format!("/api/v1/tickets?q={subject_word}&limit=5")).await;
        page["items"].as_array()?.iter().find(|t| t["channel"] == "slack").cloned()
    }

    async fn messages(s: &Server, ticket: i64) -> Vec<Value> {
        s.get(ADMIN, &format!("/api/v1/tickets/{ticket}/messages?limit=200")).await["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    async fn count(s: &Server, sql: &str) -> i64 {
        let store = s.handle.as_ref().expect("in-process server").store();
        let (n,): (i64,) =
            sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(store.pool()).await.expect("count");
        n
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ingestion_verifies_stores_once_and_applies_edits_replies_and_bots() {
        let s = start_sqlite(5).await;
        configure(&s, true).await;
        // url_verification answers the challenge.
        let (st, v, _) =
            post_signed(&s, &json!({"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}), now_secs(), SECRET)
                .await;
        assert_eq!(
            (st, v["challenge"].as_str()),
            (StatusCode::OK, Some("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"))
        );
        let first =
            envelope("Ev0FIRST", message("1700000000.000100", None, "U0CARLA", "Invoice 4411 is wrong"));
        // Bad signature and stale timestamp: 401, nothing stored.
        let (st, v, _) = post_signed(&s, &first, now_secs(), "not-the-secret").await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
        let (st, _, _) = post_signed(&s, &first, now_secs() - 301, SECRET).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
        assert_eq!(count(&s, "SELECT COUNT(*) FROM slack_envelopes").await, 0);
        // The retry of an event whose first tries were not stored is stored and processed.
        let (st, _, _) = post_signed(&s, &first, now_secs(), SECRET).await;
        assert_eq!(st, StatusCode::OK);
        // A retry of a stored event is acknowledged and stored once.
        let (st, _, _) = post_signed(&s, &first, now_secs(), SECRET).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(count(&s, "SELECT COUNT(*) FROM slack_envelopes WHERE event_id = 'Ev0FIRST'").await, 1);
        let t = until("the Slack ticket", || slack_ticket(&s, "4411")).await;
        let id = t["id"].as_i64().expect("id");
        assert_eq!(t["external"]["slack_channel"], CHANNEL);
        assert_eq!(t["team_id"].as_i64(), Some(s.team_id("Billing").await));
        let msgs = messages(&s, id).await;
        assert_eq!(msgs.len(), 1);
        assert_eq!(
            msgs[0]["body"]["markdown"].as_str().map(str::trim),
            Some("Invoice 4411 is wrong **urgent**")
        );
        assert_eq!(msgs[0]["body"]["source"]["blocks"][0]["type"], "rich_text");
        assert_eq!(msgs[0]["author"]["name"], "Carla Mendes");
        // The contact keeps the Slack user id, and /resolve labels the mention.
        let (st, r) = s
            .send(
                ADMIN,
                Method::POST,
                "/api/v1/resolve",
                json!({"refs": [{"kind": "slack_user", "id": "U0CARLA"}]}),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(r["items"][0]["label"], "Carla Mendes", "{r}");
        // A thread reply appends a customer message; a thread_broadcast too.
        let reply = envelope(
            "Ev0REPLY",
            message("1700000001.000200", Some("1700000000.000100"), "U0CARLA", "Any news?"),
        );
        assert_eq!(post_signed(&s, &reply, now_secs(), SECRET).await.0, StatusCode::OK);
        let mut bc = message("1700000001.000300", Some("1700000000.000100"), "U0CARLA", "Broadcast too");
        bc["subtype"] = json!("thread_broadcast");
        assert_eq!(post_signed(&s, &envelope("Ev0BCAST", bc), now_secs(), SECRET).await.0, StatusCode::OK);
        until("the replies", || async { (messages(&s, id).await.len() == 3).then_some(()) }).await;
        // An edit updates in place.
        let edit = envelope(
            "Ev0EDIT",
            json!({
                "type": "message", "subtype": "message_changed", "hidden": true, "channel": CHANNEL, "ts": "1700000002.000001",
                "event_ts": "1700000002.000001", "channel_type": "channel",
                "message": {"type": "message", "user": "U0CARLA", "text": "Invoice 4412 is wrong", "ts": "1700000000.000100",
                    "edited": {"user": "U0CARLA", "ts": "1700000002.000000"},
                    "blocks": [{"type": "rich_text", "block_id": "b2", "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": "Invoice 4412 is wrong"}]}]}]},
                "previous_message": {"type": "message", "user": "U0CARLA", "text": "Invoice 4411 is wrong", "ts": "1700000000.000100"}
            }),
        );
        assert_eq!(post_signed(&s, &edit, now_secs(), SECRET).await.0, StatusCode::OK);
        until("the edit", || async {
            let m = messages(&s, id).await;
            (m.len() == 3
                && m[0]["body"]["markdown"].as_str().is_some_and(|t| t.contains("4412"))
                && !m[0]["edited_at"].is_null())
            .then_some(())
        })
        .await;
        // A deletion marks the message in place.
        let del = envelope(
            "Ev0DEL",
            json!({"type": "message", "subtype": "message_deleted", "hidden": true, "channel": CHANNEL,
            "ts": "1700000003.000001", "deleted_ts": "1700000001.000300", "event_ts": "1700000003.000001",
            "previous_message": {"type": "message", "user": "U0CARLA", "text": "Broadcast too", "ts": "1700000001.000300"}}),
        );
        assert_eq!(post_signed(&s, &del, now_secs(), SECRET).await.0, StatusCode::OK);
        until("the deletion", || async {
            let m = messages(&s, id).await;
            m[2]["body"]["markdown"].as_str().is_some_and(|t| t.contains("deleted in Slack")).then_some(())
        })
        .await;
        // A reply delivered before its root: both land on one ticket.
        let early = envelope(
            "Ev0EARLY",
            message("1700000011.000100", Some("1700000010.000100"), "U0CARLA", "Order 3307 follow-up"),
        );
        assert_eq!(post_signed(&s, &early, now_secs(), SECRET).await.0, StatusCode::OK);
        let t = until("the early reply's ticket", || slack_ticket(&s, "3307")).await;
        let late = envelope("Ev0LATE", message("1700000010.000100", None, "U0CARLA", "Order 3307 root"));
        assert_eq!(post_signed(&s, &late, now_secs(), SECRET).await.0, StatusCode::OK);
        let tid = t["id"].as_i64().expect("id");
        until("the root on the same ticket", || async { (messages(&s, tid).await.len() == 2).then_some(()) })
            .await;
        // Our own bot and other bots are ignored: no ticket, no message.
        let mut ours = message("1700000004.000100", None, "U0DESKBOT", "from us 9981");
        ours["bot_id"] = json!("B0DESKBOT");
        let mut other = message("1700000004.000200", None, "U0OTHER", "other bot 9981");
        other["subtype"] = json!("bot_message");
        other["bot_id"] = json!("B0OTHER");
        assert_eq!(post_signed(&s, &envelope("Ev0OURS", ours), now_secs(), SECRET).await.0, StatusCode::OK);
        assert_eq!(post_signed(&s, &envelope("Ev0BOT", other), now_secs(), SECRET).await.0, StatusCode::OK);
        until("the bot envelopes", || async {
            (count(&s, "SELECT COUNT(*) FROM slack_envelopes WHERE processed_at IS NULL").await == 0)
                .then_some(())
        })
        .await;
        assert!(slack_ticket(&s, "9981").await.is_none());
        assert_eq!(count(&s, "SELECT COUNT(*) FROM slack_envelopes WHERE outcome LIKE 'ignored%'").await, 2);
        s.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_of_1000_events_is_acknowledged_fast_and_processed() {
        let s = Arc::new(start_sqlite(0).await);
        configure(&s, true).await;
        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..25 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut worst = Duration::ZERO;
                for i in 0..40 {
                    let n = w * 40 + i;
                    let ts = format!("1700001000.{n:06}");
                    let e = envelope(
                        &format!("Ev1BURST{n}"),
                        message(&ts, None, &format!("U0B{}", n % 50), &format!("burst {n}")),
                    );
                    let (st, v, took) = post_signed(&s, &e, now_secs(), SECRET).await;
                    assert_eq!(st, StatusCode::OK, "{v}");
                    worst = worst.max(took);
                }
                worst
            }));
        }
        let mut worst = Duration::ZERO;
        for t in tasks {
            worst = worst.max(t.await.expect("sender"));
        }
        assert!(worst < Duration::from_secs(3), "an acknowledgement took {worst:?}");
        let acked = started.elapsed();
        let pending_at_ack =
            count(&s, "SELECT COUNT(*) FROM slack_envelopes WHERE processed_at IS NULL").await;
        until("all 1000 processed", || async {
            (count(&s, "SELECT COUNT(*) FROM slack_envelopes WHERE processed_at IS NULL").await == 0)
                .then_some(())
        })
        .await;
        assert_eq!(count(&s, "SELECT COUNT(*) FROM tickets WHERE channel = 'slack'").await, 1000);
        let res = s.http.get(format!("{}/metrics", s.base)).send().await.expect("metrics");
        assert!(res.headers()["content-type"].to_str().is_ok_and(|c| c.starts_with("text/plain")));
        let text = res.text().await.expect("metrics text");
        for line in [
            "desk_slack_envelopes_stored_total 1000",
            "desk_slack_envelopes_processed_total 1000",
            "desk_slack_envelopes_pending 0",
            "desk_outbound_jobs_pending 0",
            "desk_sse_clients 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from /metrics:\n{text}");
        }
        eprintln!(
            "1000 events acknowledged in {acked:?} (worst {worst:?}); {pending_at_ack} still queued at the last ack"
        );
    }

    type Calls = Arc<Mutex<Vec<(String, Value)>>>;

    /// A stand-in for Slack's Web API on a loopback port: records every call, answers 500 to
    /// the first `fail_first` calls, then `{"ok": true}`.
    async fn fake_slack(fail_first: usize) -> (String, Calls) {
        use axum::routing::post;
        let calls: Calls = Arc::new(Mutex::new(Vec::new()));
        let c = calls.clone();
        let app = axum::Router::new().route(
            "/api/chat.postMessage",
            post(move |headers: axum::http::HeaderMap, body: String| {
                let c = c.clone();
                async move {
                    let auth =
                        headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                    let n = {
                        let mut g = c.lock().unwrap_or_else(|p| p.into_inner());
                        g.push((auth, v));
                        g.len()
                    };
                    if n <= fail_first {
                        (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "upstream trouble".to_owned())
                    } else {
                        (
                            axum::http::StatusCode::OK,
                            json!({"ok": true, "channel": CHANNEL, "ts": format!("1700009999.{n:06}")})
                                .to_string(),
                        )
                    }
                }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake Slack");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        (format!("http://{addr}/api"), calls)
    }

    async fn start_with_slack(api: &str) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("desk.db").display());
        let mut o = options(url, 5, Clock::system());
        o.slack_api_url = api.to_owned();
        let handle = spawn(o).await.expect("server starts");
        Server { base: handle.url(), handle: Some(handle), http: http(), _dir: Some(dir) }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn public_replies_are_posted_once_with_retry_and_notes_never() {
        let (api, calls) = fake_slack(1).await;
        let s = start_with_slack(&api).await;
        configure(&s, true).await;
        let e = envelope("Ev2ROOT", message("1700002000.000100", None, "U0DAN", "Password reset 7731"));
        assert_eq!(post_signed(&s, &e, now_secs(), SECRET).await.0, StatusCode::OK);
        let t = until("the ticket", || slack_ticket(&s, "7731")).await;
        let id = t["id"].as_i64().expect("id");
        let (st, _) = s
            .send(
                ADMIN,
                Method::POST,
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"visibility": "internal", "body_markdown": "SECRET-NOTE do not share"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
        let (st, _) = s
            .send(ADMIN, Method::POST, &format!("/api/v1/tickets/{id}/messages"), json!({"visibility": "public", "body_markdown": "Hi! I **reset** it:\n\n- try again\n- tell me"}))
            .await;
        assert_eq!(st, StatusCode::CREATED);
        until("the post after one 500", || async {
            (count(&s, "SELECT COUNT(*) FROM outbound_jobs WHERE status = 'done'").await == 1).then_some(())
        })
        .await;
        let got = calls.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(got.len(), 2, "one 500, then one success: {got:?}");
        assert_eq!(got[0].1, got[1].1, "the retry sends the same message");
        let (auth, body) = &got[1];
        assert_eq!(auth, "Bearer xoxb-test-token");
        assert_eq!(body["channel"], CHANNEL);
        assert_eq!(body["thread_ts"], "1700002000.000100");
        assert_eq!(body["blocks"][0]["type"], "rich_text");
        let elements = body["blocks"][0]["elements"].as_array().expect("rich_text elements");
        assert!(elements.iter().any(|e| e["type"] == "rich_text_list"), "{body}");
        assert!(body["text"].as_str().is_some_and(|t| t.contains("reset")));
        assert!(!body.to_string().contains("SECRET-NOTE"));
        assert_eq!(count(&s, "SELECT COUNT(*) FROM outbound_jobs").await, 1, "the internal note has no job");
        assert_eq!(count(&s, "SELECT attempts FROM outbound_jobs").await, 2);
        s.stop().await;
    }

    async fn put_rules(s: &Server, rules: Value) {
        let (st, v) = s.send(ADMIN, Method::PUT, "/api/v1/auto-responders", rules).await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn auto_responders_match_conditions_once_per_ticket_and_never_answer_bots() {
        let (api, calls) = fake_slack(0).await;
        let s = start_with_slack(&api).await;
        configure(&s, false).await;
        let billing = s.team_id("Billing").await;
        let (st, v) = s
            .send(
                ADMIN,
                Method::PUT,
                "/api/v1/auto-responders",
                json!([{"name": "bad", "actions": {"reply_markdown": "{{nope}}"}}]),
            )
            .await;
        assert_eq!(
            (st, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("[0].actions.reply_markdown"))
        );
        put_rules(&s, json!([
            {"name": "refunds", "conditions": {"channels": ["slack"], "slack_channels": [CHANNEL], "team_ids": [billing], "keywords": ["refund"], "first_message_only": false},
             "actions": {"reply_markdown": "Hi {{contact.first_name}}, ticket #{{ticket.id}} is in. First reply by {{sla.first_response.due_at}}.", "add_tags": ["refund"]}},
            {"name": "urgent api", "conditions": {"channels": ["api"], "priorities": ["urgent"]},
             "actions": {"set_priority": "high", "add_tags": ["triaged"]}, "counts_as_first_response": false},
            {"name": "night", "conditions": {"outside_business_hours": true}, "actions": {"add_tags": ["after-hours"]}}
        ])).await;
        // Keyword, channel, Slack channel and team match: one auto-reply, posted to the thread.
        let e = envelope("Ev3ROOT", message("1700003000.000100", None, "U0EVE", "I need a refund for 5512"));
        assert_eq!(post_signed(&s, &e, now_secs(), SECRET).await.0, StatusCode::OK);
        let t = until("the ticket", || slack_ticket(&s, "5512")).await;
        let id = t["id"].as_i64().expect("id");
        let t = until("the auto-reply", || async {
            let t = s.get(ADMIN, &format!("/api/v1/tickets/{id}")).await;
            t["tags"].as_array().is_some_and(|a| a.iter().any(|x| x == "refund")).then_some(t)
        })
        .await;
        let msgs = messages(&s, id).await;
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[1]["author"]["kind"], "system");
        let text = msgs[1]["body"]["markdown"].as_str().unwrap_or("");
        assert!(text.starts_with(&format!("Hi Carla, ticket #{id} is in. First reply by ")), "{text}");
        assert!(!text.contains("{{"), "{text}");
        // The auto-reply does not count as the first response (the rule says so by default).
        assert!(
            t["sla"]["first_response"].is_null() || t["sla"]["first_response"]["fulfilled_at"].is_null(),
            "{}",
            t["sla"]
        );
        until("the auto-reply posted", || async {
            (calls.lock().map(|c| c.len()).unwrap_or(0) == 1).then_some(())
        })
        .await;
        // Once per ticket: another matching message in the thread gets no second reply.
        let again = envelope(
            "Ev3AGAIN",
            message("1700003001.000100", Some("1700003000.000100"), "U0EVE", "refund please!!"),
        );
        assert_eq!(post_signed(&s, &again, now_secs(), SECRET).await.0, StatusCode::OK);
        until("the reply", || async { (messages(&s, id).await.len() == 3).then_some(()) }).await;
        // Counted for the "refunds" rule (position 0) only: "night" also runs once when the
        // test happens to run outside the calendar's business hours.
        assert_eq!(
            count(
                &s,
                &format!(
                    "SELECT COUNT(*) FROM auto_responder_runs r JOIN auto_responders a ON a.id = r.rule_id \
                     WHERE r.ticket_id = {id} AND a.position = 0"
                )
            )
            .await,
            1
        );
        // Loop guard: a bot (ingested here, ignore_bots is off) never gets an auto-reply, and our
        // own auto-reply echoed back by Slack is ignored.
        let mut bot = message("1700003002.000100", None, "U0OTHERBOT", "refund bot 6620");
        bot["subtype"] = json!("bot_message");
        bot["bot_id"] = json!("B0OTHER");
        assert_eq!(post_signed(&s, &envelope("Ev3BOT", bot), now_secs(), SECRET).await.0, StatusCode::OK);
        let mut echo =
            message("1700003003.000100", Some("1700003000.000100"), "U0DESKBOT", "Hi Carla, refund");
        echo["bot_id"] = json!("B0DESKBOT");
        assert_eq!(post_signed(&s, &envelope("Ev3ECHO", echo), now_secs(), SECRET).await.0, StatusCode::OK);
        let bt = until("the bot ticket", || slack_ticket(&s, "6620")).await;
        until("all processed", || async {
            (count(&s, "SELECT COUNT(*) FROM slack_envelopes WHERE processed_at IS NULL").await == 0)
                .then_some(())
        })
        .await;
        assert_eq!(messages(&s, bt["id"].as_i64().expect("id")).await.len(), 1, "no auto-reply to a bot");
        assert_eq!(messages(&s, id).await.len(), 3, "our echo is not ingested");
        // Priority condition and actions on ticket creation through the API.
        let requester =
            s.get(ADMIN, "/api/v1/contacts?limit=1").await["items"][0]["id"].as_i64().expect("contact");
        let (st, t) = s
            .send(ADMIN, Method::POST, "/api/v1/tickets", json!({"subject": "API urgent", "requester_id": requester, "priority": "urgent", "body_markdown": "down"}))
            .await;
        assert_eq!(st, StatusCode::CREATED);
        assert_eq!(t["priority"], "high", "{t}");
        assert!(t["tags"].as_array().is_some_and(|a| a.iter().any(|x| x == "triaged")));
        let (_, t) = s
            .send(
                ADMIN,
                Method::POST,
                "/api/v1/tickets",
                json!({"subject": "API normal", "requester_id": requester, "body_markdown": "hi"}),
            )
            .await;
        assert!(!t["tags"].as_array().is_some_and(|a| a.iter().any(|x| x == "triaged")), "{t}");
        s.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn outside_business_hours_follows_the_sla_calendar() {
        let s = start_sqlite(0).await;
        // A calendar that is never open now: one minute a week, on a day other than today.
        // 1970-01-01 was a Thursday (Monday-based index 3).
        let today = (now_secs().div_euclid(86_400) + 3).rem_euclid(7) as usize;
        let other = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(today + 3) % 7];
        let (st, v) = s
            .send(ADMIN, Method::PUT, "/api/v1/sla-policies", json!([{"name": "closed", "timezone": "UTC",
                "schedule": [{"day": other, "start": "03:00", "end": "03:01"}], "targets": {"first_response_min": 60}}]))
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        put_rules(&s, json!([{"name": "night", "conditions": {"outside_business_hours": true}, "actions": {"add_tags": ["after-hours"]}}])).await;
        let requester =
            s.get(ADMIN, "/api/v1/contacts?limit=1").await["items"][0]["id"].as_i64().expect("contact");
        let (st, t) = s
            .send(
                ADMIN,
                Method::POST,
                "/api/v1/tickets",
                json!({"subject": "Night", "requester_id": requester, "body_markdown": "hello?"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{t}");
        assert!(t["tags"].as_array().is_some_and(|a| a.iter().any(|x| x == "after-hours")), "{t}");
        // Open around the clock: the rule stays quiet.
        let (st, _) = s
            .send(
                ADMIN,
                Method::PUT,
                "/api/v1/sla-policies",
                json!([{"name": "always", "targets": {"first_response_min": 60}}]),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        let (_, t) = s
            .send(
                ADMIN,
                Method::POST,
                "/api/v1/tickets",
                json!({"subject": "Day", "requester_id": requester, "body_markdown": "hello"}),
            )
            .await;
        assert!(!t["tags"].as_array().is_some_and(|a| a.iter().any(|x| x == "after-hours")), "{t}");
        // counts_as_first_response decides whether the auto-reply stops the first-response clock.
        for counts in [false, true] {
            put_rules(&s, json!([{"name": format!("ack {counts}"), "actions": {"reply_markdown": "Thanks {{contact.first_name}}!"}, "counts_as_first_response": counts}])).await;
            let (st, t) = s
                .send(ADMIN, Method::POST, "/api/v1/tickets", json!({"subject": format!("Ack {counts}"), "requester_id": requester, "body_markdown": "hi"}))
                .await;
            assert_eq!(st, StatusCode::CREATED, "{t}");
            let fr = &t["sla"]["first_response"];
            assert_eq!(fr["fulfilled_at"].is_null(), !counts, "counts_as_first_response={counts}: {fr}");
            assert_eq!(fr["state"], if counts { "achieved" } else { "active" }, "{fr}");
            let msgs = messages(&s, t["id"].as_i64().expect("id")).await;
            assert_eq!(msgs.len(), 2, "the customer's message and the auto-reply");
        }
        s.stop().await;
    }

    async fn start_at(url: &str) -> Server {
        let mut o = options(url.to_owned(), 0, Clock::system());
        o.sla_warnings = true;
        let handle = spawn(o).await.expect("server starts");
        Server { base: handle.url(), handle: Some(handle), http: http(), _dir: None }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sla_warnings_are_emitted_once_at_the_crossing_and_after_restarts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("desk.db").display());
        let s = start_at(&url).await;
        // At risk as soon as any of the one-minute budget is used.
        let (st, v) = s
            .send(
                ADMIN,
                Method::PUT,
                "/api/v1/sla-policies",
                json!([{"name": "fast", "targets": {"first_response_min": 1}, "warning": {"percent": 100}}]),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let requester =
            s.get(ADMIN, "/api/v1/contacts?limit=1").await["items"][0]["id"].as_i64().expect("contact");
        let (st, t) = s
            .send(
                ADMIN,
                Method::POST,
                "/api/v1/tickets",
                json!({"subject": "Clock", "requester_id": requester, "body_markdown": "hi"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
        let id = t["id"].as_i64().expect("id");
        until("sla.at_risk", || async {
            (count(
                &s,
                &format!("SELECT COUNT(*) FROM events WHERE kind = 'sla.at_risk' AND ticket_id = {id}"),
            )
            .await
                == 1)
                .then_some(())
        })
        .await;
        let n = count(&s, "SELECT COUNT(*) FROM notifications WHERE kind = 'sla_at_risk'").await;
        assert!(n >= 1, "team members are notified");
        // Changing the ticket reschedules it without a second warning for the same clock.
        let (st, _) =
            s.send(ADMIN, Method::PATCH, &format!("/api/v1/tickets/{id}"), json!({"add_tags": ["x"]})).await;
        assert_eq!(st, StatusCode::OK);
        let (st, _) =
            s.send(ADMIN, Method::PATCH, &format!("/api/v1/tickets/{id}"), json!({"add_tags": ["y"]})).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(
            count(
                &s,
                &format!("SELECT COUNT(*) FROM events WHERE kind = 'sla.at_risk' AND ticket_id = {id}")
            )
            .await,
            1
        );
        assert_eq!(count(&s, &format!("SELECT COUNT(*) FROM sla_warnings WHERE ticket_id = {id}")).await, 1);
        s.stop().await;
        // After a restart the scheduler loads the running clocks again: no second warning.
        let s = start_at(&url).await;
        let (_, t2) = s
            .send(
                ADMIN,
                Method::POST,
                "/api/v1/tickets",
                json!({"subject": "Clock 2", "requester_id": requester, "body_markdown": "hi"}),
            )
            .await;
        let id2 = t2["id"].as_i64().expect("id");
        until("the new ticket's warning", || async {
            (count(
                &s,
                &format!("SELECT COUNT(*) FROM events WHERE kind = 'sla.at_risk' AND ticket_id = {id2}"),
            )
            .await
                == 1)
                .then_some(())
        })
        .await;
        assert_eq!(
            count(
                &s,
                &format!("SELECT COUNT(*) FROM events WHERE kind = 'sla.at_risk' AND ticket_id = {id}")
            )
            .await,
            1
        );
        s.stop().await;
    }

    /// A `desk serve` child process on `db`; killed on drop.
    struct Child(std::process::Child);
    impl Drop for Child {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn serve_process(db: &str) -> (Child, Server) {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let mut child = Command::new(env!("CARGO_BIN_EXE_desk"))
            .args(["serve", "--db", db, "--bind", "127.0.0.1:0", "--rate-limit", "0"])
            .env("DESK_BOOTSTRAP_TOKEN", ADMIN)
            .env("DESK_LOG", "warn")
            .stderr(Stdio::piped())
            .spawn()
            .expect("desk serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = lines.next().expect("a line").expect("readable");
            if let Some(u) = line.strip_prefix("desk serve: listening on ") {
                break u.to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        (Child(child), Server { handle: None, base: url, http: http(), _dir: None })
    }

    async fn pg_count(db: &str, sql: &str) -> i64 {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(db).await.expect("connect");
        let (n,): (i64,) =
            sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut c).await.expect("count");
        n
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_two_processes_emit_one_warning_and_share_events_and_slack_work() {
        let Some(db) = fresh_postgres().await else { return };
        let (_pa, sa) = serve_process(&db);
        let (_pb, sb) = serve_process(&db);
        let team = sa.get(ADMIN, "/api/v1/teams").await;
        if team["items"].as_array().is_none_or(|a| a.is_empty()) {
            let (st, v) = sa.send(ADMIN, Method::POST, "/api/v1/teams", json!({"name": "Billing"})).await;
            assert_eq!(st, StatusCode::CREATED, "{v}");
        }
        let (st, v) = sa
            .send(
                ADMIN,
                Method::PUT,
                "/api/v1/sla-policies",
                json!([{"name": "fast", "targets": {"first_response_min": 1}, "warning": {"percent": 100}}]),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        configure(&sa, true).await;
        // SSE clients on both instances.
        let mut on_a = open_events(&sa, ADMIN, None).await;
        let mut on_b = open_events(&sb, ADMIN, None).await;
        let (mut buf_a, mut buf_b) = (String::new(), String::new());
        // A Slack event through A; its Slack retry lands on B and is stored once.
        let e = envelope("Ev4PG", message("1700004000.000100", None, "U0PG", "Postgres 8181"));
        assert_eq!(post_signed(&sa, &e, now_secs(), SECRET).await.0, StatusCode::OK);
        assert_eq!(post_signed(&sb, &e, now_secs(), SECRET).await.0, StatusCode::OK);
        let got = read_events(&mut on_b, &mut buf_b, 1).await;
        assert_eq!(got[0].1, "ticket.created", "B sees the ticket A's worker (or its own) opened");
        let id = got[0].2["ticket_id"].as_i64().expect("ticket id");
        // Written through B, seen on A.
        let (st, _) = sb
            .send(ADMIN, Method::PATCH, &format!("/api/v1/tickets/{id}"), json!({"add_tags": ["via-b"]}))
            .await;
        assert_eq!(st, StatusCode::OK);
        // read_events fails after 10 s without an event, so these loops end.
        loop {
            let e = read_events(&mut on_a, &mut buf_a, 1).await.remove(0);
            if e.1 == "ticket.updated" && e.2["data"]["changes"].to_string().contains("via-b") {
                break;
            }
        }
        // Both schedulers see the clock cross; the UNIQUE row lets exactly one emit.
        let q = format!("SELECT COUNT(*) FROM events WHERE kind = 'sla.at_risk' AND ticket_id = {id}");
        until("sla.at_risk", || async { (pg_count(&db, &q).await >= 1).then_some(()) }).await;
        // Nudge both schedulers to look at the ticket again.
        let (st, _) = sa
            .send(ADMIN, Method::PATCH, &format!("/api/v1/tickets/{id}"), json!({"add_tags": ["via-a"]}))
            .await;
        assert_eq!(st, StatusCode::OK);
        loop {
            let e = read_events(&mut on_b, &mut buf_b, 1).await.remove(0);
            if e.1 == "ticket.updated" && e.2["data"]["changes"].to_string().contains("via-a") {
                break;
            }
        }
        assert_eq!(pg_count(&db, &q).await, 1);
        assert_eq!(pg_count(&db, "SELECT COUNT(*) FROM slack_envelopes").await, 1);
        assert_eq!(pg_count(&db, "SELECT COUNT(*) FROM tickets WHERE channel = 'slack'").await, 1);
    }

    /// Ingestion throughput (docs/performance.md): N signed events posted by 32 concurrent
    /// senders; reports events/s stored (acknowledged) and events/s processed (converted to
    /// tickets and messages), on SQLite and, with DESK_TEST_POSTGRES_URL, on PostgreSQL.
    /// Run: `cargo test --release --test api slack::ingestion_throughput -- --ignored --nocapture`
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a benchmark: run explicitly with --ignored --nocapture"]
    async fn ingestion_throughput() {
        let n: usize = std::env::var("DESK_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(5000);
        let dir = tempfile::tempdir().expect("temp dir");
        let mut targets = vec![("sqlite", format!("sqlite://{}", dir.path().join("bench.db").display()))];
        if let Some(pg) = fresh_postgres().await {
            targets.push(("postgres", pg));
        }
        for (name, url) in targets {
            let mut o = options(url, 0, Clock::system());
            o.demo = None;
            let handle = spawn(o).await.expect("server starts");
            let s = Arc::new(Server { base: handle.url(), handle: Some(handle), http: http(), _dir: None });
            let (st, v) = s.send(ADMIN, Method::POST, "/api/v1/teams", json!({"name": "Billing"})).await;
            assert_eq!(st, StatusCode::CREATED, "{v}");
            configure(&s, true).await;
            // A realistic message: rich_text with styles, a list, a mention and a link.
            let started = Instant::now();
            let senders = 32;
            let mut tasks = Vec::new();
            for w in 0..senders {
                let s = s.clone();
                tasks.push(tokio::spawn(async move {
                    let mut i = w;
                    while i < n {
                        let ts = format!("1700100000.{i:06}");
                        let mut m = message(&ts, if i % 4 == 3 { Some("1700100000.000000") } else { None }, &format!("U0N{}", i % 200), &format!("Order {i} failed"));
                        m["blocks"][0]["elements"].as_array_mut().expect("elements").push(json!({"type": "rich_text_list", "style": "bullet", "indent": 0, "elements": [
                            {"type": "rich_text_section", "elements": [{"type": "text", "text": "checked "}, {"type": "link", "url": "https://status.example.com", "text": "status"}]},
                            {"type": "rich_text_section", "elements": [{"type": "user", "user_id": "U0AGENT"}, {"type": "text", "text": " please look", "style": {"italic": true}}]}
                        ]}));
                        let (st, _, _) = post_signed(&s, &envelope(&format!("EvBench{i}"), m), now_secs(), SECRET).await;
                        assert_eq!(st, StatusCode::OK);
                        i += senders;
                    }
                }));
            }
            for t in tasks {
                t.await.expect("sender");
            }
            let stored = started.elapsed();
            let deadline = Instant::now() + Duration::from_secs(600);
            while count(&s, "SELECT COUNT(*) FROM slack_envelopes WHERE processed_at IS NULL").await > 0 {
                assert!(Instant::now() < deadline, "processing did not finish");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let processed = started.elapsed();
            let msgs = count(&s, "SELECT COUNT(*) FROM messages").await;
            eprintln!(
                "{name}: {n} events stored in {:.2} s ({:.0} events/s acknowledged); all processed after {:.2} s ({:.0} events/s stored and converted); {msgs} messages",
                stored.as_secs_f64(),
                n as f64 / stored.as_secs_f64(),
                processed.as_secs_f64(),
                n as f64 / processed.as_secs_f64()
            );
            if let Ok(s) = Arc::try_unwrap(s) {
                s.stop().await;
            }
        }
    }
}

// ---------------------------------------------------------------- idempotency races, presence expiry

mod live {
    use super::*;
    use desk::server::store::workspace::{self, Claim};
    use sha2::Digest;

    /// One POST with an Idempotency-Key: `(status, replayed, body)`.
    async fn post_keyed(s: &Server, path: &str, key: &str, body: &Value) -> (StatusCode, bool, Value) {
        let res = s
            .http
            .post(format!("{}{path}", s.base))
            .bearer_auth(ADMIN)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("request sent");
        let status = res.status();
        let replayed = res.headers().get("idempotent-replayed").is_some();
        let retry_after = res.headers().get("retry-after").is_some();
        let v: Value = res.json().await.expect("JSON body");
        if v["error"]["code"] == "request_in_progress" {
            assert!(retry_after, "409 request_in_progress carries Retry-After");
        }
        (status, replayed, v)
    }

    /// Fires `n` identical POSTs at once (spread over `servers`) and checks that exactly one
    /// ran: every answer is the first one's 201 (replayed) or 409 `request_in_progress`.
    /// Returns the created resource.
    async fn race(servers: &[&Server], path: &str, key: &str, body: Value, n: usize) -> Value {
        let body = &body;
        let answers = futures::future::join_all(
            (0..n).map(|i| async move { post_keyed(servers[i % servers.len()], path, key, body).await }),
        )
        .await;
        let created: Vec<&(StatusCode, bool, Value)> =
            answers.iter().filter(|a| a.0 == StatusCode::CREATED).collect();
        for a in &answers {
            assert!(
                a.0 == StatusCode::CREATED
                    || (a.0 == StatusCode::CONFLICT && a.2["error"]["code"] == "request_in_progress"),
                "{path}: unexpected answer {} {}",
                a.0,
                a.2
            );
        }
        assert!(!created.is_empty(), "{path}: no request succeeded: {answers:?}");
        let first = &created[0].2;
        assert!(created.iter().all(|a| &a.2 == first), "{path}: every 201 is the same response");
        assert_eq!(created.iter().filter(|a| !a.1).count(), 1, "{path}: exactly one 201 is not a replay");
        first.clone()
    }

    async fn scenario_concurrent_duplicates(servers: &[&Server]) {
        let s = servers[0];
        let tag = hex::encode(rand::random::<[u8; 4]>());
        let requester =
            s.get(ADMIN, "/api/v1/contacts?limit=1").await["items"][0]["id"].as_i64().expect("contact");
        let subject = format!("Race {tag}");
        let body = json!({"subject": subject, "requester_id": requester, "body_markdown": "once"});
        let t = race(servers, "/api/v1/tickets", &format!("t-{tag}"), body, 20).await;
        let found = s.get(ADMIN, &format!("/api/v1/tickets?q=Race%20{tag}&limit=50")).await;
        assert_eq!(ids(&found), vec![t["id"].as_i64().expect("id")], "exactly one ticket exists");
        // A late retry replays too.
        let late = post_keyed(
            s,
            "/api/v1/tickets",
            &format!("t-{tag}"),
            &json!({"subject": subject, "requester_id": requester, "body_markdown": "once"}),
        )
        .await;
        assert_eq!((late.0, late.1, &late.2), (StatusCode::CREATED, true, &t));
        // Messages: exactly one reply with this text.
        let path = format!("/api/v1/tickets/{}/messages", t["id"]);
        let text = format!("reply {tag}");
        let m = race(
            servers,
            &path,
            &format!("m-{tag}"),
            json!({"visibility": "public", "body_markdown": text}),
            20,
        )
        .await;
        let msgs = s.get(ADMIN, &format!("{path}?limit=200")).await;
        let same: Vec<&Value> = msgs["items"]
            .as_array()
            .expect("messages")
            .iter()
            .filter(|x| x["body"]["markdown"].as_str().is_some_and(|b| b.contains(&text)))
            .collect();
        assert_eq!(same.len(), 1, "exactly one message: {msgs}");
        assert_eq!(same[0]["id"], m["id"]);
        // The same key with another body is still 422.
        let (st, _, e) = post_keyed(
            s,
            &path,
            &format!("m-{tag}"),
            &json!({"visibility": "public", "body_markdown": "other"}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e["error"]["code"], "idempotency_key_reused");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_concurrent_duplicates_create_once() {
        let s = start_sqlite(10).await;
        scenario_concurrent_duplicates(&[&s]).await;
        s.stop().await;
    }

    /// Two instances on one PostgreSQL database, the duplicates spread over both.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_concurrent_duplicates_create_once_across_instances() {
        let Some((a, url)) = start_postgres(10).await else {
            eprintln!("DESK_TEST_POSTGRES_URL is not set; skipping");
            return;
        };
        let hb = spawn(options(url.clone(), 10, Clock::system())).await.expect("second instance starts");
        let b = Server { base: hb.url(), handle: Some(hb), http: http(), _dir: None };
        scenario_concurrent_duplicates(&[&a, &b]).await;
        b.stop().await;
        a.stop().await;
        drop_postgres(&url).await;
    }

    /// A request that died after reserving its key: the key is blocked only for the lease, and
    /// a request that died after writing is never run again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dead_request_blocks_its_key_only_for_the_lease() {
        let start = jiff::Timestamp::from_second(1_800_000_000).expect("ts");
        let clock = Clock::fixed(start);
        let s = start_sqlite_with(10, clock.clone()).await;
        let store = s.handle.as_ref().expect("in-process").store().clone();
        let requester =
            s.get(ADMIN, "/api/v1/contacts?limit=1").await["items"][0]["id"].as_i64().expect("contact");
        let body = json!({"subject": "Lease", "requester_id": requester});
        let (st, _, first) = post_keyed(&s, "/api/v1/tickets", "lease-1", &body).await;
        assert_eq!(st, StatusCode::CREATED);
        let key = hex::encode(sha2::Sha256::digest(b"lease-1"));
        // Turn the stored row back into a reservation nobody will finish (a crash before writing).
        let done = sqlx::query("UPDATE idempotency SET status = 0, response = 'dead' WHERE idem_key = $1")
            .bind(&key)
            .execute(store.pool())
            .await
            .expect("update");
        assert_eq!(done.rows_affected(), 1);
        clock.set(start + jiff::SignedDuration::from_secs(61));
        let (st, replayed, again) = post_keyed(&s, "/api/v1/tickets", "lease-1", &body).await;
        assert_eq!(
            (st, replayed),
            (StatusCode::CREATED, false),
            "the expired reservation is taken over: {again}"
        );
        assert_ne!(again["id"], first["id"], "it ran (the dead one never wrote)");
        // A reservation whose request wrote (applied) and died is never run again.
        sqlx::query("UPDATE idempotency SET status = 1, response = 'dead' WHERE idem_key = $1")
            .bind(&key)
            .execute(store.pool())
            .await
            .expect("update");
        clock.set(start + jiff::SignedDuration::from_secs(200));
        let (st, _, e) = post_keyed(&s, "/api/v1/tickets", "lease-1", &body).await;
        assert_eq!((st, e["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{e}");
        let n = s.get(ADMIN, "/api/v1/tickets?q=Lease&limit=50").await;
        assert_eq!(ids(&n).len(), 2, "the applied request did not run again");
        s.stop().await;
    }

    /// A request whose key was taken over cannot commit its write afterwards.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_that_lost_its_key_cannot_commit() {
        let start = jiff::Timestamp::from_second(1_800_000_000).expect("ts");
        let s = start_sqlite_with(0, Clock::fixed(start)).await;
        let store = s.handle.as_ref().expect("in-process").store().clone();
        let Claim::Owned(slow) =
            workspace::idempotent_claim(&store, 1, "k", "fp", start).await.expect("claim")
        else {
            panic!("a fresh key is owned");
        };
        let later = start + jiff::SignedDuration::from_secs(61);
        let Claim::Owned(retry) =
            workspace::idempotent_claim(&store, 1, "k", "fp", later).await.expect("claim")
        else {
            panic!("an expired reservation is taken over");
        };
        assert_ne!(slow.owner, retry.owner);
        let write = |claim: workspace::IdemClaim| {
            let store = store.clone();
            workspace::IDEMPOTENCY_CLAIM.scope(claim, async move {
                let mut tx = store.write().await?;
                sqlx::query("INSERT INTO meta (meta_key, value) VALUES ('probe', 'x') ON CONFLICT (meta_key) DO NOTHING")
                    .execute(tx.conn())
                    .await?;
                tx.commit(&store).await
            })
        };
        let e = write(slow).await.expect_err("the slow request's commit is refused");
        assert_eq!(e.code, desk::model::ErrorCode::RequestInProgress);
        let probe: Option<(String,)> = sqlx::query_as("SELECT value FROM meta WHERE meta_key = 'probe'")
            .fetch_optional(store.pool())
            .await
            .expect("select");
        assert!(probe.is_none(), "nothing was written");
        write(retry).await.expect("the owner commits");
        s.stop().await;
    }

    /// Presence that lapses or is cleared reaches the other agents over SSE as `state: left`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn presence_expiry_and_clearing_are_announced_over_sse() {
        let (s, clock, start, tid, ben) = presence_fixture().await;
        let mut stream = open_events(&s, &ben, None).await;
        let mut buf = String::new();
        let path = format!("/api/v1/tickets/{tid}/presence");
        let (st, _) = s.send(ADMIN, Method::POST, &path, json!({"state": "replying"})).await;
        assert_eq!(st, StatusCode::OK);
        let ev = read_events(&mut stream, &mut buf, 1).await;
        assert_eq!(ev[0].1, "presence.changed");
        assert_eq!(ev[0].2["data"]["state"], "replying");
        assert_eq!(ev[0].2["data"]["items"][0]["state"], "replying", "the event carries the list");
        // 31 s without a renewal: the sweep announces the expiry.
        clock.set(start + jiff::SignedDuration::from_secs(31));
        let ev = read_events(&mut stream, &mut buf, 1).await;
        assert_eq!(ev[0].1, "presence.changed");
        assert_eq!(ev[0].2["ticket_id"], tid);
        assert_eq!(ev[0].2["data"]["state"], "left");
        assert_eq!(ev[0].2["data"]["reason"], "expired");
        assert_eq!(ev[0].2["data"]["items"], json!([]));
        let list: desk::model::PresenceList =
            serde_json::from_value(ev[0].2["data"].clone()).expect("the console reads the event as a list");
        assert!(list.items.is_empty());
        // Back, then an explicit clear.
        let (st, _) = s.send(ADMIN, Method::POST, &path, json!({"state": "viewing"})).await;
        assert_eq!(st, StatusCode::OK);
        let ev = read_events(&mut stream, &mut buf, 1).await;
        assert_eq!(ev[0].2["data"]["state"], "viewing");
        let (st, left) = s.call(Some(ADMIN), Method::DELETE, &path, None).await;
        assert_eq!(st, StatusCode::OK, "{left}");
        assert_eq!(left["items"], json!([]));
        let ev = read_events(&mut stream, &mut buf, 1).await;
        assert_eq!(
            (ev[0].2["data"]["state"].as_str(), ev[0].2["data"]["reason"].as_str()),
            (Some("left"), Some("cleared"))
        );
        // Clearing again is quiet: the next event is the marker below, not a second "left".
        let (st, _) = s.call(Some(ADMIN), Method::DELETE, &path, None).await;
        assert_eq!(st, StatusCode::OK);
        let (st, _) = s
            .send(ADMIN, Method::PATCH, &format!("/api/v1/tickets/{tid}"), json!({"add_tags": ["marker"]}))
            .await;
        assert_eq!(st, StatusCode::OK);
        let ev = read_events(&mut stream, &mut buf, 1).await;
        assert_eq!(ev[0].1, "ticket.updated");
        drop(stream);
        s.stop().await;
    }

    /// Two instances on one PostgreSQL database both sweep; an expiry is announced once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_presence_expiry_is_announced_once_across_instances() {
        let Some(url) = fresh_postgres().await else {
            eprintln!("DESK_TEST_POSTGRES_URL is not set; skipping");
            return;
        };
        let start = jiff::Timestamp::from_second(1_800_000_000).expect("ts");
        let clock = Clock::fixed(start);
        let ha = spawn(options(url.clone(), 10, clock.clone())).await.expect("first instance");
        let hb = spawn(options(url.clone(), 10, clock.clone())).await.expect("second instance");
        let a = Server { base: ha.url(), handle: Some(ha), http: http(), _dir: None };
        let b = Server { base: hb.url(), handle: Some(hb), http: http(), _dir: None };
        let tid = ids(&a.get(ADMIN, "/api/v1/tickets?limit=1").await)[0];
        let mut stream = open_events(&b, ADMIN, None).await;
        let mut buf = String::new();
        let (st, _) = a
            .send(
                ADMIN,
                Method::POST,
                &format!("/api/v1/tickets/{tid}/presence"),
                json!({"state": "viewing"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(read_events(&mut stream, &mut buf, 1).await[0].2["data"]["state"], "viewing");
        clock.set(start + jiff::SignedDuration::from_secs(31));
        let ev = read_events(&mut stream, &mut buf, 1).await;
        assert_eq!(ev[0].2["data"]["state"], "left");
        // Both instances swept at least twice since; a marker event closes the window.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let (st, _) = a
            .send(ADMIN, Method::PATCH, &format!("/api/v1/tickets/{tid}"), json!({"add_tags": ["marker"]}))
            .await;
        assert_eq!(st, StatusCode::OK);
        let ev = read_events(&mut stream, &mut buf, 1).await;
        assert_eq!(ev[0].1, "ticket.updated", "no second `left` for the same expiry: {ev:?}");
        drop(stream);
        b.stop().await;
        a.stop().await;
        drop_postgres(&url).await;
    }
}
