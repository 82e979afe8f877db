//! `desk tickets list|show|reply|note|update|bulk|merge|macro`.

use std::io::Read;

use anstyle::Style;
use jiff::Timestamp;

use super::ctx::{Ctx, block_on, stdin_is_tty};
use super::output::{self, Cell, Column, Format, Out, OutputArgs, clean, note, style};
use super::{CliError, Exit, GlobalArgs};
use crate::client::{ApiClient, ApiError, Delivery, TicketQuery, parse_when};
use crate::model::*;
use crate::richtext;

#[derive(Debug, clap::Subcommand)]
pub enum TicketsCmd {
    /// List tickets of a view or matching the filter flags.
    List(ListArgs),
    /// Show a ticket and its conversation (Markdown when piped).
    Show {
        #[arg(value_parser = parse_ticket_id)]
        id: TicketId,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Send a public reply; the body comes from FILE, `-` (stdin), --body or $EDITOR.
    Reply(MessageArgs),
    /// Add an internal note (never sent to the customer).
    Note(MessageArgs),
    /// Change a ticket's status, priority, assignee, tags or snooze.
    Update {
        #[arg(value_parser = parse_ticket_id)]
        id: TicketId,
        #[command(flatten)]
        patch: PatchArgs,
        /// Refuse (exit 5) if the ticket changed since this version.
        #[arg(long, value_name = "VERSION")]
        if_version: Option<i64>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Apply one change to many tickets (ids as arguments, or one per line on stdin).
    Bulk {
        #[arg(value_parser = parse_ticket_id)]
        ids: Vec<TicketId>,
        #[command(flatten)]
        patch: PatchArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Merge a ticket into another one.
    Merge {
        #[arg(value_parser = parse_ticket_id)]
        id: TicketId,
        /// The ticket that survives.
        #[arg(long, value_parser = parse_ticket_id)]
        into: TicketId,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Apply a macro (saved reply plus field changes); --dry-run previews it.
    Macro {
        #[arg(value_parser = parse_ticket_id)]
        id: TicketId,
        /// Macro id or name.
        #[arg(value_name = "MACRO")]
        macro_ref: String,
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// A saved view, by id or name (see `desk views`).
    #[arg(long)]
    pub view: Option<String>,
    /// Status(es), comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = wire_values::<Status>(Status::ALL))]
    pub status: Vec<Status>,
    /// Priority(ies), comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = wire_values::<Priority>(Priority::ALL))]
    pub priority: Vec<Priority>,
    /// me, none, or an agent id or email.
    #[arg(long)]
    pub assignee: Option<String>,
    /// Team id(s), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub team: Vec<i64>,
    /// Tag(s), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub tag: Vec<String>,
    /// Free text matched against subject, requester and account.
    #[arg(long, short = 'q')]
    pub query: Option<String>,
    /// Only tickets with an SLA clock due within this many minutes (or overdue).
    #[arg(long, value_name = "MINUTES")]
    pub breaching_within: Option<i64>,
    /// Order (sla: soonest due first).
    #[arg(long, value_parser = wire_values::<SortKey>(SortKey::ALL))]
    pub sort: Option<SortKey>,
    /// How many tickets at most (one page unless --all).
    #[arg(long, default_value_t = DEFAULT_PAGE_SIZE)]
    pub limit: u32,
    /// Follow cursors to the end of the list.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, clap::Args)]
pub struct MessageArgs {
    #[arg(value_parser = parse_ticket_id)]
    pub id: TicketId,
    /// A Markdown file with the body, or `-` for stdin.
    pub file: Option<String>,
    /// The body as an argument.
    #[arg(long, short = 'b', conflicts_with = "file")]
    pub body: Option<String>,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct PatchArgs {
    #[arg(long, value_parser = wire_values::<Status>(Status::ALL))]
    pub status: Option<Status>,
    #[arg(long, value_parser = wire_values::<Priority>(Priority::ALL))]
    pub priority: Option<Priority>,
    /// me, none (unassign), or an agent id or email.
    #[arg(long)]
    pub assignee: Option<String>,
    #[arg(long, value_name = "TEAM_ID")]
    pub team: Option<i64>,
    #[arg(long)]
    pub subject: Option<String>,
    /// Tag(s) to add, comma-separated or repeated.
    #[arg(long, value_delimiter = ',')]
    pub add_tag: Vec<String>,
    /// Tag(s) to remove, comma-separated or repeated.
    #[arg(long, value_delimiter = ',')]
    pub remove_tag: Vec<String>,
    /// Snooze until: 2h, 30m, tomorrow 9am, monday, RFC 3339; `none` wakes the ticket.
    #[arg(long, value_name = "WHEN")]
    pub snooze: Option<String>,
}

/// The wire name of a closed enum (`wire_enum!` gives each an inherent `as_str`).
trait WireName: Copy {
    fn wire(self) -> &'static str;
}

macro_rules! wire_name {
    ($($t:ty),*) => {$(impl WireName for $t { fn wire(self) -> &'static str { self.as_str() } })*};
}
wire_name!(Status, Priority, SortKey);

/// A parser that knows the wire names of an enum, so `--help` and the shell completions
/// list them.
fn wire_values<T>(all: &'static [T]) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: WireName + Send + Sync + std::str::FromStr<Err = String> + 'static,
{
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(all.iter().map(|v| v.wire())).try_map(|s| s.parse::<T>())
}

/// `12` or `#12`.
pub fn parse_ticket_id(s: &str) -> Result<TicketId, String> {
    let t = s.trim().trim_start_matches('#');
    t.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(TicketId)
        .ok_or_else(|| format!("`{s}` is not a ticket id (e.g. 42 or #42)"))
}

pub fn run(cmd: TicketsCmd, global: &GlobalArgs) -> Result<(), CliError> {
    let ctx = Ctx::load(global)?;
    block_on(async move {
        match cmd {
            TicketsCmd::List(args) => list(&ctx, args).await,
            TicketsCmd::Show { id, out } => show(&ctx, id, out).await,
            TicketsCmd::Reply(args) => send(&ctx, args, Visibility::Public).await,
            TicketsCmd::Note(args) => send(&ctx, args, Visibility::Internal).await,
            TicketsCmd::Update { id, patch, if_version, out } => {
                update(&ctx, id, patch, if_version, out).await
            }
            TicketsCmd::Bulk { ids, patch, out } => bulk(&ctx, ids, patch, out).await,
            TicketsCmd::Merge { id, into, out } => merge(&ctx, id, into, out).await,
            TicketsCmd::Macro { id, macro_ref, dry_run, out } => {
                apply_macro(&ctx, id, &macro_ref, dry_run, out).await
            }
        }
    })?
}

/// Turns `me`, `none`, an id or an email into an agent (`None` = unassigned).
async fn resolve_agent(client: &ApiClient, who: &str) -> Result<Option<AgentId>, CliError> {
    let who = who.trim();
    match who.to_ascii_lowercase().as_str() {
        "me" => return Ok(Some(client.me().await?.agent.id)),
        "none" | "nobody" | "-" => return Ok(None),
        _ => {}
    }
    if let Ok(id) = who.parse::<i64>() {
        return Ok(Some(AgentId(id)));
    }
    let agents = client.list_agents().await?.items;
    agents
        .iter()
        .find(|a| a.email.eq_ignore_ascii_case(who))
        .or_else(|| {
            let named: Vec<&Agent> = agents.iter().filter(|a| a.name.eq_ignore_ascii_case(who)).collect();
            if named.len() == 1 { named.first().copied() } else { None }
        })
        .map(|a| Some(a.id))
        .ok_or_else(|| {
            CliError::new(Exit::NotFound, format!("no agent `{who}`"))
                .with_hint("use me, none, an agent id, email or name (see GET /api/v1/agents)")
        })
}

async fn find_view(client: &ApiClient, view: &str) -> Result<ViewId, CliError> {
    if let Ok(id) = view.parse::<i64>() {
        return Ok(ViewId(id));
    }
    let views = client.list_views().await?.items;
    views.iter().find(|v| v.name.eq_ignore_ascii_case(view.trim())).map(|v| v.id).ok_or_else(|| {
        let names: Vec<&str> = views.iter().map(|v| v.name.as_str()).collect();
        CliError::new(Exit::NotFound, format!("no view named `{view}`"))
            .with_hint(format!("views: {}", names.join(", ")))
    })
}

async fn list(ctx: &Ctx, args: ListArgs) -> Result<(), CliError> {
    let out = Out::new(args.out, ctx.global.color);
    let client = ctx.connect().await?;
    let assignee = match args.assignee.as_deref() {
        None => None,
        Some(a) if a.eq_ignore_ascii_case("me") => Some(AssigneeFilter::Me),
        Some(a) => Some(match resolve_agent(&client, a).await? {
            Some(id) => AssigneeFilter::Agent(id),
            None => AssigneeFilter::None,
        }),
    };
    let view = match &args.view {
        Some(v) => Some(find_view(&client, v).await?),
        None => None,
    };
    let mut query = TicketQuery {
        view,
        filter: TicketFilter {
            status: args.status,
            priority: args.priority,
            assignee,
            team: args.team.into_iter().map(TeamId).collect(),
            tag: args.tag,
            q: args.query,
            breaching_within: args.breaching_within,
        },
        sort: args.sort,
        limit: Some(args.limit.clamp(1, MAX_PAGE_SIZE)),
        after: None,
    };
    let mut tickets = Vec::new();
    loop {
        let page = client.list_tickets(&query).await?;
        tickets.extend(page.items);
        match page.next {
            Some(next) if args.all => query.after = Some(next),
            _ => break,
        }
        if !args.all && tickets.len() >= args.limit as usize {
            break;
        }
    }
    if !args.all {
        tickets.truncate(args.limit as usize);
    }
    match out.format {
        Format::Json => output::print_json(&tickets),
        Format::Ndjson => output::print_ndjson(&tickets),
        _ => {
            let names =
                if out.format == Format::Table { agent_names(&client).await } else { AgentNames::new() };
            output::write_stdout(&ticket_table(&out, &tickets, client.server_now(), &names))
        }
    }
}

const LIST_COLUMNS: [Column; 8] = [
    Column::new("ID", 4),
    Column::new("SLA", 6),
    Column::new("PRI", 4),
    Column::new("STATUS", 4),
    Column::new("REQUESTER", 8).max(24),
    Column::new("SUBJECT", 10).flex(),
    Column::new("ASSIGNEE", 4),
    Column::new("UPDATED", 6),
];

/// The queue as a table (terminal) or TSV (pipe: id, status, priority, next SLA due,
/// requester, account, subject, assignee id, updated; full values, RFC 3339 times).
pub fn ticket_table(out: &Out, tickets: &[Ticket], now: Timestamp, names: &AgentNames) -> String {
    let plain = |s: String| (s, Style::new());
    let rows: Vec<Vec<Cell>> = if out.format == Format::Tsv {
        tickets
            .iter()
            .map(|t| {
                vec![
                    plain(t.id.to_string()),
                    plain(t.status.to_string()),
                    plain(t.priority.to_string()),
                    plain(t.next_sla_due_at.map(|d| d.to_string()).unwrap_or_default()),
                    plain(clean(t.requester_name.as_deref().unwrap_or(""), true)),
                    plain(clean(t.account_name.as_deref().unwrap_or(""), true)),
                    plain(clean(&t.subject, true)),
                    plain(t.assignee_id.map(|a| a.to_string()).unwrap_or_default()),
                    plain(t.updated_at.to_string()),
                ]
            })
            .collect()
    } else {
        tickets
            .iter()
            .map(|t| {
                let (badge, tone) = sla_badge(&t.sla, now).unwrap_or_default();
                let requester = match (&t.requester_name, &t.account_name) {
                    (Some(n), Some(a)) => format!("{n} ({a})"),
                    (Some(n), None) => n.clone(),
                    _ => format!("contact {}", t.requester_id),
                };
                vec![
                    (format!("#{}", t.id), style::ID),
                    (badge, tone.style()),
                    (t.priority.to_string(), priority_style(t.priority)),
                    (t.status.to_string(), Style::new()),
                    plain(clean(&requester, true)),
                    plain(clean(&t.subject, true)),
                    plain(t.assignee_id.map(|a| agent_name(names, a)).unwrap_or_else(|| "-".into())),
                    (output::ago(t.updated_at, now), style::MUTED),
                ]
            })
            .collect()
    };
    output::render_table(out, &LIST_COLUMNS, &rows)
}

fn priority_style(p: Priority) -> Style {
    match p {
        Priority::Urgent => style::URGENT,
        Priority::High => style::HIGH,
        _ => Style::new(),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tone {
    #[default]
    Ok,
    AtRisk,
    Breached,
    Paused,
}

impl Tone {
    fn style(self) -> Style {
        match self {
            Tone::Ok => style::OK,
            Tone::AtRisk => style::WARN,
            Tone::Breached => style::BAD,
            Tone::Paused => style::MUTED,
        }
    }
}

/// The most pressing SLA clock as a badge: `FR 12m`, `NR 1h05`, `RES -5m`, or `paused`.
pub fn sla_badge(report: &SlaReport, now: Timestamp) -> Option<(String, Tone)> {
    let metrics =
        [("FR", &report.first_response), ("NR", &report.next_response), ("RES", &report.resolution)];
    let running = metrics
        .iter()
        .filter_map(|(label, m)| m.as_ref().map(|m| (*label, m)))
        .filter(|(_, m)| m.clock == SlaClock::Running)
        .filter_map(|(label, m)| m.due_at.map(|due| (label, m, due)))
        .min_by_key(|(_, _, due)| *due);
    if let Some((label, m, due)) = running {
        let minutes = (due.as_second() - now.as_second()).div_euclid(60);
        let tone = if m.state == SlaState::Breached || minutes < 0 {
            Tone::Breached
        } else if m.at_risk {
            Tone::AtRisk
        } else {
            Tone::Ok
        };
        return Some((format!("{label} {}", output::short_minutes(minutes)), tone));
    }
    let paused = metrics.iter().any(|(_, m)| m.as_ref().is_some_and(|m| m.clock == SlaClock::Paused));
    paused.then(|| ("paused".to_owned(), Tone::Paused))
}

async fn show(ctx: &Ctx, id: TicketId, args: OutputArgs) -> Result<(), CliError> {
    let out = Out::new(args, ctx.global.color);
    let client = ctx.connect().await?;
    let ticket = client.get_ticket(id).await?;
    let messages = client.all_messages(id).await?;
    if !out.human() {
        return output::print_json(&serde_json::json!({ "ticket": ticket, "messages": messages }));
    }
    // A terminal gets the conversation rendered (ANSI), with mention labels from one
    // `/resolve` call; a pipe gets the server's Markdown untouched.
    let labels =
        if out.format == Format::Table { mention_labels(&client, &messages).await } else { Labels::new() };
    let names = agent_names(&client).await;
    output::write_stdout(&render_conversation(&out, &ticket, &messages, client.server_now(), &labels, &names))
}

/// Agent names for people-facing output (scripts get ids).
pub type AgentNames = std::collections::HashMap<AgentId, String>;

/// One `GET /agents`; a failure only costs the names (ids are shown instead).
async fn agent_names(client: &ApiClient) -> AgentNames {
    match client.list_agents().await {
        Ok(page) => page.items.into_iter().map(|a| (a.id, a.name)).collect(),
        Err(e) => {
            tracing::warn!("cannot list agents: {e}");
            AgentNames::new()
        }
    }
}

fn agent_name(names: &AgentNames, id: AgentId) -> String {
    names.get(&id).map(|n| clean(n, true)).unwrap_or_else(|| format!("agent {id}"))
}

/// Display labels of mentions, keyed by (is channel, id).
type Labels = std::collections::HashMap<(bool, String), String>;

/// Resolves every user and channel mention of the conversation in one call. A failure
/// only costs the labels: mentions then show their stored label or raw id.
async fn mention_labels(client: &ApiClient, messages: &[Message]) -> Labels {
    let mut refs = Vec::new();
    for m in messages {
        collect_mentions(&m.body.tiptap, &mut refs);
    }
    refs.sort_by(|a: &EntityRef, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    refs.dedup();
    if refs.is_empty() {
        return Labels::new();
    }
    match client.resolve(refs).await {
        Ok(r) => r
            .items
            .into_iter()
            .filter_map(|e| e.label.map(|l| ((e.kind == RefKind::SlackChannel, e.id), l)))
            .collect(),
        Err(e) => {
            tracing::warn!("cannot resolve mentions: {e}");
            Labels::new()
        }
    }
}

fn collect_mentions(node: &serde_json::Value, out: &mut Vec<EntityRef>) {
    if node.get("type").and_then(|t| t.as_str()) == Some("mention") {
        let attrs = node.get("attrs");
        let id = attrs.and_then(|a| a.get("id")).and_then(|v| v.as_str());
        let ch = attrs.and_then(|a| a.get("mentionSuggestionChar")).and_then(|v| v.as_str());
        if let Some(id) = id {
            let kind = match richtext::Mention::kind_from(ch, id) {
                richtext::MentionKind::User => Some(RefKind::SlackUser),
                richtext::MentionKind::Channel => Some(RefKind::SlackChannel),
                _ => None,
            };
            if let Some(kind) = kind {
                out.push(EntityRef { kind, id: id.to_owned() });
            }
        }
    }
    if let Some(children) = node.get("content").and_then(|c| c.as_array()) {
        for c in children {
            collect_mentions(c, out);
        }
    }
}

/// One message body for a terminal: the TipTap document rendered by `richtext` (the
/// server's Markdown when the document does not load).
fn render_body(out: &Out, m: &Message, labels: &Labels) -> String {
    let doc = richtext::Doc::from_json(&m.body.tiptap)
        .unwrap_or_else(|_| richtext::from_markdown(&m.body.markdown));
    let resolver = |kind: richtext::MentionKind, id: &str| {
        labels.get(&(kind == richtext::MentionKind::Channel, id.to_owned())).cloned()
    };
    let text = richtext::to_text(&doc, &richtext::Styles::plain(), &resolver);
    if out.color { richtext::text_to_ansi(&text) } else { richtext::text_to_plain(&text) }
}

/// A ticket and its conversation: Markdown for a pipe; on a terminal (`Format::Table`) the
/// bodies rendered with styles and mention labels.
fn render_conversation(
    out: &Out,
    t: &Ticket,
    messages: &[Message],
    now: Timestamp,
    labels: &Labels,
    names: &AgentNames,
) -> String {
    let mut s = String::new();
    s.push_str(&out.paint(style::HEADER, &format!("# #{} {}", t.id, clean(&t.subject, true))));
    s.push_str("\n\n");
    let mut facts = vec![
        format!("status: {}", t.status),
        format!("priority: {}", t.priority),
        format!("team: {}", t.team_id),
        format!("assignee: {}", t.assignee_id.map(|a| agent_name(names, a)).unwrap_or_else(|| "none".into())),
    ];
    let requester = t.requester_name.clone().unwrap_or_else(|| format!("contact {}", t.requester_id));
    facts.push(match &t.account_name {
        Some(a) => format!("requester: {} ({})", clean(&requester, true), clean(a, true)),
        None => format!("requester: {}", clean(&requester, true)),
    });
    if !t.tags.is_empty() {
        facts.push(format!("tags: {}", clean(&t.tags.join(", "), true)));
    }
    if let Some((badge, _)) = sla_badge(&t.sla, now) {
        facts.push(format!("sla: {badge}"));
    }
    if let Some(until) = t.snoozed_until {
        facts.push(format!("snoozed until: {until}"));
    }
    if let Some(into) = t.merged_into {
        facts.push(format!("merged into: #{into}"));
    }
    facts.push(format!("version: {}", t.version));
    for f in facts {
        s.push_str(&format!("- {f}\n"));
    }
    for m in messages {
        let who = match m.author.kind {
            AuthorKind::Contact => format!("{} (customer)", clean(&m.author.name, true)),
            AuthorKind::Agent => format!("{} (agent)", clean(&m.author.name, true)),
            AuthorKind::System => "system".to_owned(),
        };
        let (label, st) = match m.visibility {
            Visibility::Internal => (" · internal note", style::NOTE),
            Visibility::Public => ("", style::HEADER),
        };
        s.push('\n');
        s.push_str(&out.paint(st, &format!("## {who}{label} · {}", m.created_at)));
        s.push_str("\n\n");
        if out.format == Format::Table {
            s.push_str(render_body(out, m, labels).trim_end());
        } else {
            s.push_str(clean(&m.body.markdown, false).trim_end());
        }
        s.push('\n');
    }
    s
}

/// The body of a reply or note: --body, FILE, `-`, stdin when piped, else $EDITOR.
fn read_body(args: &MessageArgs) -> Result<String, CliError> {
    let body = if let Some(b) = &args.body {
        b.clone()
    } else if let Some(file) = args.file.as_deref().filter(|f| *f != "-") {
        std::fs::read_to_string(file)
            .map_err(|e| CliError::new(Exit::Error, format!("cannot read {file}: {e}")))?
    } else if args.file.as_deref() == Some("-") || !stdin_is_tty() {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::new(Exit::Error, format!("cannot read stdin: {e}")))?;
        s
    } else {
        edit_in_editor()?
    };
    if body.trim().is_empty() {
        return Err(CliError::usage("the message body is empty"));
    }
    Ok(body)
}

fn edit_in_editor() -> Result<String, CliError> {
    let editor = std::env::var("VISUAL").or_else(|_| std::env::var("EDITOR")).map_err(|_| {
        CliError::usage("no message body")
            .with_hint("pass a FILE, `-` for stdin, --body TEXT, or set $EDITOR")
    })?;
    // A private file of our own; removed whatever happens.
    let path =
        std::env::temp_dir().join(format!("desk-message-{}.md", hex::encode(rand::random::<[u8; 6]>())));
    std::fs::write(&path, "")
        .map_err(|e| CliError::new(Exit::Error, format!("cannot create {}: {e}", path.display())))?;
    struct Remove(std::path::PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let file = Remove(path);
    let mut parts = editor.split_whitespace();
    let program = parts.next().unwrap_or("vi");
    let status = std::process::Command::new(program)
        .args(parts)
        .arg(&file.0)
        .status()
        .map_err(|e| CliError::new(Exit::Error, format!("cannot run {editor}: {e}")))?;
    if !status.success() {
        return Err(CliError::new(Exit::Error, format!("{editor} exited with {status}; nothing sent")));
    }
    std::fs::read_to_string(&file.0)
        .map_err(|e| CliError::new(Exit::Error, format!("cannot read the message: {e}")))
}

/// Reply or note through the outbox: saved with its idempotency key first, removed on 2xx.
async fn send(ctx: &Ctx, args: MessageArgs, visibility: Visibility) -> Result<(), CliError> {
    let out = Out::new(args.out, ctx.global.color);
    let body = read_body(&args)?;
    let word = if visibility == Visibility::Public { "reply" } else { "note" };
    let client = ctx.client()?;
    let outbox = ctx.outbox();
    // Earlier messages go first, so a conversation keeps its order.
    super::ctx::flush_outbox(&outbox, &client).await?;
    let message = NewMessage { visibility, body_markdown: Some(body), body_tiptap: None };
    let entry = outbox.enqueue(args.id, message)?;
    match outbox.deliver(&client, &entry).await? {
        Delivery::Sent(message) => {
            match (&message, out.format) {
                (Some(m), Format::Json) => output::print_json(m)?,
                (Some(m), Format::Ndjson) => output::print_ndjson(std::slice::from_ref(m))?,
                _ => {}
            }
            let id = message.map(|m| format!(" (message {})", m.id)).unwrap_or_default();
            note(&format!("{} on #{}{id}", if word == "reply" { "Replied" } else { "Added a note" }, args.id));
            Ok(())
        }
        Delivery::Kept(e) => Err(CliError::from(e).with_hint(format!(
            "the {word} is saved in the outbox as {} and goes out with the next desk command that reaches the server (see `desk outbox`)",
            entry.id
        ))),
        Delivery::Failed(e) => {
            let hint = format!("the {word} is kept as {} in the failed list: `desk outbox` to see, retry or discard it", entry.id);
            Err(CliError::from(e).with_hint(hint))
        }
    }
}

async fn build_patch(client: &ApiClient, p: PatchArgs) -> Result<TicketPatch, CliError> {
    let assignee_id = match &p.assignee {
        Some(a) => Some(resolve_agent(client, a).await?),
        None => None,
    };
    let snoozed_until = match p.snooze.as_deref().map(str::trim) {
        None => None,
        Some(w) if ["none", "off", "never", "wake"].contains(&w.to_ascii_lowercase().as_str()) => Some(None),
        Some(w) => {
            let now = jiff::ZonedDateTime::now();
            Some(Some(parse_when(w, &now).map_err(|e| CliError::usage(e.to_string()))?))
        }
    };
    let patch = TicketPatch {
        status: p.status,
        priority: p.priority,
        assignee_id,
        team_id: p.team.map(TeamId),
        subject: p.subject,
        add_tags: p.add_tag,
        remove_tags: p.remove_tag,
        snoozed_until,
    };
    if patch.is_empty() {
        return Err(CliError::usage("nothing to change").with_hint(
            "give --status, --priority, --assignee, --team, --subject, --add-tag, --remove-tag or --snooze",
        ));
    }
    Ok(patch)
}

fn print_ticket_summary(out: &Out, t: &Ticket, verb: &str) -> Result<(), CliError> {
    match out.format {
        Format::Json => output::print_json(t),
        Format::Ndjson => output::print_ndjson(std::slice::from_ref(t)),
        _ => {
            let assignee = t.assignee_id.map(|a| format!("agent {a}")).unwrap_or_else(|| "none".into());
            let snooze = t.snoozed_until.map(|s| format!(", snoozed until {s}")).unwrap_or_default();
            note(&format!(
                "{verb} #{}: status {}, priority {}, assignee {assignee}{snooze}, version {}",
                t.id, t.status, t.priority, t.version
            ));
            Ok(())
        }
    }
}

async fn update(
    ctx: &Ctx,
    id: TicketId,
    p: PatchArgs,
    if_version: Option<i64>,
    args: OutputArgs,
) -> Result<(), CliError> {
    let out = Out::new(args, ctx.global.color);
    let client = ctx.connect().await?;
    let patch = build_patch(&client, p).await?;
    let ticket = client.update_ticket(id, &patch, if_version).await?;
    print_ticket_summary(&out, &ticket, "Updated")
}

/// Ticket ids from stdin, whitespace- or comma-separated, `#` optional.
fn read_ids(text: &str) -> Result<Vec<TicketId>, CliError> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(|w| parse_ticket_id(w).map_err(CliError::usage))
        .collect()
}

async fn bulk(ctx: &Ctx, mut ids: Vec<TicketId>, p: PatchArgs, args: OutputArgs) -> Result<(), CliError> {
    let out = Out::new(args, ctx.global.color);
    if ids.is_empty() {
        if stdin_is_tty() {
            return Err(CliError::usage("no ticket ids")
                .with_hint("pass ids as arguments or pipe them, one per line"));
        }
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::new(Exit::Error, format!("cannot read stdin: {e}")))?;
        ids = read_ids(&s)?;
        if ids.is_empty() {
            return Err(CliError::usage("no ticket ids on stdin"));
        }
    }
    let client = ctx.connect().await?;
    let patch = build_patch(&client, p).await?;
    let result = client.bulk_update(&BulkUpdate { ids, patch }, None).await?;
    match out.format {
        Format::Json => output::print_json(&result)?,
        Format::Ndjson => output::print_ndjson(&result.results)?,
        _ => {
            let rows: Vec<Vec<Cell>> = result
                .results
                .iter()
                .map(|r| {
                    let (status, st) = if r.ok { ("ok", style::OK) } else { ("error", style::BAD) };
                    let detail = r.error.as_ref().map(|e| clean(&e.message, true)).unwrap_or_default();
                    vec![(r.id.to_string(), Style::new()), (status.to_owned(), st), (detail, Style::new())]
                })
                .collect();
            let cols =
                [Column::new("ID", 4), Column::new("RESULT", 5), Column::new("ERROR", 10).max(40).flex()];
            output::write_stdout(&output::render_table(&out, &cols, &rows))?;
        }
    }
    let failed: Vec<&BulkItemResult> = result.results.iter().filter(|r| !r.ok).collect();
    if failed.is_empty() {
        return Ok(());
    }
    // All failing the same way gets that way's exit code; a mix is a plain error.
    let codes: Vec<Exit> = failed
        .iter()
        .map(|r| match r.error.as_ref().map(|e| e.code) {
            Some(ErrorCode::NotFound) => Exit::NotFound,
            Some(ErrorCode::Conflict | ErrorCode::PreconditionFailed) => Exit::Conflict,
            _ => Exit::Error,
        })
        .collect();
    let code = if codes.iter().all(|c| *c == codes[0]) { codes[0] } else { Exit::Error };
    Err(CliError::new(code, format!("{} of {} tickets not updated", failed.len(), result.results.len())))
}

async fn merge(ctx: &Ctx, id: TicketId, into: TicketId, args: OutputArgs) -> Result<(), CliError> {
    let out = Out::new(args, ctx.global.color);
    if id == into {
        return Err(CliError::usage("cannot merge a ticket into itself"));
    }
    let client = ctx.connect().await?;
    let ticket = client.merge_ticket(id, into, None).await?;
    print_ticket_summary(&out, &ticket, &format!("Merged #{id} into"))
}

async fn find_macro(client: &ApiClient, r: &str) -> Result<MacroId, CliError> {
    if let Ok(id) = r.trim().parse::<i64>() {
        return Ok(MacroId(id));
    }
    let macros = client.list_macros().await?.items;
    macros.iter().find(|m| m.name.eq_ignore_ascii_case(r.trim())).map(|m| m.id).ok_or_else(|| {
        let names: Vec<String> =
            macros.iter().map(|m| format!("{} {}", m.id, clean(&m.name, true))).collect();
        CliError::new(Exit::NotFound, format!("no macro named `{r}`"))
            .with_hint(format!("macros: {}", names.join(", ")))
    })
}

async fn apply_macro(
    ctx: &Ctx,
    id: TicketId,
    macro_ref: &str,
    dry_run: bool,
    args: OutputArgs,
) -> Result<(), CliError> {
    let out = Out::new(args, ctx.global.color);
    let client = ctx.connect().await?;
    let macro_id = find_macro(&client, macro_ref).await?;
    let outcome = client.apply_macro(id, macro_id, dry_run, None).await.map_err(|e| match e {
        ApiError::NotFound { message, .. } => {
            CliError::new(Exit::NotFound, format!("{message} (ticket #{id} or macro {macro_id})"))
        }
        e => e.into(),
    })?;
    if !out.human() {
        return output::print_json(&outcome);
    }
    let mut s = String::new();
    let head = if dry_run { "Would change" } else { "Changed" };
    s.push_str(&format!("{head} #{}:\n", id));
    if outcome.changes.is_empty() {
        s.push_str("  (no field changes)\n");
    }
    for c in &outcome.changes {
        s.push_str(&format!("  {}\n", clean(c, true)));
    }
    if let Some(reply) = &outcome.reply_markdown {
        s.push_str(&format!(
            "{}:\n\n{}\n",
            if dry_run { "Would reply" } else { "Replied" },
            clean(reply, false).trim_end()
        ));
    }
    output::write_stdout(&s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(state: SlaState, clock: SlaClock, due: Option<&str>, at_risk: bool) -> Option<MetricStatus> {
        Some(MetricStatus {
            state,
            clock,
            due_at: due.map(|d| d.parse().unwrap()),
            remaining_min: 0,
            wall_min_to_due: None,
            fulfilled_at: None,
            cycle_start: None,
            at_risk,
        })
    }

    #[test]
    fn badge_picks_the_soonest_running_clock() {
        let now: Timestamp = "2026-01-01T10:00:00Z".parse().unwrap();
        let report = SlaReport {
            first_response: metric(SlaState::Active, SlaClock::Running, Some("2026-01-01T10:12:30Z"), true),
            next_response: None,
            resolution: metric(SlaState::Active, SlaClock::Running, Some("2026-01-01T14:00:00Z"), false),
        };
        assert_eq!(sla_badge(&report, now), Some(("FR 12m".into(), Tone::AtRisk)));
        let report = SlaReport {
            resolution: metric(SlaState::Breached, SlaClock::Running, Some("2026-01-01T09:55:00Z"), true),
            ..SlaReport::default()
        };
        assert_eq!(sla_badge(&report, now), Some(("RES -5m".into(), Tone::Breached)));
        let report = SlaReport {
            resolution: metric(SlaState::Paused, SlaClock::Paused, None, false),
            ..SlaReport::default()
        };
        assert_eq!(sla_badge(&report, now), Some(("paused".into(), Tone::Paused)));
        assert_eq!(sla_badge(&SlaReport::default(), now), None);
    }

    fn ticket(id: i64, subject: &str, priority: Priority) -> Ticket {
        Ticket {
            id: TicketId(id),
            subject: subject.into(),
            status: Status::Open,
            priority,
            requester_id: ContactId(4),
            assignee_id: Some(AgentId(2)),
            team_id: TeamId(1),
            tags: vec!["billing".into()],
            channel: Channel::Slack,
            snoozed_until: None,
            created_at: "2026-01-01T08:00:00Z".parse().unwrap(),
            updated_at: "2026-01-01T09:55:00Z".parse().unwrap(),
            version: 3,
            sla: SlaReport {
                first_response: metric(
                    SlaState::Active,
                    SlaClock::Running,
                    Some("2026-01-01T10:12:00Z"),
                    true,
                ),
                ..SlaReport::default()
            },
            next_sla_due_at: Some("2026-01-01T10:12:00Z".parse().unwrap()),
            external: External::default(),
            requester_name: Some("Ana Ruiz".into()),
            account_name: Some("Acme".into()),
            merged_into: None,
        }
    }

    #[test]
    fn queue_table_and_tsv() {
        let now: Timestamp = "2026-01-01T10:00:00Z".parse().unwrap();
        let tickets = vec![
            ticket(
                1042,
                "Refund not processed after \u{1b}[2Jcancellation of the annual plan",
                Priority::Urgent,
            ),
            ticket(7, "Login loop", Priority::Low),
        ];
        let out = Out { format: Format::Table, color: false, width: 80, tty: true };
        let table = ticket_table(&out, &tickets, now, &AgentNames::new());
        assert!(table.lines().all(|l| unicode_width::UnicodeWidthStr::width(l) <= 80), "{table}");
        insta::assert_snapshot!(table, @r"
        ID     SLA     PRI     STATUS  REQUESTER        SUBJECT        ASSIGNEE  UPDATED
        #1042  FR 12m  urgent  open    Ana Ruiz (Acme)  Refund not p…  agent 2   5m ago
        #7     FR 12m  low     open    Ana Ruiz (Acme)  Login loop     agent 2   5m ago
        ");
        let tsv = ticket_table(&Out { format: Format::Tsv, ..out }, &tickets, now, &AgentNames::new());
        insta::assert_snapshot!(tsv, @r"
        1042	open	urgent	2026-01-01T10:12:00Z	Ana Ruiz	Acme	Refund not processed after [2Jcancellation of the annual plan	2	2026-01-01T09:55:00Z
        7	open	low	2026-01-01T10:12:00Z	Ana Ruiz	Acme	Login loop	2	2026-01-01T09:55:00Z
        ");
    }

    #[test]
    fn conversation_as_markdown() {
        let now: Timestamp = "2026-01-01T10:00:00Z".parse().unwrap();
        let t = ticket(7, "Login loop", Priority::High);
        let msg = |id: i64, kind: AuthorKind, name: &str, vis: Visibility, md: &str| Message {
            id: MessageId(id),
            ticket_id: TicketId(7),
            author: Author { kind, id: Some(1), name: name.into() },
            visibility: vis,
            body: MessageBody {
                tiptap: serde_json::json!({"type": "doc"}),
                markdown: md.into(),
                source: None,
            },
            created_at: "2026-01-01T09:00:00Z".parse().unwrap(),
            edited_at: None,
        };
        let messages = vec![
            msg(1, AuthorKind::Contact, "Ana Ruiz", Visibility::Public, "I keep getting *logged out*.\n"),
            msg(2, AuthorKind::Agent, "Bo", Visibility::Internal, "Probably the SSO cookie."),
        ];
        let out = Out { format: Format::Tsv, color: false, width: 80, tty: false };
        insta::assert_snapshot!(render_conversation(&out, &t, &messages, now, &Labels::new(), &AgentNames::new()), @r"
        # #7 Login loop

        - status: open
        - priority: high
        - team: 1
        - assignee: agent 2
        - requester: Ana Ruiz (Acme)
        - tags: billing
        - sla: FR 12m
        - version: 3

        ## Ana Ruiz (customer) · 2026-01-01T09:00:00Z

        I keep getting *logged out*.

        ## Bo (agent) · internal note · 2026-01-01T09:00:00Z

        Probably the SSO cookie.
        ");
    }

    #[test]
    fn conversation_on_a_terminal_renders_rich_text_with_resolved_mentions() {
        let now: Timestamp = "2026-01-01T10:00:00Z".parse().unwrap();
        let t = ticket(7, "Login loop", Priority::High);
        let tiptap = serde_json::json!({"type": "doc", "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": "Hi "},
            {"type": "mention", "attrs": {"id": "U123", "label": null, "mentionSuggestionChar": "@"}},
            {"type": "text", "text": ", it is ", "marks": []},
            {"type": "text", "text": "broken", "marks": [{"type": "bold"}]},
        ]}]});
        let m = Message {
            id: MessageId(1),
            ticket_id: TicketId(7),
            author: Author { kind: AuthorKind::Contact, id: Some(1), name: "Ana Ruiz".into() },
            visibility: Visibility::Public,
            body: MessageBody {
                tiptap: tiptap.clone(),
                markdown: "Hi <@U123>, it is **broken**".into(),
                source: None,
            },
            created_at: "2026-01-01T09:00:00Z".parse().unwrap(),
            edited_at: None,
        };
        let mut refs = Vec::new();
        collect_mentions(&tiptap, &mut refs);
        assert_eq!(refs, vec![EntityRef { kind: RefKind::SlackUser, id: "U123".into() }]);
        let labels: Labels = [((false, "U123".to_owned()), "Bo Chen".to_owned())].into();
        let plain = Out { format: Format::Table, color: false, width: 80, tty: true };
        let text = render_conversation(
            &plain,
            &t,
            std::slice::from_ref(&m),
            now,
            &labels,
            &[(AgentId(2), "Bo Chen".to_owned())].into(),
        );
        assert!(
            text.ends_with("## Ana Ruiz (customer) · 2026-01-01T09:00:00Z\n\nHi @Bo Chen, it is broken\n"),
            "{text}"
        );
        let color = Out { color: true, ..plain };
        let text = render_conversation(&color, &t, &[m], now, &labels, &AgentNames::new());
        assert!(text.contains("\u{1b}[1mbroken"), "{text:?}");
    }

    #[test]
    fn ticket_ids_parse() {
        assert_eq!(parse_ticket_id("#42"), Ok(TicketId(42)));
        assert_eq!(parse_ticket_id("7"), Ok(TicketId(7)));
        assert!(parse_ticket_id("0").is_err());
        assert!(parse_ticket_id("x").is_err());
        assert_eq!(read_ids("1\n#2, 3\n").unwrap(), vec![TicketId(1), TicketId(2), TicketId(3)]);
        assert!(read_ids("1 two").is_err());
    }
}
