//! The thin async shell around the pure app: terminal input, the SSE stream, the tick,
//! signals and every request's result arrive as `Msg` on one channel; the state updates; the
//! screen is drawn once the queue is drained. Every effect runs as its own task (the newer
//! request of a kind aborts the older), so nothing here ever waits on the network.
//!
//! The terminal is restored on every exit path: normal quit, error, panic (the hook is
//! installed before raw mode), Ctrl-C (a key in raw mode), SIGTERM/SIGHUP; Ctrl-Z suspends.

use crate::client::{
    ApiClient, ApiError, Delivery, Draft, Drafts, EventStreamOptions, Outbox, PageQuery, StreamItem,
    TicketQuery,
};
use crate::model::*;
use crate::tui::app::{self, App, Conn, Effect, Failure, FailureKind, Msg};
use crate::tui::theme::Theme;
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use crossterm::{cursor, execute, terminal};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::collections::HashMap;
use std::io::{Stdout, Write};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::task::AbortHandle;

/// Everything the runtime needs; `cli::console` builds it from config and profile.
pub struct Runtime {
    pub client: ApiClient,
    pub app: App,
    pub theme: Theme,
    pub data_dir: PathBuf,
    pub state_dir: PathBuf,
    /// Where the SSE stream keeps its last event id (resume after restart).
    pub cursor_file: Option<PathBuf>,
    /// Shown once the screen is up (config problems, keymap conflicts).
    pub warnings: Vec<String>,
}

type Term = Terminal<CrosstermBackend<Stdout>>;

fn enter_terminal() -> std::io::Result<()> {
    terminal::enable_raw_mode()?;
    execute!(
        std::io::stdout(),
        terminal::EnterAlternateScreen,
        crossterm::event::EnableBracketedPaste,
        cursor::Hide
    )
}

/// Leaves raw mode and the alternate screen; safe to call more than once.
pub fn restore_terminal() {
    let _ = execute!(
        std::io::stdout(),
        crossterm::event::DisableBracketedPaste,
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
    let _ = terminal::disable_raw_mode();
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
}

pub fn failure(e: &ApiError) -> Failure {
    let kind = match e {
        ApiError::Conflict { .. } | ApiError::PreconditionFailed { .. } => FailureKind::Conflict,
        ApiError::NotFound { .. } => FailureKind::NotFound,
        e if e.is_transient() => FailureKind::Offline,
        _ => FailureKind::Other,
    };
    let current = match e {
        ApiError::Conflict { current, .. } | ApiError::PreconditionFailed { current, .. } => current.clone(),
        _ => None,
    };
    Failure { message: e.to_string(), kind, current }
}

fn fail<T>(r: Result<T, ApiError>) -> Result<T, Failure> {
    r.map_err(|e| failure(&e))
}

/// Reads terminal input until aborted (it is stopped while `$EDITOR` or a suspend owns the tty).
fn spawn_input(tx: UnboundedSender<Msg>) -> AbortHandle {
    tokio::spawn(async move {
        let mut events = EventStream::new();
        while let Some(ev) = events.next().await {
            let msg = match ev {
                Ok(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => Msg::Key(k),
                Ok(TermEvent::Paste(s)) => Msg::Paste(s),
                Ok(TermEvent::Resize(w, h)) => Msg::Resize(w, h),
                Ok(_) => continue,
                Err(e) => {
                    tracing::error!("terminal input: {e}");
                    break;
                }
            };
            if tx.send(msg).is_err() {
                break;
            }
        }
    })
    .abort_handle()
}

impl Runtime {
    pub async fn run(self) -> Result<(), String> {
        let Runtime { client, mut app, theme, data_dir, state_dir, cursor_file, warnings } = self;
        install_panic_hook();
        enter_terminal().map_err(|e| format!("cannot set up the terminal: {e}"))?;
        let result = run_loop(&client, &mut app, &theme, &data_dir, &state_dir, cursor_file, warnings).await;
        restore_terminal();
        result
    }
}

async fn run_loop(
    client: &ApiClient,
    app: &mut App,
    theme: &Theme,
    data_dir: &std::path::Path,
    state_dir: &std::path::Path,
    cursor_file: Option<PathBuf>,
    warnings: Vec<String>,
) -> Result<(), String> {
    let mut term: Term =
        Terminal::new(CrosstermBackend::new(std::io::stdout())).map_err(|e| format!("terminal: {e}"))?;
    let (tx, mut rx) = unbounded_channel::<Msg>();
    let (w, h) = terminal::size().unwrap_or((80, 24));
    app::update(app, Msg::Resize(w, h));
    app.now = client.server_now();
    let mut ctx = Ctx {
        client: client.clone(),
        tx: tx.clone(),
        slots: HashMap::new(),
        tasks: Vec::new(),
        outbox: Outbox::open(data_dir),
        drafts: Drafts::open(data_dir),
        state_dir: state_dir.to_path_buf(),
    };
    let mut input = spawn_input(tx.clone());
    // The SSE stream: connection state and live events.
    {
        let tx = tx.clone();
        let client = client.clone();
        let outbox = ctx.outbox.clone();
        ctx.tasks.push(
            tokio::spawn(async move {
                let mut stream =
                    client.subscribe_events(EventStreamOptions { last_event_id: None, cursor_file });
                while let Some(item) = stream.next().await {
                    let msg = match item {
                        StreamItem::Connected { reconnect } => {
                            if reconnect {
                                flush_outbox(&client, &outbox, &tx).await;
                            }
                            Msg::Connection(Conn::Live)
                        }
                        StreamItem::Event(ev) => Msg::Event(ev),
                        StreamItem::Resync => Msg::Event(Event {
                            id: 0,
                            kind: event_kind::RESYNC.into(),
                            ticket_id: None,
                            team_id: None,
                            at: client.server_now(),
                            data: serde_json::Value::Null,
                        }),
                        StreamItem::Disconnected { error, .. } => {
                            tracing::warn!("event stream: {error}");
                            Msg::Connection(if error.is_transient() {
                                Conn::Reconnecting
                            } else {
                                Conn::Offline
                            })
                        }
                        StreamItem::Failed(error) => {
                            tracing::error!("event stream stopped: {error}");
                            let _ = tx.send(Msg::Warnings(vec![format!("Live updates stopped: {error}")]));
                            Msg::Connection(Conn::Offline)
                        }
                    };
                    if tx.send(msg).is_err() {
                        break;
                    }
                }
            })
            .abort_handle(),
        );
    }
    // The once-a-second tick, on the server's clock so countdowns agree with it.
    {
        let tx = tx.clone();
        let client = client.clone();
        ctx.tasks.push(
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(1));
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    every.tick().await;
                    if tx.send(Msg::Tick(client.server_now())).is_err() {
                        break;
                    }
                }
            })
            .abort_handle(),
        );
    }
    // SIGTERM and SIGHUP end the console like `q` does: drafts saved, terminal restored.
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let tx = tx.clone();
        ctx.tasks.push(
            tokio::spawn(async move {
                let (Ok(mut term_sig), Ok(mut hup)) =
                    (signal(SignalKind::terminate()), signal(SignalKind::hangup()))
                else {
                    return;
                };
                tokio::select! {
                    _ = term_sig.recv() => {}
                    _ = hup.recv() => {}
                }
                let _ = tx.send(Msg::Shutdown);
            })
            .abort_handle(),
        );
    }
    // Replies left in the outbox by an earlier run go out now.
    {
        let (client, outbox, tx) = (client.clone(), ctx.outbox.clone(), tx.clone());
        ctx.tasks.push(tokio::spawn(async move { flush_outbox(&client, &outbox, &tx).await }).abort_handle());
    }
    if !warnings.is_empty() {
        let _ = tx.send(Msg::Warnings(warnings));
    }
    let start = app.start();
    let mut quit = false;
    for fx in start {
        quit |= ctx.run(fx, &mut term, &mut input).await;
    }
    draw(&mut term, app, theme)?;

    while !quit {
        let Some(first) = rx.recv().await else { break };
        let mut effects = app::update(app, first);
        // Drain what is already queued before drawing: one frame per burst of input.
        while let Ok(msg) = rx.try_recv() {
            effects.extend(app::update(app, msg));
        }
        for fx in effects {
            quit |= ctx.run(fx, &mut term, &mut input).await;
        }
        if quit || app.quit {
            break;
        }
        draw(&mut term, app, theme)?;
    }
    // Keep what was being written.
    if let Some(ed) = &app.editor {
        let draft = Draft {
            ticket_id: ed.ticket,
            visibility: ed.visibility,
            body: ed.text(),
            updated_at: client.server_now(),
            base_version: app.open.as_ref().map(|o| o.seen_version),
        };
        if let Err(e) = ctx.drafts.save(&draft) {
            tracing::error!("saving the draft on exit: {e}");
        }
    }
    input.abort();
    for t in ctx.tasks.drain(..).chain(ctx.slots.drain().map(|(_, t)| t)) {
        t.abort();
    }
    Ok(())
}

/// Loads of the same kind replace each other: the newer request aborts the older one.
fn slot(fx: &Effect) -> Option<&'static str> {
    Some(match fx {
        Effect::LoadMe => "me",
        Effect::LoadViews => "views",
        Effect::LoadTickets { .. } => "tickets",
        Effect::LoadMessages(_) => "messages",
        Effect::LoadContext(_) => "context",
        Effect::LoadAgents => "agents",
        Effect::LoadMacros => "macros",
        Effect::LoadNotifications => "notifications",
        Effect::PreviewMacro { .. } => "macro_preview",
        Effect::SetPresence { .. } => "presence",
        _ => return None,
    })
}

/// Performs one request effect against the API and returns the message that reports its
/// result (`None` for effects that are not requests). Used by the runtime and by the
/// console's integration tests, which drive the app against a real server without a terminal.
pub async fn perform(client: &ApiClient, outbox: &Outbox, drafts: &Drafts, fx: Effect) -> Option<Msg> {
    let c = client;
    Some(match fx {
        Effect::LoadMe => Msg::Me(fail(c.me().await)),
        Effect::LoadViews => Msg::Views(fail(c.list_views().await.map(|p| p.items))),
        Effect::LoadTickets { view, after, generation } => {
            let first = after.is_none();
            let q = TicketQuery { view: Some(view), limit: Some(app::PAGE), after, ..TicketQuery::default() };
            Msg::Tickets { view, generation, first, result: fail(c.list_tickets(&q).await) }
        }
        Effect::LoadTicket(id) => Msg::Ticket(id, fail(c.get_ticket(id).await)),
        Effect::LoadMessages(id) => Msg::Messages(id, fail(c.all_messages(id).await)),
        Effect::LoadContext(id) => Msg::Context(id, fail(c.contact_context(id).await)),
        Effect::Resolve(refs) => Msg::Resolved(fail(c.resolve(refs).await.map(|r| r.items))),
        Effect::LoadAgents => Msg::Agents(fail(c.list_agents().await.map(|p| p.items))),
        Effect::LoadMacros => Msg::Macros(fail(c.list_macros().await.map(|p| p.items))),
        Effect::LoadNotifications => {
            let page = PageQuery { limit: Some(MAX_PAGE_SIZE), after: None };
            Msg::Notifications(fail(c.list_notifications(&page).await.map(|p| p.items)))
        }
        Effect::MarkNotificationRead(id) => match c.mark_notification_read(id).await {
            Ok(_) => Msg::Warnings(vec![]),
            Err(e) => Msg::Warnings(vec![format!("Could not mark the notification read: {e}")]),
        },
        Effect::UpdateTicket { req, id, patch, version } => {
            Msg::Patched { req, id, result: fail(c.update_ticket(id, &patch, version).await) }
        }
        Effect::BulkUpdate { req, ids, patch } => {
            let key = crate::client::new_idempotency_key();
            Msg::Bulk { req, result: fail(c.bulk_update(&BulkUpdate { ids, patch }, Some(&key)).await) }
        }
        Effect::PreviewMacro { ticket, macro_id } => Msg::MacroPreview {
            ticket,
            macro_id,
            result: fail(c.apply_macro(ticket, macro_id, true, None).await),
        },
        Effect::ApplyMacro { ticket, macro_id } => {
            let key = crate::client::new_idempotency_key();
            Msg::MacroApplied {
                ticket,
                result: fail(c.apply_macro(ticket, macro_id, false, Some(&key)).await),
            }
        }
        Effect::SendMessage { ticket, visibility, markdown } => {
            let message = NewMessage { visibility, body_markdown: Some(markdown), body_tiptap: None };
            // Into the outbox first (with its idempotency key), then send: a crash or a network
            // failure between the two loses nothing and stores nothing twice. The draft goes
            // only once the outbox holds the text.
            let entry = match outbox.enqueue(ticket, message) {
                Ok(entry) => entry,
                Err(e) => {
                    return Some(Msg::Warnings(vec![format!(
                        "Could not queue the reply on #{ticket} ({e}); your text is kept as a draft"
                    )]));
                }
            };
            if let Err(e) = drafts.delete(ticket) {
                tracing::warn!("deleting the draft of #{ticket}: {e}");
            }
            let result = match outbox.deliver(c, &entry).await {
                Ok(Delivery::Sent(Some(m))) => Ok(m),
                Ok(Delivery::Sent(None)) => Err(Failure::other("sent, but the answer was unreadable")),
                Ok(Delivery::Kept(e)) => Err(failure(&e)),
                Ok(Delivery::Failed(e)) => Err(Failure::other(format!("refused ({e}); see `desk outbox`"))),
                Err(e) => Err(Failure::other(e.to_string())),
            };
            Msg::Sent { ticket, visibility, result }
        }
        Effect::SetPresence { ticket, state } => {
            Msg::Presence(ticket, fail(c.set_presence(ticket, state).await.map(|l| l.items)))
        }
        Effect::ClearPresence(ticket) => {
            // Best effort and silent: if it fails, the entry expires on its own within 30 s.
            Msg::Presence(ticket, Ok(c.clear_presence(ticket).await.map(|l| l.items).unwrap_or_default()))
        }
        Effect::LogActivity(activity) => {
            let contact = activity.contact_id.unwrap_or(ContactId(0));
            let key = crate::client::new_idempotency_key();
            let result = fail(c.create_activity(&activity, Some(&key)).await.map(drop));
            Msg::CrmSaved { what: "activity".into(), contact, result }
        }
        Effect::CreateTask(task) => {
            let contact = task.contact_id.unwrap_or(ContactId(0));
            let key = crate::client::new_idempotency_key();
            let result = fail(c.create_task(&task, Some(&key)).await.map(drop));
            Msg::CrmSaved { what: "follow-up task".into(), contact, result }
        }
        Effect::Quit
        | Effect::SaveDraft { .. }
        | Effect::LoadDraft(_)
        | Effect::DeleteDraft(_)
        | Effect::ExternalEditor(_)
        | Effect::Copy(_)
        | Effect::OpenUrl(_)
        | Effect::Bell
        | Effect::Suspend => return None,
    })
}

fn draw(term: &mut Term, app: &App, theme: &Theme) -> Result<(), String> {
    term.draw(|f| crate::tui::view::draw(f, app, theme)).map(drop).map_err(|e| format!("drawing: {e}"))
}

async fn flush_outbox(client: &ApiClient, outbox: &Outbox, tx: &UnboundedSender<Msg>) {
    match outbox.flush(client).await {
        Ok(done) => {
            for (entry, delivery) in done {
                let visibility = entry.message.visibility;
                let result = match delivery {
                    Delivery::Sent(Some(m)) => Ok(m),
                    Delivery::Sent(None) => continue,
                    Delivery::Kept(e) => Err(failure(&e)),
                    Delivery::Failed(e) => Err(Failure::other(format!("refused ({e}); see `desk outbox`"))),
                };
                let _ = tx.send(Msg::Sent { ticket: entry.ticket_id, visibility, result });
            }
        }
        Err(e) => tracing::error!("outbox: {e}"),
    }
}

struct Ctx {
    client: ApiClient,
    tx: UnboundedSender<Msg>,
    /// One in-flight task per kind of load; a newer request aborts the older one.
    slots: HashMap<&'static str, AbortHandle>,
    tasks: Vec<AbortHandle>,
    outbox: Outbox,
    drafts: Drafts,
    state_dir: PathBuf,
}

impl Ctx {
    fn spawn<F>(&mut self, slot: Option<&'static str>, fut: F)
    where
        F: std::future::Future<Output = Msg> + Send + 'static,
    {
        let tx = self.tx.clone();
        let handle = tokio::spawn(async move {
            let msg = fut.await;
            let _ = tx.send(msg);
        })
        .abort_handle();
        match slot {
            Some(s) => {
                if let Some(old) = self.slots.insert(s, handle) {
                    old.abort();
                }
            }
            None => {
                self.tasks.retain(|t| !t.is_finished());
                self.tasks.push(handle);
            }
        }
    }

    /// Carries out one effect. Returns true to quit.
    async fn run(&mut self, fx: Effect, term: &mut Term, input: &mut AbortHandle) -> bool {
        match fx {
            Effect::Quit => return true,
            Effect::SaveDraft { ticket, visibility, text } => {
                let draft = Draft {
                    ticket_id: ticket,
                    visibility,
                    body: text,
                    updated_at: self.client.server_now(),
                    base_version: None,
                };
                if let Err(e) = self.drafts.save(&draft) {
                    let _ = self.tx.send(Msg::Warnings(vec![format!("Could not save the draft: {e}")]));
                }
            }
            Effect::LoadDraft(ticket) => {
                let draft = match self.drafts.load(ticket) {
                    Ok(d) => d.map(|d| (d.visibility, d.body)),
                    Err(e) => {
                        let _ = self.tx.send(Msg::Warnings(vec![e.to_string()]));
                        None
                    }
                };
                let _ = self.tx.send(Msg::Draft { ticket, draft });
            }
            Effect::DeleteDraft(ticket) => {
                if let Err(e) = self.drafts.delete(ticket) {
                    tracing::warn!("deleting the draft of #{ticket}: {e}");
                }
            }
            Effect::ExternalEditor(text) => {
                let result = self.external_editor(&text, term, input).await;
                let _ = self.tx.send(Msg::EditorText(result));
            }
            Effect::Copy(text) => {
                // OSC 52: the terminal puts it on the clipboard, also over ssh.
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
                let mut out = std::io::stdout();
                let _ = write!(out, "\x1b]52;c;{b64}\x07");
                let _ = out.flush();
            }
            Effect::OpenUrl(url) => {
                let browser = std::env::var("BROWSER").ok();
                if let Err(e) = crate::tui::open::open(&url, browser.as_deref(), &crate::tui::open::Spawn) {
                    let _ = self.tx.send(Msg::Warnings(vec![e]));
                }
            }
            Effect::Bell => {
                let mut out = std::io::stdout();
                let _ = out.write_all(b"\x07");
                let _ = out.flush();
            }
            Effect::Suspend => suspend(term, input, &self.tx),
            request => {
                let slot = slot(&request);
                let (client, outbox, drafts) =
                    (self.client.clone(), self.outbox.clone(), self.drafts.clone());
                self.spawn(slot, async move {
                    perform(&client, &outbox, &drafts, request).await.unwrap_or(Msg::Warnings(vec![]))
                });
            }
        }
        false
    }

    /// Hands the draft to `$VISUAL`/`$EDITOR` (default `vi`) and reads it back.
    async fn external_editor(
        &mut self,
        text: &str,
        term: &mut Term,
        input: &mut AbortHandle,
    ) -> Result<String, Failure> {
        let editor = std::env::var("VISUAL")
            .ok()
            .or_else(|| std::env::var("EDITOR").ok())
            .filter(|e| !e.trim().is_empty())
            .unwrap_or_else(|| "vi".into());
        let path = self.state_dir.join(format!("reply-{}.md", std::process::id()));
        std::fs::create_dir_all(&self.state_dir)
            .map_err(|e| Failure::other(format!("{}: {e}", self.state_dir.display())))?;
        std::fs::write(&path, text).map_err(|e| Failure::other(format!("{}: {e}", path.display())))?;
        input.abort();
        restore_terminal();
        let mut parts = editor.split_whitespace();
        let program = parts.next().unwrap_or("vi");
        let status = tokio::process::Command::new(program).args(parts).arg(&path).status().await;
        let _ = enter_terminal();
        let _ = term.clear();
        *input = spawn_input(self.tx.clone());
        let out = match status {
            Ok(s) if s.success() => std::fs::read_to_string(&path).map_err(|e| Failure::other(e.to_string())),
            Ok(s) => Err(Failure::other(format!("{editor} exited with {s}; the text is unchanged"))),
            Err(e) => Err(Failure::other(format!("cannot run {editor}: {e} (set $EDITOR)"))),
        };
        let _ = std::fs::remove_file(&path);
        out.map(|t| t.trim_end_matches('\n').to_string())
    }
}

/// Ctrl-Z: give the terminal back, stop like any job, and take it again on `fg`.
fn suspend(term: &mut Term, input: &mut AbortHandle, tx: &UnboundedSender<Msg>) {
    input.abort();
    restore_terminal();
    #[cfg(unix)]
    // SAFETY: raise() only sends a signal to this process; SIGTSTP stops it until SIGCONT.
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
    let _ = enter_terminal();
    let _ = term.clear();
    *input = spawn_input(tx.clone());
}
