//! SSE delivery to many streams (DESIGN §10: an event reaches a subscribed client within
//! 50 ms p99; 1,000 idle streams cost under 100 MB).
//!
//! Starts `desk serve` (the release binary next to this bench, on a temp SQLite file with a
//! small demo workspace) or uses a running one, opens N streams as raw sockets, reads the
//! server's RSS with them idle, then sends R `PATCH`es one after the other and records for
//! every stream when the frame of each arrived.
//!
//! Each stream is one tokio task that timestamps a frame as soon as `read` returns it, so the
//! client adds a wake-up and a substring search per stream, not a parse. Reported, over all
//! R x N arrivals: `send_to_frame` (from just before the PATCH is sent: write transaction,
//! commit, fan-out and delivery), `first_to_frame` (from the first stream's arrival in that
//! round: the fan-out spread alone, independent of the write path) and the PATCH's own time.
//!
//! Run: `cargo bench --bench sse` (knobs: DESK_BENCH_SSE streams, 1000; DESK_BENCH_SSE_ROUNDS,
//! 30; DESK_BENCH_SERVER_BIN, another `desk` binary to compare). Against a running server:
//! DESK_BENCH_SSE_URL, DESK_BENCH_TOKEN, DESK_BENCH_PID (for RSS) and DESK_BENCH_TICKET.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

const MARK: &[u8] = b"tag added: bench-";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(name: &str, mut xs: Vec<f64>) -> String {
    xs.sort_by(f64::total_cmp);
    format!(
        "{name}: n={} p50={:.2} p99={:.2} max={:.2} ms",
        xs.len(),
        pct(&xs, 50.0),
        pct(&xs, 99.0),
        xs.last().copied().unwrap_or(f64::NAN)
    )
}

/// A `desk serve` this bench started; stopped on drop.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(bin: &str, dir: &std::path::Path, token: &str, streams: usize) -> (Served, String) {
    let db = format!("sqlite://{}", dir.join("desk.db").display());
    let mut child = Command::new(bin)
        .args(["serve", "--db", &db, "--bind", "127.0.0.1:0", "--demo-size", "1000", "--rate-limit", "0"])
        .args(["--max-streams-per-token", &(streams + 10).to_string()])
        .env("DESK_BOOTSTRAP_TOKEN", token)
        .env("DESK_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(u) = line.strip_prefix("desk serve: listening on ") {
                    break u.to_owned();
                }
            }
            _ => panic!("desk serve exited before listening"),
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Served(child), url)
}

/// Opens one stream and follows it, sending `(stream, round, arrival)` for each bench frame.
async fn follow(
    addr: String,
    token: String,
    idx: usize,
    ready: mpsc::UnboundedSender<()>,
    tx: mpsc::UnboundedSender<(usize, u32, Instant)>,
) {
    let mut sock = TcpStream::connect(&addr).await.unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    let _ = sock.set_nodelay(true);
    let req = format!(
        "GET /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    sock.write_all(req.as_bytes()).await.expect("request written");
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 16 * 1024];
    let mut head_done = false;
    loop {
        let n = match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let at = Instant::now();
        buf.extend_from_slice(&chunk[..n]);
        if !head_done {
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            let status = String::from_utf8_lossy(&buf[..buf.iter().position(|&b| b == b'\r').unwrap_or(0)])
                .into_owned();
            assert!(status.contains(" 200 "), "stream {idx}: {status}");
            buf.drain(..end + 4);
            head_done = true;
            let _ = ready.send(());
        }
        let mut from = 0;
        while let Some(p) = buf[from..].windows(MARK.len()).position(|w| w == MARK) {
            let start = from + p + MARK.len();
            let digits: Vec<u8> = buf[start..].iter().take_while(|b| b.is_ascii_digit()).copied().collect();
            if start + digits.len() >= buf.len() {
                break; // the round number may continue in the next read
            }
            if let Ok(round) = String::from_utf8_lossy(&digits).parse::<u32>() {
                let _ = tx.send((idx, round, at));
            }
            from = start + digits.len();
        }
        // Keep a tail that may hold the start of a marker split across reads.
        let keep_from = from.max(buf.len().saturating_sub(MARK.len() + 12));
        buf.drain(..keep_from);
    }
}

fn main() {
    let streams: usize = env_or("DESK_BENCH_SSE", 1000);
    let rounds: u32 = env_or("DESK_BENCH_SSE_ROUNDS", 30);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let external = std::env::var("DESK_BENCH_SSE_URL").ok().filter(|u| !u.is_empty());
    let (served, base, token, pid) = match external {
        Some(url) => {
            let token = std::env::var("DESK_BENCH_TOKEN").expect("DESK_BENCH_TOKEN with DESK_BENCH_SSE_URL");
            let pid = env_or::<u32>("DESK_BENCH_PID", 0);
            (None, url, token, pid)
        }
        None => {
            let bin =
                std::env::var("DESK_BENCH_SERVER_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_desk").into());
            let token = format!("bench-{}", std::process::id());
            let (s, url) = start_server(&bin, dir.path(), &token, streams);
            let pid = s.0.id();
            (Some(s), url, token, pid)
        }
    };
    let addr = base.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("HTTP client");
    rt.block_on(async {
        let ticket: i64 = match std::env::var("DESK_BENCH_TICKET").ok().and_then(|t| t.parse().ok()) {
            Some(t) => t,
            None => {
                let page: serde_json::Value = http
                    .get(format!("{base}/api/v1/tickets?limit=1"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("list tickets")
                    .json()
                    .await
                    .expect("JSON");
                page["items"][0]["id"].as_i64().expect("a ticket to patch")
            }
        };
        let before = rss_kib(pid);
        let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..streams {
            tokio::spawn(follow(addr.clone(), token.clone(), i, ready_tx.clone(), tx.clone()));
            if i % 100 == 99 {
                tokio::time::sleep(Duration::from_millis(20)).await; // do not flood the accept queue
            }
        }
        for _ in 0..streams {
            tokio::time::timeout(Duration::from_secs(30), ready_rx.recv())
                .await
                .expect("every stream opens within 30 s")
                .expect("stream task alive");
        }
        tokio::time::sleep(Duration::from_secs(2)).await; // let allocations settle
        let with = rss_kib(pid);
        if let (Some(b), Some(w)) = (before, with) {
            println!(
                "sse_streams={streams} rss_before_kib={b} rss_with_streams_kib={w} delta_mib={:.1} total_mib={:.1}",
                (w as f64 - b as f64) / 1024.0,
                w as f64 / 1024.0
            );
        }
        let nonce = std::process::id();
        let (mut send_to_frame, mut first_to_frame, mut patch_ms) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..rounds {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let t0 = Instant::now();
            let res = http
                .patch(format!("{base}/api/v1/tickets/{ticket}"))
                .bearer_auth(&token)
                .json(&serde_json::json!({"add_tags": [format!("bench-{r}-{nonce}")]}))
                .send()
                .await
                .expect("PATCH sent");
            assert!(res.status().is_success(), "PATCH: {}", res.status());
            patch_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
            let mut arrivals = Vec::with_capacity(streams);
            while arrivals.len() < streams {
                let (_, round, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                    .await
                    .expect("every stream gets the event within 10 s")
                    .expect("stream tasks alive");
                if round == r {
                    arrivals.push(at);
                }
            }
            let first = arrivals.iter().min().copied().unwrap_or(t0);
            for a in arrivals {
                send_to_frame.push(a.duration_since(t0).as_secs_f64() * 1000.0);
                first_to_frame.push(a.duration_since(first).as_secs_f64() * 1000.0);
            }
        }
        println!("rounds={rounds} clients={streams}");
        println!("{}", summary("send_to_frame", send_to_frame));
        println!("{}", summary("first_to_frame", first_to_frame));
        println!("{}", summary("patch_response", patch_ms));
    });
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average: {}", l.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    }
    drop(served);
}
