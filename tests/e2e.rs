//! End to end: the real `desk` binary in tmux against a real `desk serve` with demo data.
//! Opens the console, moves through a view, filters, opens a ticket, assigns it, replies,
//! then checks through the API that the reply was stored once and that the screen shows it.
//!
//! The binary is `DESK_E2E_BIN` when set (`.ci/run` points it at the release build), else
//! the one cargo built for this test. Without tmux the test prints a note and passes, unless
//! `CI=true`, where a missing tmux is a failure.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "e2e-token-9f8e7d6c5b4a";

fn binary() -> PathBuf {
    std::env::var_os("DESK_E2E_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_desk")))
}

/// A private tmux server (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    fn send(&self, keys: &[&str]) {
        let status = self.cmd().args(["send-keys", "-t", "desk"]).args(keys).status().unwrap();
        assert!(status.success());
    }

    fn send_text(&self, text: &str) {
        let status = self.cmd().args(["send-keys", "-t", "desk", "-l", text]).status().unwrap();
        assert!(status.success());
    }

    fn capture(&self) -> String {
        let out = self.cmd().args(["capture-pane", "-p", "-t", "desk"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen satisfies `pred` (the console redraws on its own schedule).
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn alive(&self) -> bool {
        self.cmd()
            .args(["has-session", "-t", "desk"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").stderr(Stdio::null()).status();
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(dir: &std::path::Path) -> (Server, String) {
    let mut child = Command::new(binary())
        .args(["serve", "--bind", "127.0.0.1:0", "--demo-size", "300", "--rate-limit", "0"])
        .arg("--db")
        .arg(format!("sqlite://{}", dir.join("server.db").display()))
        .env("DESK_BOOTSTRAP_TOKEN", TOKEN)
        .env("DESK_DATA_DIR", dir.join("server-data"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run desk serve");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let Some(Ok(line)) = lines.next() else { panic!("desk serve exited before listening") };
        if let Some(url) = line.split("listening on ").nth(1) {
            break url.trim().to_string();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Server(child), url)
}

fn api(url: &str, path: &str) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let resp = client
            .get(format!("{url}/api/v1/{path}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.unwrap()
    })
}

#[test]
fn console_in_tmux_against_desk_serve() {
    if Command::new("tmux").arg("-V").output().is_err() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("tmux is required on CI for the end-to-end test");
        }
        eprintln!("note: tmux is not installed; skipping the end-to-end console test");
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = start_server(dir.path());

    let tmux = Tmux { socket: format!("desk-e2e-{}", std::process::id()) };
    let d = dir.path();
    let console = format!(
        "env DESK_SERVER={url} DESK_TOKEN={TOKEN} DESK_CONFIG_DIR={c} DESK_DATA_DIR={data} DESK_STATE_DIR={s} TERM=xterm-256color {bin}",
        c = d.join("config").display(),
        data = d.join("data").display(),
        s = d.join("state").display(),
        bin = binary().display(),
    );
    let status = tmux
        .cmd()
        .args(["new-session", "-d", "-s", "desk", "-x", "160", "-y", "45"])
        .arg(console)
        .status()
        .unwrap();
    assert!(status.success());

    // Open: tabs with counts, the queue, the live connection.
    tmux.wait_for("the console to connect", |s| s.contains("● live") && s.contains(" 2 "));
    // Move to the Unassigned view and through it.
    tmux.send(&["2"]);
    let screen = tmux.wait_for("the unassigned view", |s| s.contains("Unassigned") && s.contains("▶ #"));
    tmux.send(&["j", "j", "k"]);
    tmux.wait_for("the cursor to move", |s| s != screen);

    // Filter by a word of the selected subject.
    let screen = tmux.capture();
    let row = screen.lines().find(|l| l.contains("▶ #")).expect("a selected row").to_string();
    let id: i64 = row
        .split("▶ #")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    let ticket = api(&url, &format!("tickets/{id}"));
    let subject = ticket["subject"].as_str().unwrap().to_string();
    let word = subject.split_whitespace().max_by_key(|w| w.len()).unwrap().to_string();
    tmux.send(&["/"]);
    tmux.send_text(&word);
    tmux.wait_for("the filter line", |s| s.contains(&format!("/ {word}")));
    tmux.send(&["Enter"]);
    // The same ticket stays selected through the filter; open it.
    tmux.wait_for("the selected ticket after filtering", |s| s.contains(&format!("▶ #{id} ")));
    tmux.send(&["Enter"]);
    tmux.wait_for("the conversation", |s| s.contains(&format!("#{id} ")) && s.contains("Contact"));

    // Assign to me.
    let me = api(&url, "me");
    let my_id = me["agent"]["id"].as_i64().unwrap();
    tmux.send(&["a"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while api(&url, &format!("tickets/{id}"))["assignee_id"].as_i64() != Some(my_id) {
        assert!(Instant::now() < deadline, "ticket #{id} was not assigned");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Reply.
    let reply = format!("E2E reply on {id}: the VAT fix is live");
    tmux.send(&["r"]);
    tmux.wait_for("the reply editor", |s| s.contains("PUBLIC REPLY"));
    tmux.send_text(&reply);
    tmux.send(&["C-s"]);
    tmux.wait_for("the reply on screen", |s| s.contains(&reply) && !s.contains("PUBLIC REPLY"));
    let messages = api(&url, &format!("tickets/{id}/messages?limit=200"));
    let stored: Vec<_> = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["body"]["markdown"].as_str().is_some_and(|b| b.contains(&reply)))
        .collect();
    assert_eq!(stored.len(), 1, "the reply is stored exactly once");
    assert_eq!(stored[0]["visibility"], "public");

    // Quit: back out of the panes, then q on the queue ends the process.
    tmux.send(&["q", "q", "q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tmux.alive() {
        assert!(Instant::now() < deadline, "the console did not exit on q");
        std::thread::sleep(Duration::from_millis(50));
    }
}
