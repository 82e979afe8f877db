//! The console against a real `desk serve` (embedded, temp SQLite, demo data), without a
//! terminal: keys go into the pure app, its request effects run through the same `perform`
//! the runtime uses, and the screen is drawn on a `TestBackend`. Checks the outcome through
//! the API.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use desk::client::{ApiClient, ClientOptions, Drafts, EventStreamOptions, Outbox, StreamItem};
use desk::model::*;
use desk::server::{ServeOptions, spawn};
use desk::tui::app::{App, Effect, Msg, update};
use desk::tui::keymap::Keymap;
use desk::tui::runtime::perform;
use desk::tui::theme::Theme;
use futures::StreamExt;
use std::collections::VecDeque;
use std::time::Duration;

const TOKEN: &str = "console-test-token-0123456789";

struct Rig {
    app: App,
    client: ApiClient,
    outbox: Outbox,
    drafts: Drafts,
}

impl Rig {
    /// Runs effects (and the effects their results cause) until none is left.
    async fn pump(&mut self, first: Vec<Effect>) {
        let mut queue: VecDeque<Effect> = first.into();
        let mut steps = 0;
        while let Some(fx) = queue.pop_front() {
            steps += 1;
            assert!(steps < 500, "effects never settle");
            if let Some(msg) = perform(&self.client, &self.outbox, &self.drafts, fx).await {
                queue.extend(update(&mut self.app, msg));
            }
        }
    }

    async fn keys(&mut self, keys: &[KeyEvent]) {
        for k in keys {
            let fx = update(&mut self.app, Msg::Key(*k));
            self.pump(fx).await;
        }
    }

    async fn text(&mut self, text: &str) {
        let keys: Vec<KeyEvent> = text.chars().map(|c| key(KeyCode::Char(c))).collect();
        self.keys(&keys).await;
    }

    fn screen(&self, w: u16, h: u16) -> String {
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
        term.draw(|f| desk::tui::view::draw(f, &self.app, &Theme::dark())).unwrap();
        term.backend().to_string()
    }
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::empty())
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triage_and_reply_against_a_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = ServeOptions::new(format!("sqlite://{}", dir.path().join("desk.db").display()));
    opts.bind = "127.0.0.1:0".parse().unwrap();
    opts.demo = Some(60);
    opts.bootstrap_token = Some(TOKEN.into());
    opts.rate_limit_per_sec = 0;
    let server = spawn(opts).await.unwrap();
    let client = ApiClient::new(&server.url(), Some(TOKEN.into()), ClientOptions::default()).unwrap();
    let data = dir.path().join("data");
    let mut rig = Rig {
        app: App::new(client.server_now(), jiff::tz::TimeZone::UTC, Keymap::default()),
        client: client.clone(),
        outbox: Outbox::open(&data),
        drafts: Drafts::open(&data),
    };
    update(&mut rig.app, Msg::Resize(160, 45));
    let start = rig.app.start();
    rig.pump(start).await;
    let me = rig.app.my_id().expect("signed in");
    assert!(!rig.app.views.is_empty());

    // Find a view with tickets in it, and move through it.
    let mut found = false;
    for n in 1..=rig.app.views.len().min(9) {
        rig.keys(&[key(KeyCode::Char(char::from_digit(n as u32, 10).unwrap()))]).await;
        if rig.app.visible.len() >= 3 {
            found = true;
            break;
        }
    }
    assert!(found, "a demo view with tickets");
    rig.keys(&[key(KeyCode::Char('j')), key(KeyCode::Char('j')), key(KeyCode::Char('k'))]).await;
    assert_eq!(rig.app.cursor, 1);

    // Filter by a word of the selected ticket's subject: it stays visible, others go.
    let target = rig.app.selected().unwrap().clone();
    let word = target.subject.split_whitespace().max_by_key(|w| w.len()).unwrap().to_string();
    let before = rig.app.visible.len();
    rig.keys(&[key(KeyCode::Char('/'))]).await;
    rig.text(&word).await;
    rig.keys(&[key(KeyCode::Enter)]).await;
    assert!(rig.app.visible.len() <= before);
    let pos =
        rig.app.visible.iter().position(|&i| rig.app.tickets[i].id == target.id).expect("still visible");
    rig.app.cursor = pos;

    // Open it: conversation and contact load.
    rig.keys(&[key(KeyCode::Enter)]).await;
    let open = rig.app.open.as_ref().expect("open");
    assert_eq!(open.ticket.id, target.id);
    assert!(open.messages.as_ref().is_some_and(|m| !m.is_empty()));
    assert!(rig.app.contexts.contains_key(&target.requester_id));

    // Assign to me: optimistic, then confirmed by the server.
    rig.keys(&[key(KeyCode::Char('a'))]).await;
    let stored = client.get_ticket(target.id).await.unwrap();
    assert_eq!(stored.assignee_id, Some(me));
    assert_eq!(rig.app.open.as_ref().unwrap().ticket.assignee_id, Some(me));

    // Reply through the outbox.
    let body = "Thanks for the report, console test here.";
    rig.keys(&[key(KeyCode::Char('r'))]).await;
    rig.text(body).await;
    rig.keys(&[ctrl('s')]).await;
    let messages = client.all_messages(target.id).await.unwrap();
    let ours: Vec<_> = messages.iter().filter(|m| m.body.markdown.contains(body)).collect();
    assert_eq!(ours.len(), 1, "stored exactly once");
    assert_eq!(ours[0].visibility, Visibility::Public);
    assert!(rig.outbox.pending().unwrap().is_empty());
    let screen = rig.screen(160, 45);
    assert!(screen.contains(body), "{screen}");

    // An internal note is stored as internal.
    rig.keys(&[key(KeyCode::Char('n'))]).await;
    rig.text("only for agents").await;
    rig.keys(&[ctrl('s')]).await;
    let messages = client.all_messages(target.id).await.unwrap();
    assert!(
        messages
            .iter()
            .any(|m| m.visibility == Visibility::Internal && m.body.markdown.contains("only for agents"))
    );

    // A stale change: someone else changes the ticket (no event reaches the app here), then
    // our status change goes out with the old version in If-Match. The server refuses it
    // (412), the dialog shows both versions (the current one fetched again), and `m`
    // applies ours on top of theirs.
    let before = client.get_ticket(target.id).await.unwrap();
    let their_priority = if before.priority == Priority::Urgent { Priority::Low } else { Priority::Urgent };
    let patch = TicketPatch { priority: Some(their_priority), ..TicketPatch::default() };
    let theirs = client.update_ticket(target.id, &patch, None).await.unwrap();
    assert!(theirs.version > rig.app.open.as_ref().unwrap().ticket.version);
    let (word, ours) =
        if before.status == Status::OnHold { ("pending", Status::Pending) } else { ("hold", Status::OnHold) };
    rig.keys(&[key(KeyCode::Char('s'))]).await;
    rig.text(word).await;
    rig.keys(&[key(KeyCode::Enter)]).await;
    let Some(desk::tui::app::Modal::Conflict(c)) = rig.app.modal.as_ref() else {
        panic!("a conflict dialog, got {:?} / {:?}", rig.app.modal, rig.app.toasts)
    };
    assert_eq!(c.theirs.as_ref().map(|t| (t.version, t.priority)), Some((theirs.version, their_priority)));
    assert_eq!(client.get_ticket(target.id).await.unwrap().status, before.status, "nothing overwritten");
    let screen = rig.screen(160, 45);
    assert!(
        screen.contains("changed while you worked on it") && screen.contains("now on the server"),
        "{screen}"
    );
    rig.keys(&[key(KeyCode::Char('m'))]).await;
    assert!(rig.app.modal.is_none(), "{:?}", rig.app.modal);
    let stored = client.get_ticket(target.id).await.unwrap();
    assert_eq!((stored.status, stored.priority), (ours, their_priority), "mine on top of theirs");

    // Live: a ticket created elsewhere arrives over SSE and lands in the app.
    let mut stream = client.subscribe_events(EventStreamOptions::default());
    let connected = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.unwrap();
    assert!(matches!(connected, Some(StreamItem::Connected { .. })));
    let created = client
        .create_ticket(
            &NewTicket {
                subject: "Live ticket from the console test".into(),
                requester_id: target.requester_id,
                priority: Some(Priority::Urgent),
                team_id: Some(target.team_id),
                tags: vec![],
                body_markdown: Some("hello".into()),
                channel: None,
            },
            None,
        )
        .await
        .unwrap();
    let ev = loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await.unwrap() {
            Some(StreamItem::Event(ev)) if ev.ticket_id == Some(created.id) => break ev,
            Some(_) => continue,
            None => panic!("stream ended"),
        }
    };
    let fx = update(&mut rig.app, Msg::Event(ev));
    assert!(fx.contains(&Effect::LoadTicket(created.id)));
    rig.pump(fx).await;
    drop(stream);
    server.shutdown().await;
}
