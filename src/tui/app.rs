//! The console's state and its pure update function.
//!
//! `update(&mut App, Msg) -> Vec<Effect>` does no I/O and reads no clock: time arrives as
//! `Msg::Tick(now)`, results arrive as messages, and everything the outside world must do
//! (requests, clipboard, bell, $EDITOR, quit) leaves as an [`Effect`] for the runtime.
//! That keeps every behaviour testable by feeding messages and asserting state and effects.

use crate::model::*;
use crate::tui::filter::{self, Query};
use crate::tui::keymap::{Action, Chord, Context, Keymap};
use crate::tui::when;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use ratatui_textarea::TextArea;
use std::collections::{BTreeSet, HashMap, VecDeque};

/// How long `u` can undo the last change.
pub const UNDO_WINDOW: SignedDuration = SignedDuration::from_secs(10);
/// How long a toast stays on the status bar.
const TOAST_SECS: i64 = 5;
/// Presence entries expire after 30 s on the server; renew well before.
const PRESENCE_RENEW_SECS: i64 = 20;
/// Page size asked of the server when loading a view (its maximum).
pub const PAGE: u32 = MAX_PAGE_SIZE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conn {
    Connecting,
    Live,
    Reconnecting,
    Offline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Queue,
    Conversation,
    Contact,
    Editor,
}

/// Why a request failed, in the few ways the console reacts to differently.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub message: String,
    pub kind: FailureKind,
    /// The server's current version of the resource, as a 409/412 answer carries it.
    pub current: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// 409/412: someone else changed it.
    Conflict,
    NotFound,
    /// Network down or server unavailable; retryable.
    Offline,
    Other,
}

impl Failure {
    pub fn other(message: impl Into<String>) -> Self {
        Failure { message: message.into(), kind: FailureKind::Other, current: None }
    }
}

/// Everything that can happen to the console.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Paste(String),
    Resize(u16, u16),
    /// The once-a-second tick, with the server-skew-corrected time.
    Tick(Timestamp),
    Connection(Conn),
    /// A live event from the SSE stream.
    Event(Event),
    Me(Result<Me, Failure>),
    Views(Result<Vec<View>, Failure>),
    Tickets {
        view: ViewId,
        generation: u64,
        first: bool,
        result: Result<Page<Ticket>, Failure>,
    },
    Ticket(TicketId, Result<Ticket, Failure>),
    Messages(TicketId, Result<Vec<Message>, Failure>),
    Context(ContactId, Result<ContactContext, Failure>),
    Resolved(Result<Vec<ResolvedEntity>, Failure>),
    Agents(Result<Vec<Agent>, Failure>),
    Macros(Result<Vec<Macro>, Failure>),
    Notifications(Result<Vec<Notification>, Failure>),
    Presence(TicketId, Result<Vec<Presence>, Failure>),
    Patched {
        req: u64,
        id: TicketId,
        result: Result<Ticket, Failure>,
    },
    Bulk {
        req: u64,
        result: Result<BulkResult, Failure>,
    },
    MacroPreview {
        ticket: TicketId,
        macro_id: MacroId,
        result: Result<MacroOutcome, Failure>,
    },
    MacroApplied {
        ticket: TicketId,
        result: Result<MacroOutcome, Failure>,
    },
    /// A reply left the outbox (Ok) or stays queued there to be retried (Err).
    Sent {
        ticket: TicketId,
        visibility: Visibility,
        result: Result<Message, Failure>,
    },
    Draft {
        ticket: TicketId,
        draft: Option<(Visibility, String)>,
    },
    /// Text back from `$EDITOR`.
    EditorText(Result<String, Failure>),
    /// A CRM write (activity, task) finished.
    CrmSaved {
        what: String,
        contact: ContactId,
        result: Result<(), Failure>,
    },
    /// Problems found at start (config, keymap conflicts), shown as toasts.
    Warnings(Vec<String>),
    /// SIGTERM or SIGHUP: leave like `q` does.
    Shutdown,
}

/// What the runtime should do. Requests run as cancellable tasks; each answers with a `Msg`.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadMe,
    LoadViews,
    LoadTickets {
        view: ViewId,
        after: Option<String>,
        generation: u64,
    },
    LoadTicket(TicketId),
    LoadMessages(TicketId),
    LoadContext(ContactId),
    Resolve(Vec<EntityRef>),
    LoadAgents,
    LoadMacros,
    LoadNotifications,
    MarkNotificationRead(NotificationId),
    UpdateTicket {
        req: u64,
        id: TicketId,
        patch: TicketPatch,
        version: Option<i64>,
    },
    BulkUpdate {
        req: u64,
        ids: Vec<TicketId>,
        patch: TicketPatch,
    },
    PreviewMacro {
        ticket: TicketId,
        macro_id: MacroId,
    },
    ApplyMacro {
        ticket: TicketId,
        macro_id: MacroId,
    },
    SendMessage {
        ticket: TicketId,
        visibility: Visibility,
        markdown: String,
    },
    SetPresence {
        ticket: TicketId,
        state: PresenceState,
    },
    /// The agent left this ticket: others stop seeing them at once, not 30 s later.
    ClearPresence(TicketId),
    LogActivity(NewActivity),
    CreateTask(NewTask),
    SaveDraft {
        ticket: TicketId,
        visibility: Visibility,
        text: String,
    },
    LoadDraft(TicketId),
    DeleteDraft(TicketId),
    ExternalEditor(String),
    Copy(String),
    OpenUrl(String),
    Bell,
    Suspend,
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastLevel {
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub text: String,
    pub level: ToastLevel,
    pub until: Timestamp,
}

/// The ticket open in the conversation pane.
#[derive(Debug, Clone)]
pub struct OpenTicket {
    pub ticket: Ticket,
    pub messages: Option<Vec<Message>>,
    /// Message bodies parsed once when they arrive, not at every draw.
    pub docs: HashMap<MessageId, crate::richtext::Doc>,
    pub scroll: u16,
    /// Version when opened (or last changed by us); a newer one from elsewhere raises the banner.
    pub seen_version: i64,
    pub changed: bool,
    /// Other agents on this ticket right now.
    pub others: Vec<Presence>,
    pub presence_at: Option<Timestamp>,
}

pub struct Editor {
    pub ticket: TicketId,
    pub visibility: Visibility,
    pub textarea: TextArea<'static>,
    pub preview: bool,
    pub dirty: bool,
}

impl Editor {
    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PickValue {
    Agent(Option<AgentId>),
    Status(Status),
    Priority(Priority),
    Macro(MacroId),
    InsertMacro(MacroId),
    Action(Action),
    Notification(NotificationId, Option<TicketId>),
    ActivityKind(ActivityKind),
    Link(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PickItem {
    pub label: String,
    pub detail: String,
    pub value: PickValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Tags,
    Snooze,
    Activity(ActivityKind),
    FollowUp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Modal {
    Picker {
        title: String,
        query: String,
        items: Vec<PickItem>,
        selected: usize,
    },
    Input {
        kind: InputKind,
        text: String,
        error: Option<String>,
    },
    MacroPreview {
        macro_id: MacroId,
        name: String,
        targets: Vec<TicketId>,
        outcome: Option<Box<MacroOutcome>>,
    },
    Help {
        query: String,
        scroll: usize,
    },
    Conflict(Box<Conflict>),
}

/// A change the server refused because the ticket changed meanwhile (409/412, DESIGN §9):
/// what we started from, our change, and the server's version, for the agent to choose.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub id: TicketId,
    pub label: String,
    pub patch: TicketPatch,
    /// Our copy of the ticket when we made the change.
    pub base: Ticket,
    /// The server's current version; `None` while it is being fetched.
    pub theirs: Option<Ticket>,
}

/// One line of the conflict dialog: a field as it was, as we set it, and as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictRow {
    pub field: &'static str,
    pub base: String,
    pub mine: String,
    pub theirs: Option<String>,
    /// We changed this field.
    pub ours: bool,
    /// Someone else changed it meanwhile.
    pub changed: bool,
}

impl Modal {
    /// Picker items matching the query, best first.
    pub fn visible_items(&self) -> Vec<&PickItem> {
        match self {
            Modal::Picker { query, items, .. } => {
                // Links are numbered: typing a number picks that one, even when the digits
                // also occur in other URLs.
                if items.first().is_some_and(|i| matches!(i.value, PickValue::Link(_)))
                    && let Ok(n) = query.trim().parse::<usize>()
                    && let Some(item) = n.checked_sub(1).and_then(|i| items.get(i))
                {
                    return vec![item];
                }
                filter::rank(query, items, |i| format!("{} {}", i.label, i.detail))
            }
            _ => Vec::new(),
        }
    }
}

/// One change that `u` can revert: per ticket, the patch that restores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Undo {
    pub at: Timestamp,
    pub label: String,
    pub items: Vec<(TicketId, TicketPatch)>,
    /// Tickets as they were before the change, with their list position, so undo can put
    /// back a ticket that the change moved out of the view.
    pub before: Vec<(usize, Ticket)>,
}

/// An optimistic change in flight: what to restore if the server refuses.
#[derive(Debug, Clone)]
struct Pending {
    originals: Vec<(usize, Ticket)>,
    label: String,
    patch: TicketPatch,
}

pub struct App {
    pub now: Timestamp,
    pub tz: TimeZone,
    pub size: (u16, u16),
    pub conn: Conn,
    pub me: Option<Me>,
    /// "demo workspace" when running on the embedded demo data.
    pub workspace_label: Option<String>,
    pub keymap: Keymap,
    pub bell: bool,
    /// Notification kinds announced with a toast (and the bell); config `[notifications] kinds`.
    pub notify_kinds: Vec<NotificationKind>,
    pub views: Vec<View>,
    pub view_idx: usize,
    /// The active view's tickets, in the view's order.
    pub tickets: Vec<Ticket>,
    pub loading: bool,
    tickets_gen: u64,
    /// Indices into `tickets` that pass the `/` filter; recomputed on change, not per frame.
    pub visible: Vec<usize>,
    pub cursor: usize,
    pub offset: usize,
    pub marks: BTreeSet<TicketId>,
    pub filter_text: String,
    pub filter_editing: bool,
    pub filter_error: Option<String>,
    query: Query,
    /// The filter's per-ticket entries and last answer (prepared as tickets arrive).
    search: filter::Index,
    pub focus: Pane,
    pub show_contact: bool,
    pub open: Option<OpenTicket>,
    pub contexts: HashMap<ContactId, ContactContext>,
    pub contact_cursor: usize,
    /// Mention labels from `/resolve`, by kind and id.
    pub labels: crate::tui::refs::Labels,
    pub agents: Vec<Agent>,
    pub macros: Option<Vec<Macro>>,
    pub notifications: Vec<Notification>,
    pub unread: usize,
    pub modal: Option<Modal>,
    pub editor: Option<Editor>,
    pub toasts: VecDeque<Toast>,
    pub undo: Option<Undo>,
    pending: HashMap<u64, Pending>,
    next_req: u64,
    views_stale: bool,
    /// What to do once macros or agents arrive (the picker that asked for them).
    after_load: Option<Action>,
    open_when_loaded: Option<TicketId>,
    /// Tickets reloaded after our own reply: a newer version there is ours, not a change by
    /// someone else.
    own_reload: BTreeSet<TicketId>,
    pub quit: bool,
}

impl App {
    pub fn new(now: Timestamp, tz: TimeZone, keymap: Keymap) -> App {
        App {
            now,
            tz,
            size: (160, 45),
            conn: Conn::Connecting,
            me: None,
            workspace_label: None,
            keymap,
            bell: false,
            notify_kinds: NotificationKind::ALL.to_vec(),
            views: Vec::new(),
            view_idx: 0,
            tickets: Vec::new(),
            loading: true,
            tickets_gen: 0,
            visible: Vec::new(),
            cursor: 0,
            offset: 0,
            marks: BTreeSet::new(),
            filter_text: String::new(),
            filter_editing: false,
            filter_error: None,
            query: Query::default(),
            search: filter::Index::new(),
            focus: Pane::Queue,
            show_contact: true,
            open: None,
            contexts: HashMap::new(),
            contact_cursor: 0,
            labels: crate::tui::refs::Labels::default(),
            agents: Vec::new(),
            macros: None,
            notifications: Vec::new(),
            unread: 0,
            modal: None,
            editor: None,
            toasts: VecDeque::new(),
            undo: None,
            pending: HashMap::new(),
            next_req: 1,
            views_stale: false,
            after_load: None,
            open_when_loaded: None,
            own_reload: BTreeSet::new(),
            quit: false,
        }
    }

    /// The requests to make at start.
    pub fn start(&mut self) -> Vec<Effect> {
        vec![Effect::LoadMe, Effect::LoadViews, Effect::LoadNotifications, Effect::LoadAgents]
    }

    /// The generation a `Msg::Tickets` answer must carry to be accepted (stale pages of a
    /// view we left are dropped).
    pub fn tickets_generation(&self) -> u64 {
        self.tickets_gen
    }

    pub fn my_id(&self) -> Option<AgentId> {
        self.me.as_ref().map(|m| m.agent.id)
    }

    pub fn narrow(&self) -> bool {
        self.size.0 < 100
    }

    pub fn agent_name(&self, id: AgentId) -> Option<String> {
        self.agents
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.name.clone())
            .or_else(|| self.me.as_ref().filter(|m| m.agent.id == id).map(|m| m.agent.name.clone()))
    }

    pub fn selected(&self) -> Option<&Ticket> {
        self.visible.get(self.cursor).and_then(|&i| self.tickets.get(i))
    }

    pub fn current_view(&self) -> Option<&View> {
        self.views.get(self.view_idx)
    }

    /// Rows of the queue list that fit on screen (the renderer uses the same layout).
    pub fn queue_height(&self) -> usize {
        let chrome = 1 /* tabs */ + 1 /* status */ + 2 /* borders */ + 1 /* header */
            + usize::from(self.filter_editing || !self.filter_text.is_empty());
        (self.size.1 as usize).saturating_sub(chrome).max(1)
    }

    pub fn toast(&mut self, text: impl Into<String>) {
        self.push_toast(text.into(), ToastLevel::Info);
    }

    pub fn toast_error(&mut self, text: impl Into<String>) {
        self.push_toast(text.into(), ToastLevel::Error);
    }

    fn push_toast(&mut self, text: String, level: ToastLevel) {
        self.toasts.push_back(Toast { text, level, until: self.now + SignedDuration::from_secs(TOAST_SECS) });
        while self.toasts.len() > 3 {
            self.toasts.pop_front();
        }
    }

    fn context(&self) -> Context {
        match self.focus {
            Pane::Queue => Context::Queue,
            Pane::Conversation => Context::Conversation,
            Pane::Contact => Context::Contact,
            Pane::Editor => Context::Editor,
        }
    }

    /// Panes that exist right now, in Tab order.
    pub fn panes(&self) -> Vec<Pane> {
        let mut p = vec![Pane::Queue];
        if self.open.is_some() {
            p.push(Pane::Conversation);
            if self.show_contact {
                p.push(Pane::Contact);
            }
        }
        if self.editor.is_some() {
            p.push(Pane::Editor);
        }
        p
    }

    /// Actions worth a hint in the status bar for the focused pane.
    pub fn hints(&self) -> Vec<Action> {
        use Action::*;
        if self.modal.is_some() {
            return vec![];
        }
        match self.focus {
            Pane::Queue => vec![Open, Filter, AssignMe, SetStatus, Snooze, Reply, Mark, Help],
            Pane::Conversation => vec![Reply, Note, AssignMe, SetStatus, ApplyMacro, Back, Help],
            Pane::Contact => vec![Open, LogActivity, FollowUp, Back, Help],
            Pane::Editor => {
                vec![Send, ToggleVisibility, TogglePreview, ExternalEditor, InsertMacro, CloseEditor]
            }
        }
    }

    fn next_req(&mut self) -> u64 {
        self.next_req += 1;
        self.next_req
    }

    fn recompute_visible(&mut self) {
        let keep = self.selected().map(|t| t.id);
        let agents = &self.agents;
        let name = |id: AgentId| agents.iter().find(|a| a.id == id).map(|a| a.name.clone());
        let me = self.me.as_ref().map(|m| m.agent.id);
        self.visible = self.search.apply(&self.query, &self.tickets, me, &name);
        self.reselect(keep);
    }

    /// Keeps the same ticket selected across list changes; if it left the list, the row
    /// that took its place (the next ticket) is selected.
    fn reselect(&mut self, keep: Option<TicketId>) {
        if let Some(id) = keep
            && let Some(pos) = self.visible.iter().position(|&i| self.tickets[i].id == id)
        {
            self.cursor = pos;
        }
        self.cursor = self.cursor.min(self.visible.len().saturating_sub(1));
        self.scroll_to_cursor();
    }

    fn scroll_to_cursor(&mut self) {
        let h = self.queue_height();
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + h {
            self.offset = self.cursor + 1 - h;
        }
        self.offset = self.offset.min(self.visible.len().saturating_sub(h));
        if self.cursor < self.offset {
            self.offset = self.cursor;
        }
    }

    fn position_of(&self, id: TicketId) -> Option<usize> {
        self.tickets.iter().position(|t| t.id == id)
    }

    /// Tickets an action applies to: the marked ones, else the one in focus.
    pub fn targets(&self) -> Vec<TicketId> {
        if !self.marks.is_empty() {
            return self.marks.iter().copied().collect();
        }
        match self.focus {
            Pane::Conversation | Pane::Contact | Pane::Editor => {
                self.open.as_ref().map(|o| vec![o.ticket.id]).unwrap_or_default()
            }
            Pane::Queue => self.selected().map(|t| vec![t.id]).unwrap_or_default(),
        }
    }

    fn find_ticket(&self, id: TicketId) -> Option<&Ticket> {
        self.tickets
            .iter()
            .find(|t| t.id == id)
            .or_else(|| self.open.as_ref().map(|o| &o.ticket).filter(|t| t.id == id))
    }

    fn load_view(&mut self) -> Vec<Effect> {
        let Some(view) = self.current_view() else { return vec![] };
        let id = view.id;
        self.tickets_gen += 1;
        self.loading = true;
        vec![Effect::LoadTickets { view: id, after: None, generation: self.tickets_gen }]
    }

    fn switch_view(&mut self, idx: usize) -> Vec<Effect> {
        if idx >= self.views.len() {
            return vec![];
        }
        self.view_idx = idx;
        self.cursor = 0;
        self.offset = 0;
        self.marks.clear();
        self.tickets.clear();
        self.visible.clear();
        self.focus = Pane::Queue;
        self.load_view()
    }
}

/// Does a ticket belong in a view? Used to place tickets that arrive over SSE and to drop
/// tickets that an action moved out of the view (the "move to next" behaviour).
pub fn view_matches(f: &TicketFilter, t: &Ticket, me: Option<AgentId>, now: Timestamp) -> bool {
    if !f.status.is_empty() && !f.status.contains(&t.status) {
        return false;
    }
    if !f.priority.is_empty() && !f.priority.contains(&t.priority) {
        return false;
    }
    match &f.assignee {
        Some(AssigneeFilter::Me) if t.assignee_id.is_none() || t.assignee_id != me => return false,
        Some(AssigneeFilter::None) if t.assignee_id.is_some() => return false,
        Some(AssigneeFilter::Agent(a)) if t.assignee_id != Some(*a) => return false,
        _ => {}
    }
    if !f.team.is_empty() && !f.team.contains(&t.team_id) {
        return false;
    }
    if !f.tag.iter().all(|tag| t.tags.iter().any(|x| x.eq_ignore_ascii_case(tag))) {
        return false;
    }
    if let Some(q) = &f.q
        && !t.subject.to_lowercase().contains(&q.to_lowercase())
    {
        return false;
    }
    if let Some(mins) = f.breaching_within {
        let limit = now + SignedDuration::from_mins(mins);
        if running_due(t).is_none_or(|d| d > limit) {
            return false;
        }
    }
    if t.snoozed_until.is_some_and(|s| s > now) {
        return false;
    }
    t.merged_into.is_none()
}

/// The soonest due instant of a running clock (what "sort by SLA" orders by).
fn running_due(t: &Ticket) -> Option<Timestamp> {
    t.next_sla_due_at.or_else(|| {
        [&t.sla.first_response, &t.sla.next_response, &t.sla.resolution]
            .iter()
            .filter_map(|m| m.as_ref().filter(|m| m.clock == SlaClock::Running).and_then(|m| m.due_at))
            .min()
    })
}

fn sort_key_cmp(sort: SortKey, a: &Ticket, b: &Ticket) -> std::cmp::Ordering {
    match sort {
        SortKey::Sla => match (running_due(a), running_due(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.id.cmp(&b.id),
        },
        SortKey::Priority => b.priority.cmp(&a.priority).then(a.created_at.cmp(&b.created_at)),
        SortKey::Updated => b.updated_at.cmp(&a.updated_at),
        SortKey::Created => b.created_at.cmp(&a.created_at),
    }
}

/// Applies a patch to a local copy (the optimistic half of an update).
pub fn apply_patch(t: &mut Ticket, p: &TicketPatch) {
    if let Some(s) = p.status {
        t.status = s;
    }
    if let Some(pr) = p.priority {
        t.priority = pr;
    }
    if let Some(a) = p.assignee_id {
        t.assignee_id = a;
    }
    if let Some(team) = p.team_id {
        t.team_id = team;
    }
    if let Some(s) = &p.subject {
        t.subject = s.clone();
    }
    for tag in &p.add_tags {
        if !t.tags.iter().any(|x| x == tag) {
            t.tags.push(tag.clone());
        }
    }
    t.tags.retain(|x| !p.remove_tags.contains(x));
    if let Some(s) = p.snoozed_until {
        t.snoozed_until = s;
    }
}

/// The patch that takes `after` back to `before` for the fields `p` touched.
pub fn inverse_patch(before: &Ticket, p: &TicketPatch) -> TicketPatch {
    TicketPatch {
        status: p.status.map(|_| before.status),
        priority: p.priority.map(|_| before.priority),
        assignee_id: p.assignee_id.map(|_| before.assignee_id),
        team_id: p.team_id.map(|_| before.team_id),
        subject: p.subject.as_ref().map(|_| before.subject.clone()),
        add_tags: p.remove_tags.iter().filter(|t| before.tags.contains(t)).cloned().collect(),
        remove_tags: p.add_tags.iter().filter(|t| !before.tags.contains(t)).cloned().collect(),
        snoozed_until: p.snoozed_until.map(|_| before.snoozed_until),
    }
}

fn finishes(p: &TicketPatch, now: Timestamp) -> bool {
    matches!(p.status, Some(Status::Solved | Status::Closed))
        || p.snoozed_until.is_some_and(|s| s.is_some_and(|s| s > now))
}

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(app, key),
        Msg::Paste(text) => {
            if let Some(ed) = app.editor.as_mut().filter(|_| app.focus == Pane::Editor) {
                ed.textarea.insert_str(&text);
                ed.dirty = true;
            } else if let Some(Modal::Input { text: t, .. } | Modal::Picker { query: t, .. }) =
                app.modal.as_mut()
            {
                t.push_str(&text.replace(['\n', '\r'], " "));
            } else if app.filter_editing {
                app.filter_text.push_str(&text.replace(['\n', '\r'], " "));
                apply_filter_text(app);
            }
            vec![]
        }
        Msg::Resize(w, h) => {
            app.size = (w, h);
            if app.narrow() && app.focus == Pane::Contact && !app.show_contact {
                app.focus = Pane::Queue;
            }
            app.scroll_to_cursor();
            vec![]
        }
        Msg::Tick(now) => on_tick(app, now),
        Msg::Connection(c) => {
            let was = app.conn;
            app.conn = c;
            // Events missed while away were replayed by Last-Event-ID, but counts and the
            // first load may never have happened if we started offline.
            if c == Conn::Live && matches!(was, Conn::Offline) && app.tickets.is_empty() {
                let mut fx = vec![Effect::LoadMe, Effect::LoadViews];
                fx.extend(app.load_view());
                return fx;
            }
            vec![]
        }
        Msg::Event(ev) => on_event(app, ev),
        Msg::Me(Ok(me)) => {
            app.me = Some(me);
            app.recompute_visible();
            vec![]
        }
        Msg::Views(Ok(views)) => {
            let first = app.views.is_empty();
            let current = app.current_view().map(|v| v.id);
            app.views = views;
            if let Some(id) = current {
                app.view_idx = app.views.iter().position(|v| v.id == id).unwrap_or(0);
            } else {
                // Start on the first view with work in it, not on an empty "My open".
                app.view_idx = app.views.iter().position(|v| v.count.is_some_and(|c| c > 0)).unwrap_or(0);
            }
            if first { app.load_view() } else { vec![] }
        }
        Msg::Tickets { view, generation, first, result } => {
            if generation != app.tickets_gen || app.current_view().map(|v| v.id) != Some(view) {
                return vec![]; // a stale answer for a view we left
            }
            match result {
                Ok(page) => {
                    let keep = app.selected().map(|t| t.id);
                    if first {
                        app.tickets = page.items;
                    } else {
                        app.tickets.extend(page.items);
                    }
                    app.visible.clear();
                    app.recompute_visible();
                    if first && keep.is_none() {
                        app.cursor = 0;
                        app.offset = 0;
                    }
                    match page.next {
                        Some(after) => vec![Effect::LoadTickets { view, after: Some(after), generation }],
                        None => {
                            app.loading = false;
                            vec![]
                        }
                    }
                }
                Err(e) => {
                    app.loading = false;
                    app.toast_error(format!("Could not load the view: {}", e.message));
                    vec![]
                }
            }
        }
        Msg::Ticket(id, Ok(t)) => on_ticket(app, id, t),
        Msg::Ticket(id, Err(e)) => {
            if let Some(Modal::Conflict(c)) = app.modal.as_ref()
                && c.id == id
                && c.theirs.is_none()
            {
                app.modal = None;
                app.toast_error(format!(
                    "#{id} changed and could not be reloaded ({}); your change was not applied",
                    e.message
                ));
            }
            if e.kind == FailureKind::NotFound {
                app.tickets.retain(|t| t.id != id);
                app.recompute_visible();
            }
            if app.open_when_loaded == Some(id) {
                app.open_when_loaded = None;
                app.toast_error(format!("Could not open #{id}: {}", e.message));
            }
            vec![]
        }
        Msg::Messages(id, Ok(messages)) => {
            let mut refs = Vec::new();
            if let Some(open) = app.open.as_mut().filter(|o| o.ticket.id == id) {
                for m in &messages {
                    let doc = open.docs.entry(m.id).or_insert_with(|| crate::tui::view::parse_body(m));
                    crate::tui::refs::mention_refs(m, doc, &mut refs);
                }
                open.messages = Some(messages);
            }
            let ask = app.labels.to_ask(refs);
            if ask.is_empty() { vec![] } else { vec![Effect::Resolve(ask)] }
        }
        Msg::Context(id, Ok(ctx)) => {
            app.contexts.insert(id, ctx);
            vec![]
        }
        Msg::Resolved(Ok(items)) => {
            for it in items {
                app.labels.insert(it.kind, it.id, it.label);
            }
            vec![]
        }
        Msg::Agents(Ok(agents)) => {
            app.agents = agents;
            if app.after_load == Some(Action::Assign) {
                app.after_load = None;
                return run_action(app, Action::Assign);
            }
            vec![]
        }
        Msg::Macros(Ok(macros)) => {
            app.macros = Some(macros);
            match app.after_load.take() {
                Some(a @ (Action::ApplyMacro | Action::InsertMacro)) => run_action(app, a),
                _ => vec![],
            }
        }
        Msg::Notifications(Ok(list)) => {
            app.unread = list.iter().filter(|n| !n.read).count();
            app.notifications = list;
            if let Some(Modal::Picker { title, items, .. }) = app.modal.as_mut()
                && title == "Notifications"
            {
                *items = notification_items(&app.notifications);
            }
            vec![]
        }
        Msg::Presence(id, Ok(list)) => {
            let me = app.my_id();
            if let Some(open) = app.open.as_mut().filter(|o| o.ticket.id == id) {
                open.others = list.into_iter().filter(|p| Some(p.agent_id) != me).collect();
            }
            vec![]
        }
        Msg::Patched { req, id, result } => on_patched(app, req, id, result),
        Msg::Bulk { req, result } => on_bulk(app, req, result),
        Msg::MacroPreview { ticket, macro_id, result } => {
            match (result, app.modal.as_mut()) {
                (Ok(outcome), Some(Modal::MacroPreview { macro_id: m, outcome: o, .. }))
                    if *m == macro_id =>
                {
                    *o = Some(Box::new(outcome));
                }
                (Err(e), _) => {
                    app.modal = None;
                    app.toast_error(format!("Macro preview for #{ticket} failed: {}", e.message));
                }
                _ => {}
            }
            vec![]
        }
        Msg::MacroApplied { ticket, result } => match result {
            Ok(outcome) => {
                let finished = !outcome.ticket.status.is_open();
                app.toast(format!("Macro applied to #{ticket}"));
                let mut fx = on_ticket(app, ticket, outcome.ticket);
                if finished {
                    remove_from_view(app, ticket);
                }
                if app.open.as_ref().is_some_and(|o| o.ticket.id == ticket) {
                    fx.push(Effect::LoadMessages(ticket));
                }
                fx
            }
            Err(e) => {
                app.toast_error(format!("Macro on #{ticket} failed: {}", e.message));
                vec![]
            }
        },
        Msg::Sent { ticket, visibility, result } => {
            let what = if visibility == Visibility::Internal { "Note" } else { "Reply" };
            match result {
                Ok(m) => {
                    app.toast(format!("{what} sent on #{ticket}"));
                    if let Some(open) = app.open.as_mut().filter(|o| o.ticket.id == ticket)
                        && let Some(list) = open.messages.as_mut()
                        && !list.iter().any(|x| x.id == m.id)
                    {
                        open.docs.insert(m.id, crate::tui::view::parse_body(&m));
                        list.push(m);
                    }
                    app.own_reload.insert(ticket);
                    vec![Effect::LoadTicket(ticket)]
                }
                Err(e) => {
                    app.toast_error(format!(
                        "{what} on #{ticket} is in the outbox ({}); it will be retried",
                        e.message
                    ));
                    vec![]
                }
            }
        }
        Msg::Draft { ticket, draft } => {
            if let (Some(ed), Some((vis, text))) = (app.editor.as_mut(), draft)
                && ed.ticket == ticket
                && ed.textarea.is_empty()
                && !text.is_empty()
            {
                ed.visibility = vis;
                ed.textarea = new_textarea(&text);
                app.toast("Draft restored");
            }
            vec![]
        }
        Msg::EditorText(Ok(text)) => {
            if let Some(ed) = app.editor.as_mut() {
                ed.textarea = new_textarea(&text);
                ed.dirty = true;
                app.focus = Pane::Editor;
            }
            vec![]
        }
        Msg::EditorText(Err(e)) => {
            app.toast_error(format!("$EDITOR failed: {}", e.message));
            vec![]
        }
        Msg::CrmSaved { what, contact, result } => match result {
            Ok(()) => {
                app.toast(format!("{what} saved"));
                vec![Effect::LoadContext(contact)]
            }
            Err(e) => {
                app.toast_error(format!("Could not save the {what}: {}", e.message));
                vec![]
            }
        },
        Msg::Shutdown => {
            app.quit = true;
            vec![Effect::Quit]
        }
        Msg::Warnings(list) => {
            for w in list {
                app.toast_error(w);
            }
            vec![]
        }
        Msg::Me(Err(e))
        | Msg::Views(Err(e))
        | Msg::Context(_, Err(e))
        | Msg::Agents(Err(e))
        | Msg::Macros(Err(e))
        | Msg::Notifications(Err(e))
        | Msg::Presence(_, Err(e)) => {
            app.after_load = None;
            if e.kind != FailureKind::Offline {
                app.toast_error(e.message);
            }
            vec![]
        }
        Msg::Messages(id, Err(e)) => {
            app.toast_error(format!("Could not load the conversation of #{id}: {}", e.message));
            vec![]
        }
        Msg::Resolved(Err(_)) => {
            // Ids stay as their own labels; try again next time the conversation loads.
            app.labels.failed();
            vec![]
        }
    }
}

fn on_tick(app: &mut App, now: Timestamp) -> Vec<Effect> {
    app.now = now;
    app.toasts.retain(|t| t.until > now);
    if app.undo.as_ref().is_some_and(|u| now.duration_since(u.at) > UNDO_WINDOW) {
        app.undo = None;
    }
    let mut fx = Vec::new();
    if app.views_stale {
        app.views_stale = false;
        fx.push(Effect::LoadViews);
    }
    if let Some(ed) = app.editor.as_mut()
        && ed.dirty
    {
        ed.dirty = false;
        fx.push(Effect::SaveDraft { ticket: ed.ticket, visibility: ed.visibility, text: ed.text() });
    }
    let replying = app.editor.is_some();
    if let Some(open) = app.open.as_mut()
        && open.presence_at.is_none_or(|at| now.duration_since(at).as_secs() >= PRESENCE_RENEW_SECS)
    {
        open.presence_at = Some(now);
        let state = if replying { PresenceState::Replying } else { PresenceState::Viewing };
        fx.push(Effect::SetPresence { ticket: open.ticket.id, state });
    }
    fx
}

fn on_event(app: &mut App, ev: Event) -> Vec<Effect> {
    use crate::model::event_kind as k;
    let mut fx = Vec::new();
    let in_list = ev.ticket_id.is_some_and(|id| app.position_of(id).is_some());
    let is_open = ev.ticket_id.is_some() && app.open.as_ref().map(|o| o.ticket.id) == ev.ticket_id;
    match ev.kind.as_str() {
        k::TICKET_CREATED | k::TICKET_UPDATED | k::TICKET_MERGED | k::SLA_AT_RISK | k::SLA_BREACHED => {
            app.views_stale = true;
            if let Some(id) = ev.ticket_id
                && (ev.kind == k::TICKET_CREATED || in_list || is_open)
            {
                fx.push(Effect::LoadTicket(id));
            }
        }
        k::MESSAGE_CREATED | k::MESSAGE_UPDATED => {
            app.views_stale = true;
            if let Some(id) = ev.ticket_id {
                if is_open {
                    fx.push(Effect::LoadMessages(id));
                    // Someone wrote while we were writing: the banner says so.
                    let mine = ev.data.get("author_id").and_then(|v| v.as_i64()) == app.my_id().map(|a| a.0)
                        && ev.data.get("author_kind").and_then(|v| v.as_str()) == Some("agent");
                    if app.editor.as_ref().is_some_and(|e| e.ticket == id)
                        && !mine
                        && let Some(open) = app.open.as_mut()
                    {
                        open.changed = true;
                    }
                }
                if in_list || is_open {
                    fx.push(Effect::LoadTicket(id));
                }
            }
        }
        k::NOTIFICATION_CREATED => {
            app.unread += 1;
            fx.push(Effect::LoadNotifications);
            let kind =
                ev.data.get("kind").and_then(|k| k.as_str()).and_then(|k| k.parse::<NotificationKind>().ok());
            if kind.is_none_or(|k| app.notify_kinds.contains(&k)) {
                let summary = ev.data.get("summary").and_then(|s| s.as_str()).unwrap_or("New notification");
                let key = app.keymap.label(Action::Notifications);
                app.toast(format!("✉ {summary} ({key} to see all)"));
                if app.bell {
                    fx.push(Effect::Bell);
                }
            }
        }
        k::PRESENCE_CHANGED => {
            if is_open
                && let Ok(list) = serde_json::from_value::<PresenceList>(ev.data.clone())
                && let Some(open) = app.open.as_mut()
            {
                let me = app.me.as_ref().map(|m| m.agent.id);
                open.others = list.items.into_iter().filter(|p| Some(p.agent_id) != me).collect();
            }
        }
        k::RESYNC => fx.extend(refresh(app)),
        _ => {}
    }
    fx
}

/// A fresh copy of a ticket arrived: replace it, place it (new tickets go where the view's
/// sort puts them), drop it if it left the view, and keep the selection where it was.
fn on_ticket(app: &mut App, id: TicketId, t: Ticket) -> Vec<Effect> {
    let mut fx = Vec::new();
    if let Some(Modal::Conflict(c)) = app.modal.as_mut()
        && c.id == id
    {
        c.theirs = Some(t.clone());
    }
    let own_change = app.pending.values().any(|p| p.originals.iter().any(|(_, o)| o.id == id));
    let own_reply = app.own_reload.remove(&id);
    if let Some(open) = app.open.as_mut().filter(|o| o.ticket.id == id) {
        if t.version > open.seen_version && !own_change && !own_reply {
            open.changed = true;
        }
        if own_reply {
            open.seen_version = open.seen_version.max(t.version);
        }
        open.ticket = t.clone();
    }
    if app.open_when_loaded == Some(id) {
        app.open_when_loaded = None;
        fx.extend(open_ticket(app, t.clone()));
    }
    let keep = app.selected().map(|x| x.id);
    let me = app.my_id();
    let belongs = app.current_view().is_none_or(|v| view_matches(&v.filter, &t, me, app.now));
    match app.position_of(id) {
        Some(pos) if belongs || own_change => app.tickets[pos] = t,
        Some(pos) => {
            app.tickets.remove(pos);
        }
        None if belongs => {
            let sort = app.current_view().map(|v| v.sort).unwrap_or(SortKey::Sla);
            let at = app
                .tickets
                .iter()
                .position(|x| sort_key_cmp(sort, &t, x) == std::cmp::Ordering::Less)
                .unwrap_or(app.tickets.len());
            app.tickets.insert(at, t);
        }
        None => {}
    }
    app.recompute_visible();
    app.reselect(keep);
    fx
}

fn remove_from_view(app: &mut App, id: TicketId) {
    let keep_pos = app.cursor;
    if let Some(pos) = app.position_of(id) {
        app.tickets.remove(pos);
        app.marks.remove(&id);
        app.recompute_visible();
        app.cursor = keep_pos.min(app.visible.len().saturating_sub(1));
        app.scroll_to_cursor();
    }
}

fn on_patched(app: &mut App, req: u64, id: TicketId, result: Result<Ticket, Failure>) -> Vec<Effect> {
    let Some(pending) = app.pending.remove(&req) else { return vec![] };
    match result {
        Ok(t) => {
            if let Some(open) = app.open.as_mut().filter(|o| o.ticket.id == id) {
                open.seen_version = t.version;
                open.ticket = t.clone();
            }
            if let Some(pos) = app.position_of(id) {
                app.tickets[pos] = t;
            }
            vec![]
        }
        Err(e) => {
            rollback(app, &pending);
            app.undo = None;
            let base = pending.originals.iter().find(|(_, t)| t.id == id).map(|(_, t)| t.clone());
            if e.kind == FailureKind::Conflict
                && let Some(base) = base
            {
                // Show both versions and let the agent choose (DESIGN §9). The answer may carry
                // the current version; it is fetched again in any case so the dialog shows
                // what the server holds now.
                let theirs = e.current.and_then(|v| serde_json::from_value::<Ticket>(v).ok());
                let mut fx = Vec::new();
                if let Some(t) = &theirs {
                    fx.extend(on_ticket(app, id, t.clone()));
                }
                app.modal = Some(Modal::Conflict(Box::new(Conflict {
                    id,
                    label: pending.label,
                    patch: pending.patch,
                    base,
                    theirs,
                })));
                fx.push(Effect::LoadTicket(id));
                return fx;
            }
            app.toast_error(format!("{} on #{id} failed: {}; change undone", pending.label, e.message));
            vec![Effect::LoadTicket(id)]
        }
    }
}

/// The rows of the conflict dialog: every field we changed or someone else changed.
pub fn conflict_rows(app: &App, c: &Conflict) -> Vec<ConflictRow> {
    let mut mine = c.base.clone();
    apply_patch(&mut mine, &c.patch);
    let agent = |a: Option<AgentId>| match a {
        None => "unassigned".to_string(),
        Some(id) if Some(id) == app.my_id() => "me".to_string(),
        Some(id) => app.agent_name(id).unwrap_or_else(|| format!("agent {id}")),
    };
    let tags = |t: &Ticket| if t.tags.is_empty() { "none".to_string() } else { t.tags.join(" ") };
    let snooze = |t: &Ticket| match t.snoozed_until {
        Some(at) if at > app.now => when::describe(at, &app.tz),
        _ => "not snoozed".to_string(),
    };
    let p = &c.patch;
    type Show<'a> = &'a dyn Fn(&Ticket) -> String;
    let fields: [(&'static str, bool, Show); 6] = [
        ("status", p.status.is_some(), &|t: &Ticket| t.status.as_str().replace('_', " ")),
        ("priority", p.priority.is_some(), &|t: &Ticket| t.priority.to_string()),
        ("assignee", p.assignee_id.is_some(), &|t: &Ticket| agent(t.assignee_id)),
        ("tags", !p.add_tags.is_empty() || !p.remove_tags.is_empty(), &tags),
        ("snoozed", p.snoozed_until.is_some(), &snooze),
        ("subject", p.subject.is_some(), &|t: &Ticket| t.subject.clone()),
    ];
    fields
        .into_iter()
        .filter_map(|(field, ours, show)| {
            let base = show(&c.base);
            let theirs = c.theirs.as_ref().map(show);
            let changed = theirs.as_ref().is_some_and(|t| *t != base);
            (ours || changed).then(|| ConflictRow { field, mine: show(&mine), base, theirs, ours, changed })
        })
        .collect()
}

fn on_bulk(app: &mut App, req: u64, result: Result<BulkResult, Failure>) -> Vec<Effect> {
    let Some(pending) = app.pending.remove(&req) else { return vec![] };
    match result {
        Ok(res) => {
            let failed: Vec<TicketId> = res.results.iter().filter(|r| !r.ok).map(|r| r.id).collect();
            for r in res.results.into_iter().filter(|r| r.ok) {
                if let (Some(t), Some(pos)) = (r.ticket, app.position_of(r.id)) {
                    app.tickets[pos] = t;
                }
            }
            if !failed.is_empty() {
                let back = Pending {
                    originals: pending
                        .originals
                        .into_iter()
                        .filter(|(_, t)| failed.contains(&t.id))
                        .collect(),
                    label: pending.label.clone(),
                    patch: pending.patch.clone(),
                };
                rollback(app, &back);
                let ids: Vec<String> = failed.iter().map(|i| format!("#{i}")).collect();
                app.toast_error(format!("{} failed on {}; those were undone", pending.label, ids.join(", ")));
            }
            vec![]
        }
        Err(e) => {
            rollback(app, &pending);
            app.undo = None;
            app.toast_error(format!("{} failed: {}; change undone", pending.label, e.message));
            vec![]
        }
    }
}

fn rollback(app: &mut App, pending: &Pending) {
    let keep = app.selected().map(|t| t.id);
    // Reinsert in ascending original position so indices stay right.
    let mut originals = pending.originals.clone();
    originals.sort_by_key(|(i, _)| *i);
    for (idx, t) in originals {
        if let Some(open) = app.open.as_mut().filter(|o| o.ticket.id == t.id) {
            open.ticket = t.clone();
        }
        match app.position_of(t.id) {
            Some(pos) => app.tickets[pos] = t,
            None => {
                let at = idx.min(app.tickets.len());
                app.tickets.insert(at, t);
            }
        }
    }
    app.recompute_visible();
    app.reselect(keep);
}

/// Applies a patch optimistically to the targets and emits the request(s).
fn change(app: &mut App, targets: Vec<TicketId>, patch: TicketPatch, label: &str) -> Vec<Effect> {
    change_with(app, targets, patch, label, true)
}

/// `check_version` sends `If-Match` so a change made on a stale copy is refused (412) rather
/// than silently overwriting someone else's; undo skips it because it reverts our own change.
fn change_with(
    app: &mut App,
    targets: Vec<TicketId>,
    patch: TicketPatch,
    label: &str,
    check_version: bool,
) -> Vec<Effect> {
    if targets.is_empty() || patch.is_empty() {
        return vec![];
    }
    let now = app.now;
    let finishing = finishes(&patch, now);
    let mut originals = Vec::new();
    let mut undo_items = Vec::new();
    let mut versions = Vec::new();
    for id in &targets {
        let Some(before) = app.find_ticket(*id).cloned() else { continue };
        undo_items.push((*id, inverse_patch(&before, &patch)));
        // A change still in flight on this ticket means our copy's version is already stale.
        let in_flight = app.pending.values().any(|p| p.originals.iter().any(|(_, o)| o.id == *id));
        versions.push((check_version && !in_flight).then_some(before.version));
        let idx = app.position_of(*id).unwrap_or(usize::MAX);
        originals.push((idx, before));
        if let Some(pos) = app.position_of(*id) {
            apply_patch(&mut app.tickets[pos], &patch);
        }
        if let Some(open) = app.open.as_mut().filter(|o| o.ticket.id == *id) {
            apply_patch(&mut open.ticket, &patch);
        }
    }
    if originals.is_empty() {
        return vec![];
    }
    let req = app.next_req();
    app.pending.insert(req, Pending { originals, label: label.to_string(), patch: patch.clone() });
    let before = app.pending.get(&req).map(|p| p.originals.clone()).unwrap_or_default();
    app.undo = Some(Undo { at: now, label: label.to_string(), items: undo_items, before });
    // Tickets the change moved out of this view leave the list; the cursor stays on the
    // same row, which is now the next ticket.
    let me = app.my_id();
    let leaving: Vec<TicketId> = targets
        .iter()
        .copied()
        .filter(|id| {
            app.position_of(*id).is_some_and(|pos| {
                finishing
                    || app
                        .current_view()
                        .is_some_and(|v| !view_matches(&v.filter, &app.tickets[pos], me, now))
            })
        })
        .collect();
    for id in leaving {
        remove_from_view(app, id);
    }
    app.marks.clear();
    app.recompute_visible();
    if finishing
        && app.focus != Pane::Queue
        && app.open.as_ref().is_some_and(|o| targets.contains(&o.ticket.id))
    {
        // Finished the open ticket: go on with the next one in the queue.
        if let Some(next) = app.selected().cloned() {
            let mut fx = open_ticket(app, next);
            fx.extend(emit_change(req, &targets, versions, patch));
            return fx;
        }
    }
    emit_change(req, &targets, versions, patch)
}

fn emit_change(
    req: u64,
    targets: &[TicketId],
    versions: Vec<Option<i64>>,
    patch: TicketPatch,
) -> Vec<Effect> {
    if targets.len() == 1 {
        vec![Effect::UpdateTicket {
            req,
            id: targets[0],
            patch,
            version: versions.first().copied().flatten(),
        }]
    } else {
        vec![Effect::BulkUpdate { req, ids: targets.to_vec(), patch }]
    }
}

fn open_ticket(app: &mut App, t: Ticket) -> Vec<Effect> {
    let id = t.id;
    let contact = t.requester_id;
    let same = app.open.as_ref().is_some_and(|o| o.ticket.id == id);
    let left = app.open.as_ref().map(|o| o.ticket.id).filter(|_| !same);
    if !same {
        if let Some(ed) = app.editor.take() {
            let text = ed.text();
            if !text.trim().is_empty() {
                app.toast(format!("Draft for #{} kept", ed.ticket));
            }
        }
        app.open = Some(OpenTicket {
            seen_version: t.version,
            ticket: t,
            messages: None,
            docs: HashMap::new(),
            scroll: 0,
            changed: false,
            others: Vec::new(),
            presence_at: Some(app.now),
        });
        app.contact_cursor = 0;
    }
    app.focus = Pane::Conversation;
    let mut fx =
        vec![Effect::LoadMessages(id), Effect::SetPresence { ticket: id, state: PresenceState::Viewing }];
    fx.extend(left.map(Effect::ClearPresence));
    if !app.contexts.contains_key(&contact) {
        fx.push(Effect::LoadContext(contact));
    }
    fx
}

fn open_editor(app: &mut App, visibility: Visibility) -> Vec<Effect> {
    let mut fx = Vec::new();
    if app.open.is_none() || app.focus == Pane::Queue {
        let Some(t) = app.selected().cloned() else { return fx };
        fx.extend(open_ticket(app, t));
    }
    let Some(open) = app.open.as_ref() else { return fx };
    let id = open.ticket.id;
    match app.editor.as_mut() {
        Some(ed) if ed.ticket == id => ed.visibility = visibility,
        _ => {
            app.editor = Some(Editor {
                ticket: id,
                visibility,
                textarea: new_textarea(""),
                preview: false,
                dirty: false,
            });
            fx.push(Effect::LoadDraft(id));
        }
    }
    app.focus = Pane::Editor;
    if let Some(open) = app.open.as_mut() {
        open.presence_at = Some(app.now);
    }
    fx.push(Effect::SetPresence { ticket: id, state: PresenceState::Replying });
    fx
}

pub fn new_textarea(text: &str) -> TextArea<'static> {
    let lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let mut ta = TextArea::new(lines);
    ta.move_cursor(ratatui_textarea::CursorMove::Bottom);
    ta.move_cursor(ratatui_textarea::CursorMove::End);
    ta
}

fn refresh(app: &mut App) -> Vec<Effect> {
    let mut fx = vec![Effect::LoadViews, Effect::LoadNotifications];
    fx.extend(app.load_view());
    if let Some(open) = app.open.as_ref() {
        fx.push(Effect::LoadTicket(open.ticket.id));
        fx.push(Effect::LoadMessages(open.ticket.id));
        app.contexts.remove(&open.ticket.requester_id);
        fx.push(Effect::LoadContext(open.ticket.requester_id));
    }
    fx
}

fn apply_filter_text(app: &mut App) {
    match Query::parse(&app.filter_text) {
        Ok(q) => {
            app.filter_error = None;
            if q != app.query {
                app.query = q;
                app.recompute_visible();
            }
        }
        Err(e) => app.filter_error = Some(e),
    }
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if key.kind == crossterm::event::KeyEventKind::Release {
        return vec![];
    }
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        app.quit = true;
        return vec![Effect::Quit];
    }
    if app.modal.is_some() {
        return modal_key(app, key);
    }
    if app.filter_editing {
        return filter_key(app, key);
    }
    let Some(chord) = Chord::from_event(&key) else { return vec![] };
    if app.focus == Pane::Editor {
        if let Some(action) = app.keymap.action_for(Context::Editor, chord) {
            return run_action(app, action);
        }
        if let Some(ed) = app.editor.as_mut() {
            if ed.preview {
                return vec![];
            }
            if ed.textarea.input(key) {
                ed.dirty = true;
            }
        }
        return vec![];
    }
    if key.code == KeyCode::Esc {
        return back(app, false);
    }
    match app.keymap.action_for(app.context(), chord) {
        Some(action) => run_action(app, action),
        None => vec![],
    }
}

fn back(app: &mut App, may_quit: bool) -> Vec<Effect> {
    match app.focus {
        Pane::Editor => {
            app.focus = Pane::Conversation;
            close_editor(app)
        }
        Pane::Contact => {
            app.focus = Pane::Conversation;
            vec![]
        }
        Pane::Conversation => {
            app.focus = Pane::Queue;
            if app.editor.is_none()
                && let Some(open) = app.open.take()
            {
                return vec![Effect::ClearPresence(open.ticket.id)];
            }
            vec![]
        }
        Pane::Queue if !app.marks.is_empty() => {
            app.marks.clear();
            vec![]
        }
        Pane::Queue if !app.filter_text.is_empty() => {
            app.filter_text.clear();
            apply_filter_text(app);
            vec![]
        }
        Pane::Queue if may_quit => {
            app.quit = true;
            vec![Effect::Quit]
        }
        Pane::Queue => vec![],
    }
}

fn close_editor(app: &mut App) -> Vec<Effect> {
    let Some(ed) = app.editor.take() else { return vec![] };
    if app.focus == Pane::Editor {
        app.focus = Pane::Conversation;
    }
    let text = ed.text();
    if text.trim().is_empty() {
        vec![Effect::DeleteDraft(ed.ticket)]
    } else {
        app.toast("Draft saved");
        vec![Effect::SaveDraft { ticket: ed.ticket, visibility: ed.visibility, text }]
    }
}

fn filter_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Esc => {
            app.filter_editing = false;
            app.filter_text.clear();
            apply_filter_text(app);
        }
        KeyCode::Enter => app.filter_editing = false,
        KeyCode::Backspace => {
            app.filter_text.pop();
            apply_filter_text(app);
        }
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            app.filter_text.clear();
            apply_filter_text(app);
        }
        KeyCode::Down => move_cursor(app, 1),
        KeyCode::Up => move_cursor(app, -1),
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            app.filter_text.push(c);
            apply_filter_text(app);
        }
        _ => {}
    }
    vec![]
}

fn move_cursor(app: &mut App, delta: isize) {
    match app.focus {
        Pane::Queue => {
            let len = app.visible.len();
            if len == 0 {
                return;
            }
            let c = app.cursor as isize + delta;
            app.cursor = c.clamp(0, len as isize - 1) as usize;
            app.scroll_to_cursor();
        }
        Pane::Conversation => {
            if let Some(open) = app.open.as_mut() {
                open.scroll = (open.scroll as isize + delta).clamp(0, u16::MAX as isize) as u16;
            }
        }
        Pane::Contact => {
            let n = app
                .open
                .as_ref()
                .and_then(|o| app.contexts.get(&o.ticket.requester_id))
                .map(|c| c.recent_tickets.len())
                .unwrap_or(0);
            if n > 0 {
                app.contact_cursor = (app.contact_cursor as isize + delta).clamp(0, n as isize - 1) as usize;
            }
        }
        Pane::Editor => {}
    }
}

fn line_input(text: &mut String, key: &KeyEvent) -> bool {
    match key.code {
        KeyCode::Backspace => {
            text.pop();
            true
        }
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            text.clear();
            true
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            text.push(c);
            true
        }
        _ => false,
    }
}

fn modal_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if let Some(Modal::Conflict(_)) = &app.modal {
        if key.code == KeyCode::Esc {
            return run_action(app, Action::ConflictKeepTheirs);
        }
        return match Chord::from_event(&key).and_then(|c| app.keymap.action_for(Context::Conflict, c)) {
            Some(action) => run_action(app, action),
            None => vec![],
        };
    }
    if key.code == KeyCode::Esc {
        app.modal = None;
        return vec![];
    }
    if let Some(Modal::Picker { .. }) = &app.modal {
        return picker_key(app, key);
    }
    let Some(modal) = app.modal.as_mut() else { return vec![] };
    match modal {
        Modal::Help { query, scroll } => {
            match key.code {
                KeyCode::Down => *scroll += 1,
                KeyCode::Up => *scroll = scroll.saturating_sub(1),
                KeyCode::Enter => app.modal = None,
                _ => {
                    if line_input(query, &key) {
                        *scroll = 0;
                    }
                }
            }
            vec![]
        }
        Modal::Picker { .. } | Modal::Conflict(_) => vec![],
        Modal::Input { kind, text, error } => {
            if key.code == KeyCode::Enter {
                let (kind, text) = (*kind, text.clone());
                return submit_input(app, kind, &text);
            }
            if line_input(text, &key) {
                *error = None;
            }
            vec![]
        }
        Modal::MacroPreview { macro_id, targets, outcome, .. } => {
            if key.code == KeyCode::Enter && outcome.is_some() {
                let (m, targets) = (*macro_id, targets.clone());
                app.modal = None;
                let fx: Vec<Effect> =
                    targets.into_iter().map(|ticket| Effect::ApplyMacro { ticket, macro_id: m }).collect();
                app.marks.clear();
                return fx;
            }
            vec![]
        }
    }
}

fn picker_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let Some(modal) = app.modal.as_ref() else { return vec![] };
    let items = modal.visible_items();
    let n = items.len();
    let Modal::Picker { query, selected, .. } = modal else { return vec![] };
    let chosen = items.get(*selected).map(|i| i.value.clone());
    let (mut query, mut selected) = (query.clone(), *selected);
    match key.code {
        KeyCode::Down | KeyCode::Tab => selected = (selected + 1).min(n.saturating_sub(1)),
        KeyCode::Up | KeyCode::BackTab => selected = selected.saturating_sub(1),
        KeyCode::Enter => {
            app.modal = None;
            return match chosen {
                Some(v) => pick(app, v),
                None => vec![],
            };
        }
        _ => {
            if line_input(&mut query, &key) {
                selected = 0;
            }
        }
    }
    if let Some(Modal::Picker { query: q, selected: s, .. }) = app.modal.as_mut() {
        *q = query;
        *s = selected;
    }
    vec![]
}

fn submit_input(app: &mut App, kind: InputKind, text: &str) -> Vec<Effect> {
    let set_error = |app: &mut App, e: String| {
        if let Some(Modal::Input { error, .. }) = app.modal.as_mut() {
            *error = Some(e);
        }
    };
    match kind {
        InputKind::Tags => {
            let mut patch = TicketPatch::default();
            for w in text.split_whitespace() {
                if let Some(t) = w.strip_prefix('-') {
                    patch.remove_tags.push(t.to_lowercase());
                } else {
                    patch.add_tags.push(w.trim_start_matches('+').to_lowercase());
                }
            }
            patch.add_tags.retain(|t| !t.is_empty());
            patch.remove_tags.retain(|t| !t.is_empty());
            if patch.is_empty() {
                set_error(app, "type tags to add (billing or +billing) or remove (-billing)".into());
                return vec![];
            }
            app.modal = None;
            let targets = app.targets();
            change(app, targets, patch, "Tags")
        }
        InputKind::Snooze => match when::parse(text, app.now, &app.tz) {
            Ok(at) => {
                app.modal = None;
                let targets = app.targets();
                let label = format!("Snooze until {}", when::describe(at, &app.tz));
                change(
                    app,
                    targets,
                    TicketPatch { snoozed_until: Some(Some(at)), ..TicketPatch::default() },
                    &label,
                )
            }
            Err(e) => {
                set_error(app, e);
                vec![]
            }
        },
        InputKind::Activity(kind) => {
            let Some(contact) = app.open.as_ref().map(|o| o.ticket.requester_id) else { return vec![] };
            if text.trim().is_empty() {
                set_error(app, "write a short summary".into());
                return vec![];
            }
            app.modal = None;
            let account_id = app.contexts.get(&contact).and_then(|c| c.account.as_ref().map(|a| a.id));
            vec![Effect::LogActivity(NewActivity {
                kind,
                summary: text.trim().to_string(),
                at: Some(app.now),
                contact_id: Some(contact),
                account_id,
            })]
        }
        InputKind::FollowUp => {
            let Some(open) = app.open.as_ref() else { return vec![] };
            let (contact, ticket) = (open.ticket.requester_id, open.ticket.id);
            let (title, due) = match text.rsplit_once('@') {
                Some((t, d)) => (t.trim(), Some(d.trim())),
                None => (text.trim(), None),
            };
            if title.is_empty() {
                set_error(app, "write the task, then `@ due` (e.g. `Send quote @ fri 10am`)".into());
                return vec![];
            }
            let due_at = match due.map(|d| when::parse(d, app.now, &app.tz)).transpose() {
                Ok(d) => d,
                Err(e) => {
                    set_error(app, e);
                    return vec![];
                }
            };
            app.modal = None;
            vec![Effect::CreateTask(NewTask {
                title: title.to_string(),
                due_at,
                assignee_id: app.my_id(),
                ticket_id: Some(ticket),
                contact_id: Some(contact),
                account_id: None,
            })]
        }
    }
}

fn pick(app: &mut App, value: PickValue) -> Vec<Effect> {
    let targets = app.targets();
    match value {
        PickValue::Agent(a) => {
            let label = match a.and_then(|id| app.agent_name(id)) {
                Some(n) => format!("Assign to {n}"),
                None => "Unassign".into(),
            };
            change(app, targets, TicketPatch { assignee_id: Some(a), ..TicketPatch::default() }, &label)
        }
        PickValue::Status(s) => change(
            app,
            targets,
            TicketPatch { status: Some(s), ..TicketPatch::default() },
            &format!("Status {s}"),
        ),
        PickValue::Priority(p) => change(
            app,
            targets,
            TicketPatch { priority: Some(p), ..TicketPatch::default() },
            &format!("Priority {p}"),
        ),
        PickValue::Macro(m) => {
            let Some(first) = targets.first().copied() else { return vec![] };
            let name = app
                .macros
                .as_ref()
                .and_then(|l| l.iter().find(|x| x.id == m))
                .map(|x| x.name.clone())
                .unwrap_or_default();
            app.modal = Some(Modal::MacroPreview { macro_id: m, name, targets, outcome: None });
            vec![Effect::PreviewMacro { ticket: first, macro_id: m }]
        }
        PickValue::InsertMacro(m) => {
            let text = app
                .macros
                .as_ref()
                .and_then(|l| l.iter().find(|x| x.id == m))
                .and_then(|x| x.reply_markdown.clone())
                .unwrap_or_default();
            if let Some(ed) = app.editor.as_mut() {
                ed.textarea.insert_str(&text);
                ed.dirty = true;
                app.focus = Pane::Editor;
            }
            vec![]
        }
        PickValue::Action(a) => run_action(app, a),
        PickValue::Notification(id, ticket) => {
            let mut fx = Vec::new();
            if let Some(n) = app.notifications.iter_mut().find(|n| n.id == id)
                && !n.read
            {
                n.read = true;
                app.unread = app.unread.saturating_sub(1);
                fx.push(Effect::MarkNotificationRead(id));
            }
            if let Some(tid) = ticket {
                match app.find_ticket(tid).cloned() {
                    Some(t) => fx.extend(open_ticket(app, t)),
                    None => {
                        app.open_when_loaded = Some(tid);
                        fx.push(Effect::LoadTicket(tid));
                    }
                }
            }
            fx
        }
        PickValue::Link(url) => vec![Effect::OpenUrl(url)],
        PickValue::ActivityKind(kind) => {
            app.modal =
                Some(Modal::Input { kind: InputKind::Activity(kind), text: String::new(), error: None });
            vec![]
        }
    }
}

fn notification_items(list: &[Notification]) -> Vec<PickItem> {
    list.iter()
        .map(|n| PickItem {
            label: format!("{} {}", if n.read { " " } else { "●" }, n.summary),
            detail: n.kind.as_str().replace('_', " "),
            value: PickValue::Notification(n.id, n.ticket_id),
        })
        .collect()
}

fn picker(app: &mut App, title: &str, items: Vec<PickItem>) {
    app.modal = Some(Modal::Picker { title: title.into(), query: String::new(), items, selected: 0 });
}

pub fn run_action(app: &mut App, action: Action) -> Vec<Effect> {
    use Action::*;
    if let Some(n) = action.view_number() {
        return app.switch_view(n - 1);
    }
    let needs_ticket = matches!(
        action,
        Reply
            | Note
            | ComposeExternal
            | AssignMe
            | Assign
            | SetStatus
            | SetPriority
            | Tags
            | Snooze
            | ApplyMacro
            | OpenLink
            | CopyId
    );
    if needs_ticket && app.targets().is_empty() {
        app.toast("No ticket selected");
        return vec![];
    }
    match action {
        Quit => {
            app.quit = true;
            vec![Effect::Quit]
        }
        Back => back(app, true),
        Help => {
            app.modal = Some(Modal::Help { query: String::new(), scroll: 0 });
            vec![]
        }
        Palette => {
            let items = Action::ALL
                .iter()
                .map(|a| PickItem {
                    label: a.name().to_string(),
                    detail: format!("{} [{}]", a.description(), app.keymap.label(*a)),
                    value: PickValue::Action(*a),
                })
                .collect();
            picker(app, "Run action", items);
            vec![]
        }
        NextPane | PrevPane => {
            let panes = app.panes();
            let pos = panes.iter().position(|p| *p == app.focus).unwrap_or(0);
            let n = panes.len();
            let next = if action == NextPane { (pos + 1) % n } else { (pos + n - 1) % n };
            app.focus = panes[next];
            vec![]
        }
        ToggleContact => {
            app.show_contact = !app.show_contact;
            if app.show_contact && app.open.is_some() && app.narrow() {
                app.focus = Pane::Contact;
            } else if !app.show_contact && app.focus == Pane::Contact {
                app.focus = Pane::Conversation;
            }
            vec![]
        }
        Notifications => {
            let items = notification_items(&app.notifications);
            picker(app, "Notifications", items);
            vec![Effect::LoadNotifications]
        }
        Refresh => {
            app.toast("Refreshing");
            refresh(app)
        }
        Suspend => vec![Effect::Suspend],
        View1 | View2 | View3 | View4 | View5 | View6 | View7 | View8 | View9 => vec![],
        Down => {
            move_cursor(app, 1);
            vec![]
        }
        Up => {
            move_cursor(app, -1);
            vec![]
        }
        PageDown => {
            move_cursor(app, app.queue_height() as isize);
            vec![]
        }
        PageUp => {
            move_cursor(app, -(app.queue_height() as isize));
            vec![]
        }
        Top => {
            match app.focus {
                Pane::Conversation => {
                    if let Some(o) = app.open.as_mut() {
                        o.scroll = 0;
                    }
                }
                _ => move_cursor(app, -(isize::MAX / 2)),
            }
            vec![]
        }
        Bottom => {
            move_cursor(app, isize::MAX / 2);
            vec![]
        }
        Open => {
            if app.focus == Pane::Contact {
                let ticket = app
                    .open
                    .as_ref()
                    .and_then(|o| app.contexts.get(&o.ticket.requester_id))
                    .and_then(|c| c.recent_tickets.get(app.contact_cursor).cloned());
                return match ticket {
                    Some(t) => open_ticket(app, t),
                    None => vec![],
                };
            }
            match app.selected().cloned() {
                Some(t) => open_ticket(app, t),
                None => vec![],
            }
        }
        Filter => {
            app.focus = Pane::Queue;
            app.filter_editing = true;
            vec![]
        }
        Reply => open_editor(app, Visibility::Public),
        Note => open_editor(app, Visibility::Internal),
        ComposeExternal => {
            let mut fx = open_editor(app, Visibility::Public);
            let text = app.editor.as_ref().map(Editor::text).unwrap_or_default();
            fx.push(Effect::ExternalEditor(text));
            fx
        }
        AssignMe => {
            let Some(me) = app.my_id() else {
                app.toast("Still connecting; try again in a moment");
                return vec![];
            };
            let targets = app.targets();
            change(
                app,
                targets,
                TicketPatch { assignee_id: Some(Some(me)), ..TicketPatch::default() },
                "Assign to me",
            )
        }
        Assign => {
            if app.agents.is_empty() {
                app.after_load = Some(Assign);
                return vec![Effect::LoadAgents];
            }
            let me = app.my_id();
            let mut items = vec![PickItem {
                label: "Unassigned".into(),
                detail: String::new(),
                value: PickValue::Agent(None),
            }];
            let mut agents = app.agents.clone();
            agents.sort_by_key(|a| (Some(a.id) != me, a.name.clone()));
            items.extend(agents.into_iter().map(|a| PickItem {
                label: if Some(a.id) == me { format!("{} (me)", a.name) } else { a.name.clone() },
                detail: a.email.clone(),
                value: PickValue::Agent(Some(a.id)),
            }));
            picker(app, "Assign to", items);
            vec![]
        }
        SetStatus => {
            let items = Status::ALL
                .iter()
                .map(|s| PickItem {
                    label: s.to_string(),
                    detail: String::new(),
                    value: PickValue::Status(*s),
                })
                .collect();
            picker(app, "Status", items);
            vec![]
        }
        SetPriority => {
            let items = Priority::ALL
                .iter()
                .rev()
                .map(|p| PickItem {
                    label: p.to_string(),
                    detail: String::new(),
                    value: PickValue::Priority(*p),
                })
                .collect();
            picker(app, "Priority", items);
            vec![]
        }
        Tags => {
            app.modal = Some(Modal::Input { kind: InputKind::Tags, text: String::new(), error: None });
            vec![]
        }
        Snooze => {
            app.modal = Some(Modal::Input { kind: InputKind::Snooze, text: String::new(), error: None });
            vec![]
        }
        ApplyMacro | InsertMacro => {
            let Some(macros) = app.macros.clone() else {
                app.after_load = Some(action);
                return vec![Effect::LoadMacros];
            };
            let insert = action == InsertMacro;
            let items = macros
                .iter()
                .filter(|m| !insert || m.reply_markdown.is_some())
                .map(|m| PickItem {
                    label: m.name.clone(),
                    detail: m.reply_markdown.clone().unwrap_or_default().chars().take(60).collect(),
                    value: if insert { PickValue::InsertMacro(m.id) } else { PickValue::Macro(m.id) },
                })
                .collect();
            picker(app, if insert { "Insert saved reply" } else { "Apply macro" }, items);
            vec![]
        }
        Mark => {
            if let Some(id) = app.selected().map(|t| t.id) {
                if !app.marks.remove(&id) {
                    app.marks.insert(id);
                }
                move_cursor(app, 1);
            }
            vec![]
        }
        MarkAll => {
            let all: BTreeSet<TicketId> = app.visible.iter().map(|&i| app.tickets[i].id).collect();
            if app.marks == all {
                app.marks.clear();
            } else {
                app.marks = all;
            }
            vec![]
        }
        Undo => match app.undo.take() {
            Some(u) if app.now.duration_since(u.at) <= UNDO_WINDOW => {
                let mut fx = Vec::new();
                let label = format!("Undo {}", u.label.to_lowercase());
                // Bring back tickets the change moved out of the list, where they were.
                let mut before = u.before.clone();
                before.sort_by_key(|(i, _)| *i);
                for (idx, t) in before {
                    if app.position_of(t.id).is_none() && idx != usize::MAX {
                        let at = idx.min(app.tickets.len());
                        app.tickets.insert(at, t);
                    }
                }
                app.recompute_visible();
                for (id, patch) in u.items {
                    fx.extend(change_with(app, vec![id], patch, &label, false));
                }
                app.undo = None;
                app.toast(label);
                fx
            }
            _ => {
                app.toast("Nothing to undo");
                vec![]
            }
        },
        OpenLink => {
            let Some(id) = app.targets().first().copied() else { return vec![] };
            let url = app.find_ticket(id).and_then(|t| t.external.url.clone());
            // The open conversation's links (in reading order) when the target is the open
            // ticket; from the queue, only the ticket's own link is known without loading.
            let docs: Vec<&crate::richtext::Doc> = app
                .open
                .as_ref()
                .filter(|o| o.ticket.id == id)
                .and_then(|o| o.messages.as_ref().map(|list| (o, list)))
                .map(|(o, list)| list.iter().filter_map(|m| o.docs.get(&m.id)).collect())
                .unwrap_or_default();
            let links = crate::tui::refs::conversation_links(url.as_deref(), docs);
            match links.len() {
                0 => {
                    app.toast(format!("No link on #{id}"));
                    vec![]
                }
                1 => vec![Effect::OpenUrl(links[0].url.clone())],
                _ => {
                    let items = links
                        .into_iter()
                        .enumerate()
                        .map(|(n, l)| PickItem {
                            label: format!("{} {}", n + 1, l.text),
                            detail: l.url.clone(),
                            value: PickValue::Link(l.url),
                        })
                        .collect();
                    picker(app, &format!("Links in #{id}"), items);
                    vec![]
                }
            }
        }
        CopyId => {
            let ids: Vec<String> = app.targets().iter().map(|i| format!("#{i}")).collect();
            let text = ids.join(" ");
            app.toast(format!("Copied {text}"));
            vec![Effect::Copy(text)]
        }
        LogActivity => {
            if app.open.is_none() {
                return vec![];
            }
            let items = ActivityKind::ALL
                .iter()
                .map(|k| PickItem {
                    label: k.to_string(),
                    detail: String::new(),
                    value: PickValue::ActivityKind(*k),
                })
                .collect();
            picker(app, "Log activity", items);
            vec![]
        }
        FollowUp => {
            if app.open.is_some() {
                app.modal =
                    Some(Modal::Input { kind: InputKind::FollowUp, text: String::new(), error: None });
            }
            vec![]
        }
        Send => {
            let Some(ed) = app.editor.as_ref() else { return vec![] };
            let text = ed.text();
            if text.trim().is_empty() {
                app.toast("Nothing to send");
                return vec![];
            }
            let (ticket, visibility) = (ed.ticket, ed.visibility);
            app.editor = None;
            app.focus = Pane::Conversation;
            if let Some(open) = app.open.as_mut() {
                open.changed = false;
            }
            vec![Effect::SendMessage { ticket, visibility, markdown: text }]
        }
        TogglePreview => {
            if let Some(ed) = app.editor.as_mut() {
                ed.preview = !ed.preview;
            }
            vec![]
        }
        ToggleVisibility => {
            if let Some(ed) = app.editor.as_mut() {
                ed.visibility = match ed.visibility {
                    Visibility::Public => Visibility::Internal,
                    Visibility::Internal => Visibility::Public,
                };
                ed.dirty = true;
            }
            vec![]
        }
        ExternalEditor => {
            let text = app.editor.as_ref().map(Editor::text).unwrap_or_default();
            vec![Effect::ExternalEditor(text)]
        }
        CloseEditor => close_editor(app),
        ConflictReapply => {
            let Some(Modal::Conflict(c)) = app.modal.as_ref() else {
                app.toast("No conflict to resolve");
                return vec![];
            };
            let Some(theirs) = c.theirs.clone() else {
                app.toast("Still loading the current version");
                return vec![];
            };
            let (id, patch, label) = (c.id, c.patch.clone(), c.label.clone());
            app.modal = None;
            seen_in_dialog(app, &theirs);
            if app.find_ticket(id).is_none() {
                // Left the view meanwhile: send it against the version we were shown.
                let req = app.next_req();
                let originals = vec![(usize::MAX, theirs.clone())];
                app.pending.insert(req, Pending { originals, label, patch: patch.clone() });
                return vec![Effect::UpdateTicket { req, id, patch, version: Some(theirs.version) }];
            }
            // Our copy is the server's version now, so If-Match carries its version: another
            // change in between raises the dialog again instead of overwriting it.
            change_with(app, vec![id], patch, &label, true)
        }
        ConflictKeepTheirs => {
            if let Some(Modal::Conflict(c)) = app.modal.take() {
                if let Some(theirs) = &c.theirs {
                    seen_in_dialog(app, theirs);
                }
                app.toast(format!("Kept the current #{}; {} dropped", c.id, c.label.to_lowercase()));
            }
            vec![]
        }
    }
}

/// The agent has seen the server's version in the conflict dialog: it no longer counts as
/// a change made behind their back, so the "changed" banner goes.
fn seen_in_dialog(app: &mut App, theirs: &Ticket) {
    if let Some(open) = app.open.as_mut().filter(|o| o.ticket.id == theirs.id) {
        open.seen_version = open.seen_version.max(theirs.version);
        open.changed = false;
    }
}

#[cfg(test)]
mod tests;
