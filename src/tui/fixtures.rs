//! Deterministic sample data built from the wire types, for state tests, screen snapshots
//! and benches (no server needed). The clock is fixed at [`NOW`].

use crate::model::*;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

pub const NOW: &str = "2026-11-25T17:00:00Z";

pub fn now() -> Timestamp {
    NOW.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

const SUBJECTS: &[&str] = &[
    "Refund for duplicate card charge",
    "Cannot log in after password reset",
    "Export to CSV times out",
    "Invoice shows wrong VAT number",
    "Webhook deliveries failing with 502",
    "Feature request: dark mode for reports",
    "Slack integration stopped posting",
    "Refund request for annual plan",
    "SSO login loops back to start page",
    "API rate limit too low for nightly sync",
];
const PEOPLE: &[(&str, &str)] = &[
    ("Maya Chen", "Northwind"),
    ("Tom Okafor", "Globex"),
    ("Lena Berg", "Initech"),
    ("Raj Patel", "Umbrella"),
    ("Sofia Rossi", "Hooli"),
];
const AGENTS: &[&str] = &["Ada Lovelace", "Grace Hopper", "Linus Pauling"];

pub fn agent_name(id: AgentId) -> String {
    AGENTS.get((id.0 - 1) as usize).map(|s| s.to_string()).unwrap_or_else(|| format!("agent {id}"))
}

pub fn agents() -> Vec<Agent> {
    AGENTS
        .iter()
        .enumerate()
        .map(|(i, n)| Agent {
            id: AgentId(i as i64 + 1),
            name: n.to_string(),
            email: format!("{}@example.com", n.split(' ').next().unwrap_or("a").to_lowercase()),
            role: if i == 0 { Role::Admin } else { Role::Agent },
            teams: vec![TeamId(1)],
        })
        .collect()
}

pub fn me() -> Me {
    let agent = agents().remove(0);
    Me { agent, teams: vec![Team { id: TeamId(1), name: "Support".into() }] }
}

fn metric(clock: SlaClock, state: SlaState, due_in_min: Option<i64>, at_risk: bool) -> MetricStatus {
    MetricStatus {
        state,
        clock,
        due_at: due_in_min.map(|m| now() + SignedDuration::from_mins(m)),
        remaining_min: due_in_min.unwrap_or(0),
        wall_min_to_due: due_in_min,
        fulfilled_at: None,
        cycle_start: None,
        at_risk,
    }
}

/// `n` tickets with ids from 1000, a spread of statuses, priorities, assignees and SLA states.
pub fn tickets(n: usize) -> Vec<Ticket> {
    (0..n).map(ticket).collect()
}

pub fn ticket(i: usize) -> Ticket {
    let (name, account) = PEOPLE[i % PEOPLE.len()];
    let priority = [Priority::Normal, Priority::High, Priority::Urgent, Priority::Low][i % 4];
    let status = [Status::Open, Status::New, Status::Open, Status::Pending, Status::Open][i % 5];
    let sla = match i % 6 {
        0 => SlaReport {
            first_response: Some(metric(
                SlaClock::Running,
                SlaState::Active,
                Some(12 + i as i64 % 50),
                false,
            )),
            ..SlaReport::default()
        },
        1 => SlaReport {
            next_response: Some(metric(SlaClock::Running, SlaState::Active, Some(65), false)),
            ..SlaReport::default()
        },
        2 => SlaReport {
            resolution: Some(metric(SlaClock::Running, SlaState::Breached, Some(-5), true)),
            ..SlaReport::default()
        },
        3 => SlaReport {
            resolution: Some(metric(SlaClock::Paused, SlaState::Paused, None, false)),
            ..SlaReport::default()
        },
        4 => SlaReport {
            first_response: Some(metric(SlaClock::Running, SlaState::Active, Some(8), true)),
            ..SlaReport::default()
        },
        _ => SlaReport {
            resolution: Some(metric(SlaClock::Running, SlaState::Active, Some(60 * 26), false)),
            ..SlaReport::default()
        },
    };
    let created = now() - SignedDuration::from_mins(7 + (i as i64 * 37) % 5000);
    Ticket {
        id: TicketId(1000 + i as i64),
        subject: SUBJECTS[i % SUBJECTS.len()].to_string(),
        status,
        priority,
        requester_id: ContactId((i % PEOPLE.len()) as i64 + 1),
        assignee_id: match i % 3 {
            0 => Some(AgentId(1)),
            1 => None,
            _ => Some(AgentId(2)),
        },
        team_id: TeamId(1),
        tags: match i % 4 {
            0 => vec!["billing".into()],
            1 => vec!["login".into(), "vip".into()],
            _ => vec![],
        },
        channel: [Channel::Slack, Channel::Email, Channel::Web][i % 3],
        snoozed_until: None,
        created_at: created,
        updated_at: created + SignedDuration::from_mins(3),
        version: 1,
        next_sla_due_at: None,
        sla,
        external: External {
            url: i
                .is_multiple_of(3)
                .then(|| format!("https://example.slack.com/archives/C024BE91L/p{}", 1700000000 + i)),
            ..External::default()
        },
        requester_name: Some(name.to_string()),
        account_name: Some(account.to_string()),
        merged_into: None,
    }
}

pub fn views() -> Vec<View> {
    vec![
        View {
            id: ViewId(1),
            name: "My open".into(),
            filter: TicketFilter {
                status: vec![Status::New, Status::Open, Status::Pending],
                assignee: Some(AssigneeFilter::Me),
                ..TicketFilter::default()
            },
            sort: SortKey::Sla,
            count: Some(14),
        },
        View {
            id: ViewId(2),
            name: "Unassigned".into(),
            filter: TicketFilter { assignee: Some(AssigneeFilter::None), ..TicketFilter::default() },
            sort: SortKey::Sla,
            count: Some(13),
        },
        View {
            id: ViewId(3),
            name: "All open".into(),
            filter: TicketFilter {
                status: vec![Status::New, Status::Open, Status::Pending, Status::OnHold],
                ..TicketFilter::default()
            },
            sort: SortKey::Sla,
            count: Some(40),
        },
        View {
            id: ViewId(4),
            name: "Breaching soon".into(),
            filter: TicketFilter { breaching_within: Some(60), ..TicketFilter::default() },
            sort: SortKey::Sla,
            count: Some(9),
        },
    ]
}

pub fn messages(ticket: TicketId) -> Vec<Message> {
    let at = |m: i64| now() - SignedDuration::from_mins(m);
    let body =
        |md: &str, tiptap: serde_json::Value| MessageBody { tiptap, markdown: md.into(), source: None };
    vec![
        Message {
            id: MessageId(1),
            ticket_id: ticket,
            author: Author { kind: AuthorKind::Contact, id: Some(1), name: "Maya Chen".into() },
            visibility: Visibility::Public,
            body: body(
                "We were charged **twice** for the November invoice.\nCan <@U024BE7LH> look at it?",
                json!({"type":"doc","content":[
                    {"type":"paragraph","content":[
                        {"type":"text","text":"We were charged "},
                        {"type":"text","text":"twice","marks":[{"type":"bold"}]},
                        {"type":"text","text":" for the November invoice."}]},
                    {"type":"paragraph","content":[
                        {"type":"text","text":"Can "},
                        {"type":"mention","attrs":{"id":"U024BE7LH","label":null}},
                        {"type":"text","text":" look at it?"}]}]}),
            ),
            created_at: at(95),
            edited_at: None,
        },
        Message {
            id: MessageId(2),
            ticket_id: ticket,
            author: Author { kind: AuthorKind::Agent, id: Some(2), name: "Grace Hopper".into() },
            visibility: Visibility::Internal,
            body: body(
                "Stripe shows two captures; refund the second one.",
                json!({"type":"doc","content":[{"type":"paragraph","content":[
                    {"type":"text","text":"Stripe shows two captures; refund the second one."}]}]}),
            ),
            created_at: at(60),
            edited_at: None,
        },
        Message {
            id: MessageId(3),
            ticket_id: ticket,
            author: Author { kind: AuthorKind::Agent, id: Some(1), name: "Ada Lovelace".into() },
            visibility: Visibility::Public,
            body: body(
                "Sorry about that! The duplicate charge is refunded; see `RF-2231`.",
                json!({"type":"doc","content":[{"type":"paragraph","content":[
                    {"type":"text","text":"Sorry about that! The duplicate charge is refunded; see "},
                    {"type":"text","text":"RF-2231","marks":[{"type":"code"}]},
                    {"type":"text","text":"."}]}]}),
            ),
            created_at: at(30),
            edited_at: None,
        },
    ]
}

pub fn context(contact: ContactId) -> ContactContext {
    let i = (contact.0 - 1).max(0) as usize % PEOPLE.len();
    let (name, account) = PEOPLE[i];
    ContactContext {
        contact: Contact {
            id: contact,
            name: name.into(),
            email: Some(format!(
                "{}@{}.com",
                name.split(' ').next().unwrap_or("x").to_lowercase(),
                account.to_lowercase()
            )),
            title: Some("Head of Finance".into()),
            account_id: Some(AccountId(i as i64 + 1)),
            slack_user_id: Some("U024BE7LH".into()),
            tags: vec!["champion".into()],
            created_at: now() - SignedDuration::from_hours(24 * 400),
        },
        account: Some(Account {
            id: AccountId(i as i64 + 1),
            name: account.into(),
            domain: Some(format!("{}.com", account.to_lowercase())),
            tier: Tier::Enterprise,
            arr: 120_000,
            health: Health::Watch,
            owner_id: Some(AgentId(2)),
        }),
        recent_tickets: vec![ticket(i + 5), ticket(i + 10)],
        activities: vec![Activity {
            id: ActivityId(1),
            kind: ActivityKind::Call,
            summary: "Quarterly review; asked about SSO".into(),
            at: now() - SignedDuration::from_hours(24 * 6),
            contact_id: Some(contact),
            account_id: None,
            agent_id: Some(AgentId(2)),
        }],
        open_tasks: vec![Task {
            id: TaskId(1),
            title: "Send renewal quote".into(),
            due_at: Some(now() + SignedDuration::from_hours(26)),
            assignee_id: Some(AgentId(1)),
            done: false,
            ticket_id: None,
            contact_id: Some(contact),
            account_id: None,
            created_at: now() - SignedDuration::from_hours(30),
        }],
    }
}

pub fn macros() -> Vec<Macro> {
    vec![
        Macro {
            id: MacroId(1),
            name: "Refund issued".into(),
            reply_markdown: Some("Hi! We've refunded the charge; it shows in 5-10 days.".into()),
            reply_visibility: Some(Visibility::Public),
            patch: TicketPatch {
                status: Some(Status::Solved),
                add_tags: vec!["refund".into()],
                ..TicketPatch::default()
            },
        },
        Macro {
            id: MacroId(2),
            name: "Escalate to engineering".into(),
            reply_markdown: None,
            reply_visibility: None,
            patch: TicketPatch {
                priority: Some(Priority::High),
                add_tags: vec!["escalated".into()],
                ..TicketPatch::default()
            },
        },
    ]
}

pub fn notifications() -> Vec<Notification> {
    vec![
        Notification {
            id: NotificationId(1),
            kind: NotificationKind::Mention,
            ticket_id: Some(TicketId(1003)),
            summary: "Grace mentioned you on #1003".into(),
            created_at: now() - SignedDuration::from_mins(4),
            read: false,
        },
        Notification {
            id: NotificationId(2),
            kind: NotificationKind::SlaAtRisk,
            ticket_id: Some(TicketId(1004)),
            summary: "#1004 first response due in 8m".into(),
            created_at: now() - SignedDuration::from_mins(9),
            read: false,
        },
        Notification {
            id: NotificationId(3),
            kind: NotificationKind::Assignment,
            ticket_id: Some(TicketId(1000)),
            summary: "#1000 was assigned to you".into(),
            created_at: now() - SignedDuration::from_hours(3),
            read: true,
        },
    ]
}

/// A console fed with fixture answers as the runtime would: signed in as Ada, the views
/// loaded and the third one ("All open", which holds every fixture ticket) showing `n` tickets.
pub fn app(n: usize) -> crate::tui::app::App {
    use crate::tui::app::{App, Conn, Msg, update};
    let mut app = App::new(now(), jiff::tz::TimeZone::UTC, crate::tui::keymap::Keymap::default());
    let _ = app.start();
    update(&mut app, Msg::Connection(Conn::Live));
    update(&mut app, Msg::Me(Ok(me())));
    update(&mut app, Msg::Agents(Ok(agents())));
    update(&mut app, Msg::Notifications(Ok(notifications())));
    update(&mut app, Msg::Views(Ok(views())));
    update(&mut app, Msg::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('3'))));
    let view = ViewId(3);
    let generation = app.tickets_generation();
    update(
        &mut app,
        Msg::Tickets { view, generation, first: true, result: Ok(Page { items: tickets(n), next: None }) },
    );
    app
}
