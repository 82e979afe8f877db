//! The scripting CLI against a real `desk serve` (DESIGN §11 layer 5): every subcommand,
//! its stdout, stderr and exit code, on an ephemeral port with a temp SQLite database and
//! temp config/data/state directories.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use predicates::prelude::*;
use predicates::str::contains;

const BIN: &str = env!("CARGO_BIN_EXE_desk");
const TOKEN: &str = "cli-test-bootstrap-token-0123456789";

fn free_port() -> u16 {
    // Bind to port 0, read the port, drop the listener: the port is free for the server.
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `desk serve` child process; killed on drop.
struct Server {
    child: Option<Child>,
    port: u16,
    db: PathBuf,
    extra: Vec<String>,
}

impl Server {
    fn start(dir: &Path) -> Server {
        Self::start_with(dir, &[])
    }

    fn start_with(dir: &Path, extra: &[&str]) -> Server {
        let extra = extra.iter().map(|s| s.to_string()).collect();
        let mut s = Server { child: None, port: free_port(), db: dir.join("desk.db"), extra };
        s.spawn();
        s
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new(BIN)
            .args(["serve", "--bind", &format!("127.0.0.1:{}", self.port)])
            .args(["--db", &format!("sqlite://{}", self.db.display())])
            .args(["--demo", "--demo-size", "50", "--bootstrap-token", TOKEN])
            .args(&self.extra)
            .env("DESK_DATA_DIR", self.db.parent().unwrap())
            .env("DESK_STATE_DIR", self.db.parent().unwrap())
            .env("DESK_CONFIG_DIR", self.db.parent().unwrap())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn desk serve");
        self.child = Some(child);
        wait_healthy(self.port, self.child.as_mut().unwrap());
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `/healthz` until the server answers (it migrates and seeds first).
fn wait_healthy(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("desk serve exited early with {status}");
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if buf.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("desk serve did not become healthy on port {port}");
}

/// Temp config, data and state directories for the CLI.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home { dir: tempfile::tempdir().unwrap() }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `desk` with this home and nothing inherited that could change its behaviour.
    fn desk(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new(BIN);
        c.env("DESK_CONFIG_DIR", self.path().join("config"))
            .env("DESK_DATA_DIR", self.path().join("data"))
            .env("DESK_STATE_DIR", self.path().join("state"))
            .env_remove("DESK_SERVER")
            .env_remove("DESK_TOKEN")
            .env_remove("DESK_PROFILE")
            // Never the developer's own keychain; the keychain test sets up a private one.
            .env("DESK_CREDENTIAL_STORE", "file")
            .env_remove("NO_COLOR")
            .env_remove("COLUMNS")
            .timeout(Duration::from_secs(60));
        c
    }

    /// Fast retries so that failure paths stay quick.
    fn quick_retries(&self) {
        std::fs::create_dir_all(self.path().join("config")).unwrap();
        std::fs::write(
            self.path().join("config/config.toml"),
            "[network]\nretries = 2\ntimeout_secs = 5\nretry_budget_secs = 10\n",
        )
        .unwrap();
    }

    fn login(&self, server: &Server) {
        self.desk()
            .args(["login", "--server", &server.url()])
            .write_stdin(format!("{TOKEN}\n"))
            .assert()
            .success()
            .stdout("")
            .stderr(contains("Logged in to").and(contains(TOKEN).not()));
    }
}

fn stdout_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

fn json_of(a: &assert_cmd::assert::Assert) -> serde_json::Value {
    serde_json::from_slice(&a.get_output().stdout).expect("stdout is JSON")
}

/// How many messages of ticket `id` contain `needle`.
fn count_messages(home: &Home, id: i64, needle: &str) -> usize {
    let a = home.desk().args(["tickets", "show", &id.to_string(), "--json"]).assert().success();
    let v = json_of(&a);
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["body"]["markdown"].as_str().unwrap_or("").contains(needle))
        .count()
}

fn first_ticket(home: &Home) -> i64 {
    let a = home.desk().args(["tickets", "list", "--limit", "1", "--json"]).assert().success();
    json_of(&a)[0]["id"].as_i64().unwrap()
}

#[test]
fn offline_commands_and_usage_errors() {
    let home = Home::new();
    home.desk()
        .args(["config", "path"])
        .assert()
        .success()
        .stdout(format!("{}\n", home.path().join("config/config.toml").display()));
    home.desk().args(["config", "init"]).assert().success().stderr(contains("Wrote"));
    let written = std::fs::read_to_string(home.path().join("config/config.toml")).unwrap();
    assert!(written.contains("[network]") && written.contains("[[views]]"));
    home.desk()
        .args(["config", "init"])
        .assert()
        .code(1)
        .stderr(contains("already exists").and(contains("--force")));
    home.desk().args(["config", "init", "--force"]).assert().success();

    home.desk().args(["completions", "bash"]).assert().success().stdout(contains("_desk()"));
    home.desk().args(["completions", "zsh"]).assert().success().stdout(contains("#compdef desk"));
    home.desk().arg("man").assert().success().stdout(contains(".TH desk"));

    // clap usage errors exit 2; our own usage errors too.
    home.desk().args(["tickets", "list", "--status", "bogus"]).assert().code(2).stderr(contains("bogus"));
    home.desk().args(["tickets", "show", "abc"]).assert().code(2).stderr(contains("not a ticket id"));

    // Not logged in: exit 4 with what to do.
    home.desk()
        .args(["tickets", "list"])
        .assert()
        .code(4)
        .stderr(contains("not logged in").and(contains("desk login --server")));

    // A bad config names the file, the line and the key.
    std::fs::write(home.path().join("config/config.toml"), "theme = \"dark\"\n[network]\nretrys = 2\n")
        .unwrap();
    let file = home.path().join("config/config.toml");
    home.desk()
        .args(["tickets", "list"])
        .assert()
        .code(1)
        .stderr(contains(format!("{}:3:1", file.display())).and(contains("retrys")));
    std::fs::write(&file, "[profiles.work]\nserver = \"ftp://x\"\n").unwrap();
    home.desk().args(["config", "show"]).assert().code(1).stderr(contains(":2:").and(contains("server")));
}

#[test]
fn reads_login_and_auth_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let home = Home::new();
    home.quick_retries();

    // A bad token: exit 4, nothing stored.
    home.desk()
        .args(["login", "--server", &server.url()])
        .write_stdin("wrong-token\n")
        .assert()
        .code(4)
        .stderr(contains("refused the token"));
    assert!(!home.path().join("config/credentials.toml").exists());

    home.login(&server);
    let creds = home.path().join("config/credentials.toml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // The token is never printed: not by config show, not by --verbose logs.
    home.desk()
        .args(["config", "show"])
        .assert()
        .success()
        .stdout(contains("token        set (credentials file").and(contains(TOKEN).not()))
        .stdout(contains(server.url()));
    home.desk()
        .args(["--verbose", "tickets", "list", "--limit", "2"])
        .assert()
        .success()
        .stderr(contains("Bearer <redacted>").and(contains(TOKEN).not()))
        .stdout(contains(TOKEN).not());
    let a = home.desk().args(["config", "show", "--json"]).assert().success();
    assert_eq!(json_of(&a)["token"], "set");

    // Lists: JSON array, NDJSON, TSV without colour or truncation when piped.
    let a = home.desk().args(["tickets", "list", "--limit", "5", "--json"]).assert().success();
    let tickets = json_of(&a);
    let tickets = tickets.as_array().unwrap();
    assert_eq!(tickets.len(), 5);
    assert!(tickets[0]["id"].is_i64() && tickets[0]["status"].is_string() && tickets[0]["sla"].is_object());
    let a = home.desk().args(["tickets", "list", "--limit", "5", "--ndjson"]).assert().success();
    let lines: Vec<serde_json::Value> =
        stdout_of(&a).lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    assert_eq!(lines.len(), 5);
    let a = home.desk().args(["tickets", "list", "--limit", "5", "--color", "never"]).assert().success();
    let tsv = stdout_of(&a);
    assert!(!tsv.contains('\u{1b}'));
    for (line, t) in tsv.lines().zip(tickets) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 9, "{line}");
        assert_eq!(cols[0], t["id"].as_i64().unwrap().to_string());
        assert_eq!(cols[6], t["subject"].as_str().unwrap(), "the subject is never truncated");
    }
    // --all follows cursors through every page.
    let a = home.desk().args(["tickets", "list", "--all", "--limit", "7", "--json"]).assert().success();
    let all = json_of(&a).as_array().unwrap().len();
    assert!(all > 7, "--all returned {all}");
    // Filters reach the server.
    let a = home
        .desk()
        .args(["tickets", "list", "--status", "open,pending", "--limit", "200", "--json"])
        .assert()
        .success();
    for t in json_of(&a).as_array().unwrap() {
        assert!(["open", "pending"].contains(&t["status"].as_str().unwrap()));
    }

    // show: Markdown when piped.
    let id = tickets[0]["id"].as_i64().unwrap();
    let subject = tickets[0]["subject"].as_str().unwrap();
    let a = home.desk().args(["tickets", "show", &format!("#{id}")]).assert().success();
    let md = stdout_of(&a);
    assert!(md.starts_with(&format!("# #{id} {subject}\n")), "{md}");
    assert!(md.contains("\n## ") && md.contains("- status: "), "{md}");
    let a = home.desk().args(["tickets", "show", &id.to_string(), "--json"]).assert().success();
    let v = json_of(&a);
    assert_eq!(v["ticket"]["id"], id);
    assert!(!v["messages"].as_array().unwrap().is_empty());

    // Missing ticket: exit 3.
    home.desk()
        .args(["tickets", "show", "999999"])
        .assert()
        .code(3)
        .stderr(contains("999999").or(contains("not found")));

    // CRM context.
    let requester = v["ticket"]["requester_id"].as_i64().unwrap();
    let a = home.desk().args(["contacts", "show", &requester.to_string(), "--json"]).assert().success();
    let cx = json_of(&a);
    assert_eq!(cx["contact"]["id"], requester);
    let a = home.desk().args(["contacts", "show", &requester.to_string()]).assert().success();
    assert!(stdout_of(&a).contains("Recent tickets"));
    if let Some(account) = cx["account"]["id"].as_i64() {
        let a = home.desk().args(["accounts", "show", &account.to_string(), "--json"]).assert().success();
        assert_eq!(json_of(&a)["account"]["id"], account);
        home.desk()
            .args(["accounts", "show", &account.to_string()])
            .assert()
            .success()
            .stdout(contains("Contacts"));
    }
    home.desk().args(["contacts", "show", "999999"]).assert().code(3);
    if let Some(email) = cx["contact"]["email"].as_str() {
        let a = home.desk().args(["contacts", "show", email, "--json"]).assert().success();
        assert_eq!(json_of(&a)["contact"]["id"], requester, "a contact found by email");
    }
    home.desk().args(["contacts", "show", "nobody-at-all@nowhere.invalid"]).assert().code(3);

    // Views with counts.
    let a = home.desk().args(["views", "--json"]).assert().success();
    let views = json_of(&a);
    assert!(!views.as_array().unwrap().is_empty());
    let name = views[0]["name"].as_str().unwrap().to_owned();
    home.desk().args(["views"]).assert().success().stdout(contains(name.as_str()));
    home.desk().args(["tickets", "list", "--view", &name, "--json"]).assert().success();
    home.desk().args(["tickets", "list", "--view", "no such view"]).assert().code(3);

    // A token that the server does not accept: exit 4.
    home.desk()
        .env("DESK_TOKEN", "not-a-real-token")
        .args(["tickets", "list"])
        .assert()
        .code(4)
        .stderr(contains("authentication failed").and(contains("desk login")));

    // Logout forgets the token.
    home.desk().arg("logout").assert().success().stderr(contains("Logged out"));
    home.desk().args(["tickets", "list"]).assert().code(4);
}

#[test]
fn writes_conflicts_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let home = Home::new();
    home.quick_retries();
    home.login(&server);
    let id = first_ticket(&home);

    // Reply from stdin, note from a file, both through the outbox, which ends up empty.
    home.desk()
        .args(["tickets", "reply", &id.to_string(), "-"])
        .write_stdin("Thanks, **looking** into it (reply-1)\n")
        .assert()
        .success()
        .stderr(contains(format!("Replied on #{id}")));
    let note = home.path().join("note.md");
    std::fs::write(&note, "internal: customer is on the old plan (note-1)").unwrap();
    let a = home
        .desk()
        .args(["tickets", "note", &id.to_string(), note.to_str().unwrap(), "--json"])
        .assert()
        .success();
    assert_eq!(json_of(&a)["visibility"], "internal");
    assert_eq!(count_messages(&home, id, "reply-1"), 1);
    assert_eq!(count_messages(&home, id, "note-1"), 1);
    home.desk().args(["outbox", "--json"]).assert().success().stdout("[]\n");
    home.desk().args(["tickets", "reply", &id.to_string()]).write_stdin("  \n").assert().code(2);

    // Update, then a stale update: exit 5 naming the current version.
    let a = home
        .desk()
        .args(["tickets", "update", &id.to_string(), "--status", "pending", "--priority", "high"])
        .args(["--add-tag", "cli-test", "--assignee", "me", "--snooze", "tomorrow 9am", "--json"])
        .assert()
        .success();
    let t = json_of(&a);
    assert_eq!((t["status"].as_str(), t["priority"].as_str()), (Some("pending"), Some("high")));
    assert!(t["tags"].as_array().unwrap().iter().any(|x| x == "cli-test"));
    assert!(t["snoozed_until"].is_string() && t["assignee_id"].is_i64());
    let version = t["version"].as_i64().unwrap();
    home.desk()
        .args([
            "tickets",
            "update",
            &id.to_string(),
            "--status",
            "open",
            "--if-version",
            &(version - 1).to_string(),
        ])
        .assert()
        .code(5)
        .stderr(contains(format!("--if-version {version}")));
    home.desk()
        .args(["tickets", "update", &id.to_string(), "--status", "open", "--snooze", "none"])
        .args(["--if-version", &version.to_string()])
        .assert()
        .success()
        .stderr(contains("Updated").and(contains("status open")));
    home.desk()
        .args(["tickets", "update", &id.to_string()])
        .assert()
        .code(2)
        .stderr(contains("nothing to change"));
    home.desk().args(["tickets", "update", &id.to_string(), "--snooze", "someday"]).assert().code(2);
    home.desk().args(["tickets", "update", "999999", "--status", "open"]).assert().code(3);

    // Bulk: ids on stdin, a result per id; one missing id makes the exit code non-zero.
    let a = home.desk().args(["tickets", "list", "--limit", "3", "--json"]).assert().success();
    let ids: Vec<i64> = json_of(&a).as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    let stdin: String = ids.iter().map(|i| format!("{i}\n")).collect();
    let a = home
        .desk()
        .args(["tickets", "bulk", "--add-tag", "bulk-x", "--json"])
        .write_stdin(stdin)
        .assert()
        .success();
    let results = json_of(&a);
    assert_eq!(results["results"].as_array().unwrap().len(), 3);
    assert!(results["results"].as_array().unwrap().iter().all(|r| r["ok"] == true));
    let a = home
        .desk()
        .args(["tickets", "bulk", &ids[0].to_string(), "999999", "--priority", "low"])
        .assert()
        .failure()
        .stderr(contains("1 of 2 tickets not updated"));
    let out = stdout_of(&a);
    assert!(out.contains(&format!("{}\tok", ids[0])) && out.contains("999999\terror"), "{out}");

    // Macros: a dry run changes nothing.
    let a = home.desk().args(["tickets", "show", &ids[1].to_string(), "--json"]).assert().success();
    let before = json_of(&a)["ticket"]["version"].as_i64().unwrap();
    let a = home
        .desk()
        .args(["tickets", "macro", &ids[1].to_string(), "1", "--dry-run", "--json"])
        .assert()
        .success();
    assert_eq!(json_of(&a)["dry_run"], true);
    home.desk()
        .args(["tickets", "macro", &ids[1].to_string(), "1", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("Would change"));
    let a = home.desk().args(["tickets", "show", &ids[1].to_string(), "--json"]).assert().success();
    assert_eq!(json_of(&a)["ticket"]["version"].as_i64().unwrap(), before);
    home.desk().args(["tickets", "macro", &ids[1].to_string(), "no such macro"]).assert().code(3);

    // Merge.
    home.desk()
        .args(["tickets", "merge", &ids[2].to_string(), "--into", &ids[1].to_string()])
        .assert()
        .success()
        .stderr(contains(format!("Merged #{}", ids[2])));
    home.desk().args(["tickets", "merge", "5", "--into", "5"]).assert().code(2);

    // Events: replay from the start as NDJSON; our update is there.
    let a = home
        .desk()
        .args(["events", "--since", "0", "--kind", "ticket.updated", "--count", "1"])
        .assert()
        .success();
    let line = stdout_of(&a);
    let ev: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(ev["kind"], "ticket.updated");
    assert!(ev["id"].is_i64());
    // The last id is remembered per profile; --resume continues after it.
    let cursor = home.path().join("state/events-default.cursor");
    let saved: i64 = std::fs::read_to_string(&cursor).unwrap().trim().parse().unwrap();
    assert!(saved >= ev["id"].as_i64().unwrap());
    // --resume continues after the saved id.
    let a = home.desk().args(["events", "--resume", "--count", "1"]).assert().success();
    let next: serde_json::Value = serde_json::from_str(stdout_of(&a).trim()).unwrap();
    assert!(next["id"].as_i64().unwrap() > saved);

    // Live: a tail started without --since prints changes made while it runs. Until it is
    // connected our changes may go unseen, so keep changing until one arrives.
    let mut tail = Command::new(BIN)
        .args(["events", "--kind", "ticket.updated", "--count", "1"])
        .env("DESK_CONFIG_DIR", home.path().join("config"))
        .env("DESK_DATA_DIR", home.path().join("data"))
        .env("DESK_STATE_DIR", home.path().join("state"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = tail.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        let _ = tx.send(out);
    });
    let mut line = None;
    for i in 0..100 {
        home.desk()
            .args(["tickets", "update", &id.to_string(), "--add-tag", &format!("live-{i}")])
            .assert()
            .success();
        if let Ok(out) = rx.recv_timeout(Duration::from_millis(200)) {
            line = Some(out);
            break;
        }
    }
    let line = line.expect("the live tail printed an event");
    assert!(tail.wait().unwrap().success());
    let ev: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(ev["kind"], "ticket.updated");
    assert_eq!(ev["ticket_id"], id);
}

#[test]
fn server_down_then_outbox_delivers_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let home = Home::new();
    home.quick_retries();
    home.login(&server);
    let id = first_ticket(&home);

    // A live tail keeps running through the outage and reconnects afterwards.
    // It replays the two events of the fresh workspace first, so it has an id to resume
    // from (Last-Event-ID) when the stream drops.
    let mut tail = Command::new(BIN)
        .args(["events", "--since", "0", "--count", "3"])
        .env("DESK_CONFIG_DIR", home.path().join("config"))
        .env("DESK_DATA_DIR", home.path().join("data"))
        .env("DESK_STATE_DIR", home.path().join("state"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the tail has printed the two old events, so the outage hits an open stream.
    let (tx, lines) = std::sync::mpsc::channel();
    let stdout = tail.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut out: Vec<String> = (0..2).map(|_| lines.recv_timeout(Duration::from_secs(10)).unwrap()).collect();
    server.stop();

    // Down: exit 6 and the message names the URL.
    home.desk()
        .args(["tickets", "list"])
        .assert()
        .code(6)
        .stderr(contains(format!("{}/api/v1/tickets", server.url())).and(contains("unavailable")));

    // A reply written while the server is down is kept in the outbox.
    home.desk()
        .args(["tickets", "reply", &id.to_string(), "--body", "sent while offline (outbox-1)"])
        .assert()
        .code(6)
        .stderr(contains("saved in the outbox"));
    let a = home.desk().args(["outbox", "--json"]).assert().success();
    let entries = json_of(&a);
    assert_eq!(entries.as_array().unwrap().len(), 1);
    assert_eq!(entries[0]["state"], "pending");
    assert_eq!(entries[0]["ticket_id"], id);
    assert!(entries[0]["attempts"].as_i64().unwrap() >= 1);
    home.desk().arg("outbox").assert().success().stdout(contains("pending").and(contains("outbox-1")));

    // Back up: the tail reconnects, delivers the outbox, and sees its own reply arrive.
    server.spawn();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = tail.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the tail did not reconnect");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    tail.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    out.extend(lines.iter());
    assert!(status.success(), "{err}");
    assert!(err.contains("reconnecting in") && err.contains("outbox: delivered reply"), "{err}");
    // Resumed with Last-Event-ID: nothing replayed twice, then our reply.
    let events: Vec<serde_json::Value> = out.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 3, "{out:?}");
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids repeat or go back: {ids:?}");
    let ev = &events[2];
    assert_eq!((ev["kind"].as_str(), ev["ticket_id"].as_i64()), (Some("message.created"), Some(id)));

    // Delivered once; later commands do not send it again.
    home.desk().args(["outbox", "--json"]).assert().success().stdout("[]\n");
    home.desk().args(["tickets", "list", "--limit", "1"]).assert().success().stderr(contains("outbox").not());
    assert_eq!(count_messages(&home, id, "outbox-1"), 1);

    // A reply left pending is also delivered by the next ordinary command.
    server.stop();
    home.desk().args(["tickets", "note", &id.to_string(), "--body", "second (outbox-3)"]).assert().code(6);
    server.spawn();
    home.desk()
        .args(["tickets", "list", "--limit", "1"])
        .assert()
        .success()
        .stderr(contains("outbox: delivered note"));
    assert_eq!(count_messages(&home, id, "outbox-3"), 1);

    // A refused entry (ticket gone) moves to the failed list; retry and discard work on it.
    home.desk()
        .args(["tickets", "reply", "999999", "--body", "to nowhere (outbox-2)"])
        .assert()
        .code(3)
        .stderr(contains("failed list"));
    let a = home.desk().args(["outbox", "--json"]).assert().success();
    let entries = json_of(&a);
    assert_eq!(entries[0]["state"], "failed");
    let entry = entries[0]["id"].as_str().unwrap().to_owned();
    home.desk().args(["outbox", "retry", &entry]).assert().code(3);
    home.desk().args(["outbox", "discard", &entry]).assert().success();
    home.desk().args(["outbox", "discard", &entry]).assert().code(3);
    home.desk().args(["outbox", "--json"]).assert().success().stdout("[]\n");
}

/// A TCP proxy that forwards every request but, for the first `drop` POSTs to a
/// `/messages` path, swallows the server's response and closes the connection, as a
/// network failure after the server committed would.
struct DroppingProxy {
    port: u16,
    dropped: Arc<AtomicUsize>,
}

impl DroppingProxy {
    fn start(upstream: u16, drop: usize) -> DroppingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let dropped = Arc::new(AtomicUsize::new(0));
        let counter = dropped.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    let _ = proxy_connection(client, upstream, &counter, drop);
                });
            }
        });
        DroppingProxy { port, dropped }
    }
}

/// Reads one HTTP/1.1 request (headers plus Content-Length body), or None at EOF.
fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Ok(None);
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body)?;
    buf.extend(body);
    Ok(Some(buf))
}

fn proxy_connection(
    mut client: TcpStream,
    upstream: u16,
    dropped: &AtomicUsize,
    drop: usize,
) -> std::io::Result<()> {
    while let Some(request) = read_request(&mut client)? {
        // One upstream connection per request, closed by the server after its response,
        // so the response ends at EOF whatever its framing.
        let text = String::from_utf8_lossy(&request).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let forwarded = format!("{head}\r\nconnection: close\r\n\r\n{body}")
            .replacen("connection: keep-alive\r\n", "", 1)
            .replacen("Connection: keep-alive\r\n", "", 1);
        let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
        up.write_all(forwarded.as_bytes())?;
        let mut response = Vec::new();
        up.read_to_end(&mut response)?;
        let is_message_post =
            head.starts_with("POST ") && head.lines().next().unwrap_or("").contains("/messages ");
        if is_message_post && dropped.load(Ordering::SeqCst) < drop {
            dropped.fetch_add(1, Ordering::SeqCst);
            client.shutdown(std::net::Shutdown::Both)?;
            return Ok(());
        }
        client.write_all(&response)?;
    }
    Ok(())
}

#[test]
fn a_reply_whose_response_was_lost_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let proxy = DroppingProxy::start(server.port, 1);
    let home = Home::new();
    home.quick_retries();
    let via_proxy = format!("http://127.0.0.1:{}", proxy.port);
    let id = {
        let a = home
            .desk()
            .env("DESK_SERVER", &via_proxy)
            .env("DESK_TOKEN", TOKEN)
            .args(["tickets", "list", "--limit", "1", "--json"])
            .assert()
            .success();
        json_of(&a)[0]["id"].as_i64().unwrap()
    };
    home.desk()
        .env("DESK_SERVER", &via_proxy)
        .env("DESK_TOKEN", TOKEN)
        .args(["tickets", "reply", &id.to_string(), "--body", "exactly once please (idem-1)"])
        .assert()
        .success()
        .stderr(contains(format!("Replied on #{id}")));
    assert_eq!(proxy.dropped.load(Ordering::SeqCst), 1, "the proxy dropped the first response");
    let count = {
        let a = home
            .desk()
            .env("DESK_SERVER", server.url())
            .env("DESK_TOKEN", TOKEN)
            .args(["tickets", "show", &id.to_string(), "--json"])
            .assert()
            .success();
        json_of(&a)["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["body"]["markdown"].as_str().unwrap_or("").contains("idem-1"))
            .count()
    };
    assert_eq!(count, 1, "the retry carried the same Idempotency-Key");
    home.desk().args(["outbox", "--json"]).assert().success().stdout("[]\n");
}

#[test]
fn rate_limits_are_waited_out_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--rate-limit", "1", "--rate-burst", "1"]);
    let home = Home::new();
    let desk = || {
        let mut c = home.desk();
        c.env("DESK_SERVER", server.url()).env("DESK_TOKEN", TOKEN);
        c
    };
    // One request per second. `--view NAME` makes two requests in a row (the views, then
    // the tickets): the second gets 429 with `Retry-After: 1`.
    // With a one-second budget the wait does not fit: give up at once with exit 6.
    std::fs::create_dir_all(home.path().join("config")).unwrap();
    std::fs::write(home.path().join("config/config.toml"), "[network]\nretry_budget_secs = 1\n").unwrap();
    desk().args(["tickets", "list", "--view", "Urgent"]).assert().code(6).stderr(
        contains(format!("rate limited by {}/api/v1/tickets", server.url())).and(contains("retry after 1s")),
    );
    // With the default budget the client waits it out and succeeds.
    std::fs::remove_file(home.path().join("config/config.toml")).unwrap();
    let a = desk().args(["--verbose", "tickets", "list", "--view", "Urgent", "--json"]).assert().success();
    let log = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(log.contains("-> 429") && log.contains("retrying in 1000 ms"), "{log}");
    assert!(!log.contains('\u{1b}'), "no colour in logs on a pipe: {log}");
}

#[test]
fn admin_slack_workspaces_channels_and_auto_responders() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let home = Home::new();
    home.login(&server);
    // Secrets come from the environment and are never printed back.
    let a = home
        .desk()
        .args([
            "admin",
            "slack",
            "workspace",
            "set",
            "T0ACME",
            "--name",
            "Acme",
            "--bot-user-id",
            "U0BOT",
            "--json",
        ])
        .env("DESK_SLACK_SIGNING_SECRET", "s3cret-signing")
        .env("DESK_SLACK_BOT_TOKEN", "xoxb-s3cret")
        .assert()
        .success()
        .stderr(contains("Saved Slack workspace T0ACME"));
    assert!(!stdout_of(&a).contains("s3cret"));
    // Changing a field without the secrets keeps them.
    home.desk()
        .args(["admin", "slack", "workspace", "set", "T0ACME", "--name", "Acme Inc", "--allow-bots"])
        .env_remove("DESK_SLACK_SIGNING_SECRET")
        .env_remove("DESK_SLACK_BOT_TOKEN")
        .assert()
        .success();
    let a = home.desk().args(["admin", "slack", "workspace", "list", "--json"]).assert().success();
    let v = json_of(&a);
    assert_eq!(v[0]["name"], "Acme Inc");
    assert_eq!(v[0]["signing_secret"], "***");
    assert_eq!(v[0]["ignore_bots"], false);
    // A new workspace without secrets is refused with the field named.
    home.desk()
        .args(["admin", "slack", "workspace", "set", "T0NEW"])
        .env_remove("DESK_SLACK_SIGNING_SECRET")
        .env_remove("DESK_SLACK_BOT_TOKEN")
        .assert()
        .code(1)
        .stderr(contains("signing_secret"));
    // Channels map by team name or id.
    home.desk()
        .args([
            "admin",
            "slack",
            "channel",
            "map",
            "C0HELP",
            "--team",
            "billing",
            "--workspace",
            "T0ACME",
            "--name",
            "help",
        ])
        .assert()
        .success()
        .stderr(contains("Mapped C0HELP"));
    home.desk()
        .args(["admin", "slack", "channel", "map", "C0X", "--team", "nope", "--workspace", "T0ACME"])
        .assert()
        .code(3)
        .stderr(contains("no team named"));
    let a = home.desk().args(["admin", "slack", "channel", "list"]).assert().success();
    let out = stdout_of(&a);
    assert!(out.contains("C0HELP") && out.contains("help") && out.contains("T0ACME"), "{out}");
    // Auto-responders from stdin, then read back.
    home.desk()
        .args(["admin", "auto-responders", "set", "-"])
        .write_stdin(r#"[{"name": "ack", "actions": {"reply_markdown": "Thanks {{contact.first_name}}!"}}]"#)
        .assert()
        .success()
        .stderr(contains("Saved 1 auto-responder rule"));
    let a = home.desk().args(["admin", "auto-responders", "get"]).assert().success();
    assert_eq!(json_of(&a)["items"][0]["name"], "ack");
    home.desk()
        .args(["admin", "auto-responders", "set", "-"])
        .write_stdin("not json")
        .assert()
        .code(2)
        .stderr(contains("not a JSON array of rules"));
    home.desk().args(["admin", "slack", "channel", "unmap", "C0HELP"]).assert().success();
    home.desk().args(["admin", "slack", "workspace", "remove", "T0ACME"]).assert().success();
    home.desk().args(["admin", "slack", "workspace", "remove", "T0ACME"]).assert().code(3);
}

/// The typed `ApiClient` the CLI and the console are built on, method by method against the
/// real server: every response decodes into its model type.
#[test]
fn the_api_client_speaks_every_endpoint() {
    use desk::client::{ApiClient, ApiError, ClientOptions, PageQuery, TaskQuery, TicketQuery};
    use desk::model::*;

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = ApiClient::new(&server.url(), Some(TOKEN.into()), ClientOptions::default()).unwrap();
        c.healthz().await.unwrap();
        let me = c.me().await.unwrap();
        assert_eq!(me.agent.role, Role::Admin);
        let skew = c.clock_skew().expect("the Date header gives a skew estimate");
        assert!(skew.abs() < jiff::SignedDuration::from_secs(5), "{skew:?}");
        assert!(c.openapi().await.unwrap()["paths"].is_object());

        // Workspace lists.
        let teams = c.list_teams().await.unwrap().items;
        let agents = c.list_agents().await.unwrap().items;
        assert!(!teams.is_empty() && !agents.is_empty());
        assert!(!c.list_views().await.unwrap().items.is_empty());
        let macros = c.list_macros().await.unwrap().items;
        let policies = c.get_sla_policies().await.unwrap().items;
        assert!(!policies.is_empty());
        assert_eq!(c.put_sla_policies(&policies).await.unwrap().items.len(), policies.len());

        // Admin writes.
        let team =
            c.create_team(&NewTeam { name: "Client test".into(), sla_policy_id: None }, None).await.unwrap();
        let agent = c
            .create_agent(
                &NewAgent {
                    name: "Kim".into(),
                    email: "kim@example.com".into(),
                    role: Role::Agent,
                    teams: vec![team.id],
                },
                None,
            )
            .await
            .unwrap();
        let token =
            c.create_token(&NewToken { agent_id: agent.id, name: Some("ci".into()) }, None).await.unwrap();
        let kim = ApiClient::new(&server.url(), Some(token.token.clone()), ClientOptions::default()).unwrap();
        assert_eq!(kim.me().await.unwrap().agent.id, agent.id);

        // CRM.
        let contact = c
            .create_contact(
                &NewContact {
                    name: "Lee Park".into(),
                    email: Some("lee@example.org".into()),
                    title: None,
                    account_id: None,
                    slack_user_id: None,
                    tags: vec![],
                },
                None,
            )
            .await
            .unwrap();
        assert_eq!(c.get_contact(contact.id).await.unwrap().name, "Lee Park");
        let found = c.search_contacts("lee@example.org", None, &PageQuery::default()).await.unwrap().items;
        assert_eq!(found.iter().map(|x| x.id).collect::<Vec<_>>(), vec![contact.id]);
        let patch = ContactPatch { title: Some(Some("CTO".into())), ..ContactPatch::default() };
        assert_eq!(c.update_contact(contact.id, &patch).await.unwrap().title.as_deref(), Some("CTO"));

        // Tickets.
        let ticket = c
            .create_ticket(
                &NewTicket {
                    subject: "Printer on fire".into(),
                    requester_id: contact.id,
                    priority: Some(Priority::High),
                    team_id: Some(team.id),
                    tags: vec!["hardware".into()],
                    body_markdown: Some("It is *really* on fire".into()),
                    channel: None,
                },
                None,
            )
            .await
            .unwrap();
        let q = TicketQuery {
            filter: TicketFilter { tag: vec!["hardware".into()], ..TicketFilter::default() },
            ..TicketQuery::default()
        };
        assert!(c.list_tickets(&q).await.unwrap().items.iter().any(|t| t.id == ticket.id));
        assert_eq!(c.get_ticket(ticket.id).await.unwrap().subject, "Printer on fire");
        let cx = c.contact_context(contact.id).await.unwrap();
        assert!(cx.recent_tickets.iter().any(|t| t.id == ticket.id));

        c.set_presence(ticket.id, PresenceState::Viewing).await.unwrap();
        // Kim (on the ticket's team) sees the admin viewing it.
        let others = kim.get_presence(ticket.id).await.unwrap().items;
        assert!(
            others.iter().any(|p| p.agent_id == me.agent.id && p.state == PresenceState::Viewing),
            "{others:?}"
        );

        // Stale writes are typed: 412 with the current resource.
        let patch = TicketPatch { status: Some(Status::Open), ..TicketPatch::default() };
        match c.update_ticket(ticket.id, &patch, Some(ticket.version + 7)).await {
            Err(ApiError::PreconditionFailed { current: Some(cur), .. }) => {
                assert_eq!(cur["id"], ticket.id.0)
            }
            other => panic!("{other:?}"),
        }
        let assigned = TicketPatch { assignee_id: Some(Some(agent.id)), ..TicketPatch::default() };
        c.update_ticket(ticket.id, &assigned, Some(ticket.version)).await.unwrap();

        // Kim was assigned the ticket: a notification to read.
        let notes = kim.list_notifications(&PageQuery::default()).await.unwrap().items;
        let n = notes.iter().find(|n| n.ticket_id == Some(ticket.id)).expect("an assignment notification");
        assert_eq!(n.kind, NotificationKind::Assignment);
        assert!(kim.mark_notification_read(n.id).await.unwrap().read);

        // Tasks and activities.
        let task = c
            .create_task(
                &NewTask {
                    title: "Call Lee back".into(),
                    due_at: None,
                    assignee_id: Some(me.agent.id),
                    ticket_id: Some(ticket.id),
                    contact_id: Some(contact.id),
                    account_id: None,
                },
                None,
            )
            .await
            .unwrap();
        let mine = TaskQuery { assignee: Some(AssigneeFilter::Me), ..TaskQuery::default() };
        assert!(c.list_tasks(&mine).await.unwrap().items.iter().any(|t| t.id == task.id));
        let done = TaskPatch { done: Some(true), ..TaskPatch::default() };
        assert!(c.update_task(task.id, &done).await.unwrap().done);
        let act = NewActivity {
            kind: ActivityKind::Call,
            summary: "Talked about the fire".into(),
            at: None,
            contact_id: Some(contact.id),
            account_id: None,
        };
        assert_eq!(c.create_activity(&act, None).await.unwrap().summary, "Talked about the fire");

        // Resolution, accounts, macros, merge.
        let refs = vec![EntityRef { kind: RefKind::Contact, id: contact.id.to_string() }];
        assert_eq!(c.resolve(refs).await.unwrap().items[0].label.as_deref(), Some("Lee Park"));
        let some =
            c.list_tickets(&TicketQuery { limit: Some(2), ..TicketQuery::default() }).await.unwrap().items;
        let with_account = c.contact_context(some[0].requester_id).await.unwrap().account;
        if let Some(account) = with_account {
            assert_eq!(c.get_account(account.id).await.unwrap().id, account.id);
            assert_eq!(c.account_context(account.id).await.unwrap().account.id, account.id);
        }
        if let Some(m) = macros.first() {
            assert!(c.apply_macro(ticket.id, m.id, true, None).await.unwrap().dry_run);
        }
        let other = c
            .create_ticket(
                &NewTicket {
                    subject: "Printer on fire (again)".into(),
                    requester_id: contact.id,
                    priority: None,
                    team_id: Some(team.id),
                    tags: vec![],
                    body_markdown: None,
                    channel: None,
                },
                None,
            )
            .await
            .unwrap();
        c.merge_ticket(other.id, ticket.id, None).await.unwrap();
        let bulk = BulkUpdate { ids: vec![ticket.id, TicketId(999_999)], patch: TicketPatch::default() };
        let bulk = BulkUpdate { patch: TicketPatch { add_tags: vec!["bulk".into()], ..bulk.patch }, ..bulk };
        let results = c.bulk_update(&bulk, None).await.unwrap().results;
        assert_eq!(results.iter().map(|r| r.ok).collect::<Vec<_>>(), vec![true, false]);

        // Errors are typed.
        assert!(matches!(c.get_ticket(TicketId(999_999)).await, Err(ApiError::NotFound { .. })));
        let anon = ApiClient::new(&server.url(), Some("nope".into()), ClientOptions::default()).unwrap();
        assert!(matches!(anon.me().await, Err(ApiError::Unauthenticated { .. })));
        assert!(matches!(
            kim.create_token(&NewToken { agent_id: agent.id, name: None }, None).await,
            Err(ApiError::Forbidden { .. })
        ));
    });
}

/// A private D-Bus session with GNOME Keyring's Secret Service in it, under a temp HOME, so
/// the keychain test never touches the developer's own keyring.
struct PrivateKeyring {
    dir: tempfile::TempDir,
    bus: Child,
    keyring: Option<Child>,
    address: String,
}

impl PrivateKeyring {
    /// None (the test is skipped) when the tools are missing, unless DESK_REQUIRE_KEYCHAIN=1
    /// (CI installs them), where that is a failure.
    fn start() -> Option<PrivateKeyring> {
        // Spawning is the test of presence: some of these exit non-zero on --version.
        let have = |tool: &str| Command::new(tool).arg("--version").output().is_ok();
        let missing: Vec<&str> = ["dbus-daemon", "gnome-keyring-daemon", "secret-tool", "dbus-send"]
            .into_iter()
            .filter(|t| !have(t))
            .collect();
        if !missing.is_empty() {
            assert!(
                std::env::var("DESK_REQUIRE_KEYCHAIN").ok().as_deref() != Some("1"),
                "DESK_REQUIRE_KEYCHAIN=1 but {missing:?} are missing (apt install dbus-daemon gnome-keyring libsecret-tools)"
            );
            eprintln!("skipping the keychain test: {missing:?} not installed");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir_all(&run).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut address = String::new();
        let mut out = bus.stdout.take().unwrap();
        let mut byte = [0u8; 1];
        while out.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            address.push(byte[0] as char);
        }
        let mut me = PrivateKeyring { dir, bus, keyring: None, address };
        me.start_keyring();
        Some(me)
    }

    fn start_keyring(&mut self) {
        let mut keyring = self
            .env(&mut Command::new("gnome-keyring-daemon"))
            .args(["--foreground", "--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // --unlock reads the login keyring's password from stdin until EOF.
        keyring.stdin.take().unwrap().write_all(b"test-keyring-password").unwrap();
        self.keyring = Some(keyring);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let owned = self
                .env(&mut Command::new("dbus-send"))
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&owned.stdout).contains("boolean true") {
                return;
            }
            assert!(Instant::now() < deadline, "gnome-keyring-daemon did not come up on the private bus");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn env<'c>(&self, c: &'c mut Command) -> &'c mut Command {
        c.env("HOME", self.dir.path().join("home"))
            .env("XDG_DATA_HOME", self.dir.path().join("home/.local/share"))
            .env("XDG_RUNTIME_DIR", self.dir.path().join("run"))
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
    }

    /// The secret the keyring holds for desk's item, via libsecret's own tool.
    fn lookup(&self, user: &str) -> Option<String> {
        let out = self
            .env(&mut Command::new("secret-tool"))
            .args(["lookup", "service", "desk", "username", user])
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        (out.status.success() && !s.is_empty()).then_some(s)
    }
}

impl Drop for PrivateKeyring {
    fn drop(&mut self) {
        if let Some(mut k) = self.keyring.take() {
            let _ = k.kill();
            let _ = k.wait();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

#[test]
fn login_keeps_the_token_in_the_os_keychain_when_one_answers() {
    let Some(keyring) = PrivateKeyring::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let home = Home::new();
    home.quick_retries();
    let desk = |keyring: &PrivateKeyring| {
        let mut c = home.desk();
        c.env("DESK_CREDENTIAL_STORE", "auto")
            .env("HOME", keyring.dir.path().join("home"))
            .env("XDG_RUNTIME_DIR", keyring.dir.path().join("run"))
            .env("DBUS_SESSION_BUS_ADDRESS", &keyring.address);
        c
    };
    let user = format!("default@{}", server.url());
    let creds = home.path().join("config/credentials.toml");

    desk(&keyring)
        .args(["login", "--server", &server.url()])
        .write_stdin(format!("{TOKEN}\n"))
        .assert()
        .success()
        .stderr(contains("Token saved in the Secret Service").and(contains(TOKEN).not()));
    // The secret is in the keyring (read back by libsecret, not by desk), not in the file.
    assert_eq!(keyring.lookup(&user).as_deref(), Some(TOKEN));
    let file = std::fs::read_to_string(&creds).unwrap();
    assert!(!file.contains(TOKEN), "{file}");
    assert!(file.contains("keychain = true"), "{file}");

    // Commands read the token from the keychain.
    let a = desk(&keyring).args(["tickets", "list", "--json"]).assert().success();
    assert!(json_of(&a).is_array() || json_of(&a).is_object());
    desk(&keyring)
        .args(["config", "show"])
        .assert()
        .success()
        .stdout(contains("OS keychain (desk login)").and(contains(TOKEN).not()));

    // Where the keychain cannot be reached (another session's bus), a command says where
    // the token is and what to do.
    desk(&keyring)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .args(["tickets", "list"])
        .assert()
        .failure()
        .stderr(contains("OS keychain, which is not reachable").and(contains("desk login")));

    // `file` mode writes the file, and deletes the copy the earlier login left in the keychain.
    home.desk()
        .env("HOME", keyring.dir.path().join("home"))
        .env("XDG_RUNTIME_DIR", keyring.dir.path().join("run"))
        .env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
        .args(["login", "--server", &server.url()])
        .write_stdin(format!("{TOKEN}\n"))
        .assert()
        .success()
        .stderr(contains("credentials.toml (mode 0600)"));
    assert!(std::fs::read_to_string(&creds).unwrap().contains(TOKEN));
    assert_eq!(keyring.lookup(&user), None);

    // Back to the keychain: the file loses its copy; logout deletes the keychain item.
    desk(&keyring)
        .args(["login", "--server", &server.url()])
        .write_stdin(format!("{TOKEN}\n"))
        .assert()
        .success()
        .stderr(contains("Token saved in the Secret Service"));
    assert!(!std::fs::read_to_string(&creds).unwrap().contains(TOKEN));
    assert_eq!(keyring.lookup(&user).as_deref(), Some(TOKEN));
    desk(&keyring).args(["logout"]).assert().success().stderr(contains("stored token was deleted"));
    assert_eq!(keyring.lookup(&user), None);
    assert!(!std::fs::read_to_string(&creds).unwrap().contains("keychain"));

    // `keychain` mode without a keychain refuses instead of falling back.
    home.desk()
        .env("DESK_CREDENTIAL_STORE", "keychain")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", keyring.dir.path().join("nowhere"))
        .args(["login", "--server", &server.url()])
        .write_stdin(format!("{TOKEN}\n"))
        .assert()
        .failure()
        .stderr(contains("credential_store is \"keychain\""));
}
