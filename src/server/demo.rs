//! The demo workspace: deterministic (fixed-seed RNG), believable, and large enough to triage.
//!
//! 3 teams, 10 agents, 40 accounts, 200 contacts, N tickets (500 by default) whose
//! conversations mix Slack Block Kit messages (mentions, lists, code, links, emoji; the Block
//! Kit kept as `source`), agent replies and internal notes; activities, tasks, SLA policies
//! with business hours in two zones plus a 24x7 one, macros and the default views.
//!
//! The SLA mix is what a support lead expects of a real queue: of the open tickets most are
//! fine, about a tenth at risk, fewer breached (mostly by minutes, a few by hours); some are
//! pending or on hold; a little under half are solved or closed with their history. Each ticket
//! is planned backwards from the state it should show, in business minutes of its team's policy
//! (see [`BusinessClock`]), so the mix holds whatever the weekday and hour of `now` in Berlin or
//! New York; the SLA report of every generated ticket is checked against its plan (a miss is
//! logged and counted; the tests require none).
//!
//! Tickets and messages go in with multi-row INSERTs of a fixed size in one transaction, and
//! each distinct message text is converted to rich text once.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::error::AppError;
use super::glue::{self, SlaLogEntry, SlaLogKind};
use super::store::tickets::priority_rank;
use super::store::{Dialect, Sql, Store, Val, ms};
use crate::model::{
    MessageBody, Priority, ScheduleInterval, SlaClock, SlaPolicy, SlaReport, SlaState, SlaTargets, Status,
    TicketPatch, Visibility, WarningThreshold,
};

const SEED: u64 = 0x6465_736b_2026;

const TEAMS: [&str; 3] = ["Support", "Billing", "Platform"];

const AGENTS: [(&str, &str, &[usize]); 10] = [
    ("Ana Souza", "admin", &[0, 1, 2]),
    ("Ben Okafor", "agent", &[0]),
    ("Chloé Martin", "agent", &[0]),
    ("Dmitri Ivanov", "agent", &[0, 2]),
    ("Emma Lindqvist", "agent", &[1]),
    ("Farid Haddad", "agent", &[1]),
    ("Grace Kim", "agent", &[1, 0]),
    ("Hiroshi Tanaka", "agent", &[2]),
    ("Isabel García", "agent", &[2]),
    ("Jonas Weber", "agent", &[2, 0]),
];

const FIRST: [&str; 24] = [
    "Alice", "Bruno", "Carla", "Deepak", "Elena", "Femi", "Gustav", "Hana", "Ivan", "Julia", "Kofi", "Lena",
    "Mateo", "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wei", "Yara",
];
const LAST: [&str; 20] = [
    "Adams", "Becker", "Costa", "Dubois", "Eriksen", "Fischer", "Gomez", "Horvat", "Ito", "Jensen",
    "Kowalski", "Lopez", "Moreau", "Novak", "Olsen", "Petrov", "Rossi", "Schmidt", "Tan", "Varga",
];
const CO_A: [&str; 10] =
    ["Acme", "Blue", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper"];
const CO_B: [&str; 8] = ["Labs", "Logistics", "Health", "Robotics", "Foods", "Analytics", "Energy", "Media"];
const TITLES: [&str; 8] = [
    "CTO",
    "Office manager",
    "Head of Finance",
    "Engineer",
    "Product manager",
    "Ops lead",
    "Founder",
    "IT admin",
];

const SUBJECTS: [(&str, usize, &[&str]); 16] = [
    ("Can't log in after password reset", 0, &["login"]),
    ("SSO with Okta fails with error 403", 2, &["sso", "login"]),
    ("Invoice shows the wrong VAT number", 1, &["invoice"]),
    ("Charged twice this month", 1, &["billing", "refund"]),
    ("Webhook deliveries delayed by hours", 2, &["webhooks", "incident"]),
    ("How do I export all tickets to CSV?", 0, &["how-to"]),
    ("API returns 500 on /v2/orders", 2, &["api", "bug"]),
    ("Please upgrade us to the Business plan", 1, &["upgrade"]),
    ("Dashboard is very slow since Monday", 2, &["performance"]),
    ("Add a new admin to our workspace", 0, &["access"]),
    ("Slack notifications stopped arriving", 0, &["slack", "integrations"]),
    ("Refund for unused seats", 1, &["refund", "billing"]),
    ("Data retention policy question", 0, &["compliance"]),
    ("Rate limit too low for our sync job", 2, &["api", "limits"]),
    ("Mobile app crashes on startup", 0, &["mobile", "bug"]),
    ("Cancel our subscription at renewal", 1, &["churn-risk", "billing"]),
];

fn pick<'a, T>(rng: &mut StdRng, v: &'a [T]) -> &'a T {
    &v[rng.random_range(0..v.len())]
}

fn weekdays(start: &str, end: &str) -> Vec<ScheduleInterval> {
    ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|d| ScheduleInterval { day: (*d).into(), start: start.into(), end: end.into() })
        .collect()
}

fn policies() -> Vec<SlaPolicy> {
    let targets = |f, n, r| SlaTargets {
        first_response_min: Some(f),
        next_response_min: Some(n),
        resolution_min: Some(r),
    };
    let mut urgent = std::collections::BTreeMap::new();
    urgent.insert(Priority::Urgent, targets(30, 60, 480));
    urgent.insert(Priority::High, targets(60, 120, 960));
    vec![
        SlaPolicy {
            id: None,
            name: "Standard (Berlin business hours)".into(),
            timezone: "Europe/Berlin".into(),
            schedule: weekdays("09:00", "18:00"),
            holidays: vec!["2026-12-25".into(), "2026-12-26".into(), "2027-01-01".into()],
            targets: targets(240, 480, 2880),
            targets_by_priority: urgent.clone(),
            warning: Some(WarningThreshold::Percent(25)),
            pause_statuses: vec![Status::Pending, Status::OnHold],
        },
        SlaPolicy {
            id: None,
            name: "Billing (New York business hours)".into(),
            timezone: "America/New_York".into(),
            schedule: weekdays("08:00", "20:00"),
            holidays: vec!["2026-11-26".into(), "2026-12-25".into()],
            targets: targets(480, 960, 4320),
            targets_by_priority: urgent.clone(),
            warning: Some(WarningThreshold::Minutes(60)),
            pause_statuses: vec![Status::Pending, Status::OnHold],
        },
        SlaPolicy {
            id: None,
            name: "Platform 24x7".into(),
            timezone: "UTC".into(),
            schedule: vec![],
            holidays: vec![],
            targets: targets(60, 240, 1440),
            targets_by_priority: urgent,
            warning: Some(WarningThreshold::Percent(20)),
            pause_statuses: vec![Status::Pending, Status::OnHold],
        },
    ]
}

/// A customer message in Slack Block Kit (rich_text with mentions, lists, code, links,
/// emoji) and its Markdown rendering.
fn blockkit_message(
    subject: &str,
    slack_agent: &str,
    code: &str,
    emoji: &str,
) -> (serde_json::Value, String) {
    let blocks = serde_json::json!([{
        "type": "rich_text",
        "block_id": "b1",
        "elements": [
            {"type": "rich_text_section", "elements": [
                {"type": "text", "text": "Hi "},
                {"type": "user", "user_id": slack_agent},
                {"type": "text", "text": format!(", {} ", subject.to_lowercase())},
                {"type": "emoji", "name": emoji},
                {"type": "text", "text": "\nWhat we tried:\n"}
            ]},
            {"type": "rich_text_list", "style": "bullet", "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": "logged out and back in"}]},
                {"type": "rich_text_section", "elements": [{"type": "text", "text": "checked the "},
                    {"type": "link", "url": "https://status.example.com", "text": "status page"}]}
            ]},
            {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": code}]},
            {"type": "rich_text_section", "elements": [
                {"type": "text", "text": "This is "},
                {"type": "text", "text": "blocking", "style": {"bold": true}},
                {"type": "text", "text": " our team."}
            ]}
        ]
    }]);
    let shortcode = match emoji {
        "pray" => "🙏",
        "fire" => "🔥",
        "eyes" => "👀",
        _ => "👍",
    };
    let md = format!(
        "Hi @{slack_agent}, {} {shortcode}\nWhat we tried:\n\n- logged out and back in\n- checked the [status page](https://status.example.com)\n\n```\n{code}\n```\n\nThis is **blocking** our team.",
        subject.to_lowercase()
    );
    (blocks, md)
}

/// A message body in the three stored forms, converted once per distinct text and shared by
/// every message that uses it: the demo repeats a few thousand texts over hundreds of thousands
/// of messages, and the rich-text conversion was most of the seeding time.
struct Body {
    tiptap: String,
    markdown: String,
    source: Option<String>,
}

#[derive(Default)]
struct Bodies {
    markdown: HashMap<String, Arc<Body>>,
    blockkit: HashMap<(&'static str, String, &'static str, &'static str), Arc<Body>>,
}

impl Bodies {
    fn stored(body: MessageBody) -> Arc<Body> {
        Arc::new(Body {
            tiptap: body.tiptap.to_string(),
            markdown: body.markdown,
            source: body.source.map(|s| s.to_string()),
        })
    }

    fn markdown(&mut self, md: String) -> Arc<Body> {
        if let Some(b) = self.markdown.get(&md) {
            return b.clone();
        }
        let b = Self::stored(glue::markdown_body(&md));
        self.markdown.insert(md, b.clone());
        b
    }

    fn blockkit(
        &mut self,
        subject: &'static str,
        slack_agent: String,
        code: &'static str,
        emoji: &'static str,
        resolver: &dyn crate::richtext::EntityResolver,
    ) -> Arc<Body> {
        let key = (subject, slack_agent, code, emoji);
        if let Some(b) = self.blockkit.get(&key) {
            return b.clone();
        }
        let (blocks, md) = blockkit_message(subject, &key.1, code, emoji);
        let b = Self::stored(glue::blockkit_body(&blocks, resolver, &md));
        self.blockkit.insert(key, b.clone());
        b
    }
}

/// Where a ticket stands in a support lead's eyes: the SLA badge the queue shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum QueueState {
    /// Open, every running clock comfortably inside its target.
    Fine,
    /// Open, a clock under its warning threshold.
    AtRisk,
    /// Open, a clock past its target.
    Breached,
    /// Pending or on hold: resolution paused, no reply owed.
    Paused,
    /// Solved or closed.
    Done,
}

/// The state a ticket's SLA report puts it in (the demo aims at these, the test checks them).
pub(crate) fn queue_state(report: &SlaReport, status: Status) -> QueueState {
    if !status.is_open() {
        return QueueState::Done;
    }
    let metrics =
        || [&report.first_response, &report.next_response, &report.resolution].into_iter().flatten();
    if metrics().any(|m| m.state == SlaState::Breached) {
        QueueState::Breached
    } else if metrics().any(|m| m.at_risk) {
        QueueState::AtRisk
    } else if report.resolution.as_ref().is_some_and(|m| m.clock == SlaClock::Paused) {
        QueueState::Paused
    } else {
        QueueState::Fine
    }
}

/// A target and its warning threshold, in business minutes.
#[derive(Debug, Clone, Copy)]
struct Goal {
    target: i64,
    warn: i64,
}

#[derive(Debug, Clone, Copy)]
struct Goals {
    fr: Goal,
    nr: Goal,
    res: Goal,
}

fn goals(p: &SlaPolicy, priority: Priority) -> Goals {
    let own = p.targets_by_priority.get(&priority).unwrap_or(&p.targets);
    let goal = |own: Option<i64>, base: Option<i64>| {
        // A metric the policy does not measure never constrains the plan.
        let target = own.or(base).unwrap_or(365 * 24 * 60);
        let warn = match &p.warning {
            Some(WarningThreshold::Minutes(m)) => *m,
            Some(WarningThreshold::Percent(pc)) => target * i64::from(*pc) / 100,
            None => target * i64::from(crate::sla::DEFAULT_WARNING_PERCENT) / 100,
        };
        Goal { target, warn }
    };
    Goals {
        fr: goal(own.first_response_min, p.targets.first_response_min),
        nr: goal(own.next_response_min, p.targets.next_response_min),
        res: goal(own.resolution_min, p.targets.resolution_min),
    }
}

/// Business minutes before `now` turned into instants, for one policy: entry `n` is the latest
/// instant with `n` business minutes between it and `now`. Tickets are planned in business
/// minutes ("first response due in 40 business minutes") because that is what their SLA state
/// depends on; this table turns the plan into timestamps whatever the weekday and hour of `now`
/// in the policy's zone. Built once per seed by walking back from `now`.
struct BusinessClock {
    at: Vec<i64>,
}

impl BusinessClock {
    fn new(cal: &crate::sla::Calendar, now: Timestamp, wall_days: i64) -> BusinessClock {
        let now_s = now.as_second();
        let mut at = vec![ms(now)];
        let mut seen = 0i64;
        let mut cur = now_s;
        let stop = now_s - wall_days * 86_400;
        let between = |a: i64, b: i64| {
            cal.business_seconds_between(
                Timestamp::from_second(a).unwrap_or(Timestamp::UNIX_EPOCH),
                Timestamp::from_second(b).unwrap_or(Timestamp::UNIX_EPOCH),
            )
        };
        while cur > stop {
            // Whole closed hours (nights, weekends) are skipped in one step.
            if between(cur - 3600, cur) == 0 {
                cur -= 3600;
                continue;
            }
            let prev = cur - 60;
            seen += between(prev, cur);
            while seen >= at.len() as i64 * 60 {
                at.push(prev * 1000);
            }
            cur = prev;
        }
        BusinessClock { at }
    }

    /// The instant `n` business minutes before now (the oldest one the table holds beyond it).
    fn before(&self, n: i64) -> i64 {
        let i = usize::try_from(n).unwrap_or(0).min(self.at.len() - 1);
        self.at[i]
    }

    /// Business minutes between the instant `t` (ms) and now.
    fn offset_of(&self, t: i64) -> i64 {
        self.at.partition_point(|&a| a > t) as i64
    }
}

/// Which clock decides an open ticket's place in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// New, nobody has answered: first response runs.
    AwaitingFirst,
    /// Answered, then the customer wrote again: next response runs.
    AwaitingNext,
    /// Answered and being worked on: only resolution runs.
    Working,
}

/// A ticket's history in business minutes before now (larger is earlier).
#[derive(Debug, Clone, Copy)]
struct Timeline {
    status: Status,
    created: i64,
    /// The first public agent reply.
    reply: Option<i64>,
    /// A customer message after the first reply, and the agent's answer to it.
    follow_up: Option<(i64, Option<i64>)>,
    /// When the ticket was paused or solved.
    stop: Option<i64>,
}

/// Business minutes left on the deciding clock for a ticket meant to be in `aim`; None when
/// this target cannot produce that state (e.g. "fine, not due within the hour" on a 30-minute
/// urgent first response).
fn remaining(rng: &mut StdRng, aim: QueueState, g: Goal) -> Option<i64> {
    match aim {
        QueueState::Fine => {
            // Outside the warning threshold and more than an hour away: neither at risk nor
            // in "Breaching soon".
            let lo = g.warn.max(60) + 5;
            let hi = g.target * 9 / 10;
            (lo < hi).then(|| rng.random_range(lo..hi))
        }
        QueueState::AtRisk => {
            let hi = g.warn.min(60);
            (hi > 3).then(|| rng.random_range(3..hi))
        }
        // Mostly by minutes, a few by hours.
        QueueState::Breached => {
            let over =
                if rng.random_bool(0.75) { rng.random_range(2..55) } else { rng.random_range(60..8 * 60) };
            Some(-over)
        }
        QueueState::Paused | QueueState::Done => None,
    }
}

/// How long the first answer took: well inside the target.
fn first_answer(rng: &mut StdRng, g: &Goals, at_most: i64) -> i64 {
    rng.random_range(1..=(g.fr.target * 8 / 10).clamp(1, at_most.max(1)))
}

/// An open ticket whose deciding clock lands in `aim` (Fine, AtRisk or Breached).
fn plan_live(rng: &mut StdRng, aim: QueueState, shape: Shape, g: &Goals) -> Option<Timeline> {
    match shape {
        Shape::AwaitingFirst => {
            // Resolution runs from the same start with a longer target: first response decides.
            let r = remaining(rng, aim, g.fr)?;
            Some(Timeline {
                status: Status::New,
                created: g.fr.target - r,
                reply: None,
                follow_up: None,
                stop: None,
            })
        }
        Shape::AwaitingNext => {
            let r = remaining(rng, aim, g.nr)?;
            let asked = g.nr.target - r;
            let reply = asked + rng.random_range(2..240);
            let created = reply + first_answer(rng, g, i64::MAX);
            // Resolution has run since creation: it must stay out of the way.
            let res_left = g.res.target - created;
            let need = if aim == QueueState::Fine { g.res.warn.max(60) + 5 } else { r + 1 };
            (res_left >= need).then_some(Timeline {
                status: Status::Open,
                created,
                reply: Some(reply),
                follow_up: Some((asked, None)),
                stop: None,
            })
        }
        Shape::Working => {
            let r = remaining(rng, aim, g.res)?;
            let created = g.res.target - r;
            let reply = created - first_answer(rng, g, created);
            // Sometimes an earlier exchange: the customer asked again and was answered in time.
            let follow_up = (reply >= 60 && rng.random_bool(0.4)).then(|| {
                let asked = reply - rng.random_range(5..reply / 2);
                let answered = asked - rng.random_range(1..=(g.nr.target * 7 / 10).clamp(1, asked.max(1)));
                (asked, Some(answered.max(0)))
            });
            Some(Timeline { status: Status::Open, created, reply: Some(reply), follow_up, stop: None })
        }
    }
}

/// Pending or on hold since the last answer, with no clock owed.
fn plan_paused(rng: &mut StdRng, g: &Goals) -> Timeline {
    let stop = rng.random_range(5..6 * 9 * 60);
    let (reply, follow_up) = if rng.random_bool(0.3) {
        let asked = stop + rng.random_range(1..=(g.nr.target * 7 / 10).max(1));
        (asked + rng.random_range(10..(g.res.target / 4).max(11)), Some((asked, Some(stop))))
    } else {
        (stop, None)
    };
    let created = reply + first_answer(rng, g, i64::MAX);
    let status = if rng.random_bool(0.7) { Status::Pending } else { Status::OnHold };
    Timeline { status, created, reply: Some(reply), follow_up, stop: Some(stop) }
}

/// Solved (closed after four days) at some point in the last 60 days, mostly within targets.
fn plan_done(rng: &mut StdRng, g: &Goals, clock: &BusinessClock, now_ms: i64) -> Timeline {
    let age_min = if rng.random_bool(0.5) {
        rng.random_range(30..3 * 24 * 60)
    } else {
        rng.random_range(3 * 24 * 60..60 * 24 * 60)
    };
    let stop = clock.offset_of(now_ms - age_min * 60_000);
    let last = stop + rng.random_range(5..(g.res.target / 4).max(6));
    let (reply, follow_up) = if rng.random_bool(0.35) {
        let asked = last + rng.random_range(1..=(g.nr.target * 7 / 10).max(1));
        (asked + rng.random_range(10..(g.res.target / 4).max(11)), Some((asked, Some(last))))
    } else {
        (last, None)
    };
    // One in ten was answered late: history shows breaches too.
    let took = if rng.random_bool(0.9) {
        rng.random_range(1..=(g.fr.target * 9 / 10).max(1))
    } else {
        rng.random_range(g.fr.target + 5..g.fr.target * 2 + 6)
    };
    let status = if age_min > 4 * 24 * 60 { Status::Closed } else { Status::Solved };
    Timeline { status, created: reply + took, reply: Some(reply), follow_up, stop: Some(stop) }
}

/// A handful of the local agent's own tickets: open ones for "My open", and a few others.
const LOCAL_LIVE: usize = 6;
const LOCAL_OTHER: usize = 4;

/// Rows per multi-row INSERT. Every full batch is the same statement, so it is prepared once
/// and reused; 18 columns x 500 rows stays well under PostgreSQL's 65,535 bound parameters.
const TICKET_BATCH: usize = 500;
const MESSAGE_BATCH: usize = 1000;
const TAG_BATCH: usize = 2000;

struct TicketSeed {
    id: i64,
    subject: &'static str,
    status: Status,
    priority: Priority,
    requester: i64,
    assignee: Option<i64>,
    team: i64,
    tags: &'static [&'static str],
    channel: &'static str,
    created: i64,
    updated: i64,
    /// Index into the demo policies.
    policy: usize,
    log: Vec<SlaLogEntry>,
    external: String,
    aim: QueueState,
}

struct MessageSeed {
    ticket: i64,
    kind: &'static str,
    author_id: Option<i64>,
    author_name: String,
    visibility: Visibility,
    body: Arc<Body>,
    at: i64,
}

/// How the planned tickets came out, by the SLA report each one got.
#[derive(Default)]
struct Mix {
    states: HashMap<QueueState, usize>,
    /// Tickets whose report is not the state they were planned for.
    off_target: usize,
}

impl Mix {
    fn count(&self, s: QueueState) -> usize {
        self.states.get(&s).copied().unwrap_or(0)
    }
}

#[allow(clippy::too_many_arguments)]
async fn flush(
    tx: &mut super::store::WriteTx,
    cache: &glue::PolicyCache,
    policy_ids: &[i64],
    policy_texts: &[String],
    tickets: &mut Vec<TicketSeed>,
    messages: &mut Vec<MessageSeed>,
    tags: &mut Vec<(i64, &'static str)>,
    mix: &mut Mix,
    now: Timestamp,
    last: bool,
) -> Result<(), AppError> {
    let dialect = tx.dialect();
    let compiled: Vec<_> =
        policy_ids.iter().zip(policy_texts).map(|(id, text)| cache.get(*id, text)).collect();
    if !tickets.is_empty() {
        let mut sql = Sql::positional(
            "INSERT INTO tickets (id, subject, status, priority, requester_id, assignee_id, team_id, tags, channel, \
             snoozed_until, created_at, updated_at, version, sla_policy_id, sla_log, next_sla_due_at, sla_sort, external) VALUES ",
            dialect,
        );
        for (i, t) in tickets.iter().enumerate() {
            let report = glue::report(compiled.get(t.policy).and_then(|c| c.as_deref()), &t.log, now);
            let state = queue_state(&report, t.status);
            *mix.states.entry(state).or_default() += 1;
            if state != t.aim {
                mix.off_target += 1;
                tracing::debug!(ticket = t.id, planned = ?t.aim, got = ?state, "demo ticket off its planned SLA state");
            }
            let next = glue::next_due(&report, t.status).map(ms);
            if i > 0 {
                sql.push(", ");
            }
            let vals: [Val; 18] = [
                t.id.into(),
                t.subject.into(),
                t.status.as_str().into(),
                priority_rank(t.priority).into(),
                t.requester.into(),
                t.assignee.into(),
                t.team.into(),
                serde_json::to_string(&t.tags).unwrap_or_else(|_| "[]".into()).into(),
                t.channel.into(),
                Val::NullI,
                t.created.into(),
                t.updated.into(),
                1i64.into(),
                policy_ids.get(t.policy).copied().into(),
                serde_json::to_string(&t.log).unwrap_or_else(|_| "[]".into()).into(),
                next.into(),
                next.unwrap_or(i64::MAX).into(),
                t.external.as_str().into(),
            ];
            sql.push("(");
            for (j, v) in vals.into_iter().enumerate() {
                if j > 0 {
                    sql.push(", ");
                }
                sql.bind(v);
            }
            sql.push(")");
        }
        sql.query().execute(tx.conn()).await?;
        tickets.clear();
    }
    // Only full batches until the last flush, so that every statement but the final one has
    // the same text (and so the same prepared statement).
    let full = |len: usize, batch: usize| if last { len } else { len - len % batch };
    let n = full(messages.len(), MESSAGE_BATCH);
    for chunk in messages[..n].chunks(MESSAGE_BATCH) {
        let mut sql = Sql::positional(
            "INSERT INTO messages (ticket_id, author_kind, author_id, author_name, visibility, body_tiptap, body_markdown, source, created_at) VALUES ",
            dialect,
        );
        for (i, m) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(m.ticket)
                .push(", ")
                .bind(m.kind)
                .push(", ")
                .bind(m.author_id)
                .push(", ")
                .bind(m.author_name.as_str())
                .push(", ")
                .bind(m.visibility.as_str())
                .push(", ")
                .bind(m.body.tiptap.as_str())
                .push(", ")
                .bind(m.body.markdown.as_str())
                .push(", ");
            match &m.body.source {
                Some(s) => sql.bind(s.as_str()),
                None => sql.push("NULL"),
            };
            sql.push(", ").bind(m.at).push(")");
        }
        sql.query().execute(tx.conn()).await?;
    }
    messages.drain(..n);
    let n = full(tags.len(), TAG_BATCH);
    for chunk in tags[..n].chunks(TAG_BATCH) {
        let mut sql = Sql::positional("INSERT INTO ticket_tags (ticket_id, tag) VALUES ", dialect);
        for (i, (t, tag)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(").bind(*t).push(", ").bind(*tag).push(")");
        }
        sql.push(" ON CONFLICT DO NOTHING");
        sql.query().execute(tx.conn()).await?;
    }
    tags.drain(..n);
    Ok(())
}

/// Seeds the demo workspace into a database without tickets; returns false when it has some.
pub async fn seed(store: &Store, tickets: usize, now: Timestamp) -> Result<bool, AppError> {
    Ok(seed_with_mix(store, tickets, now).await?.is_some())
}

/// [`seed`], returning how the tickets' SLA states came out (None: not seeded).
async fn seed_with_mix(store: &Store, tickets: usize, now: Timestamp) -> Result<Option<Mix>, AppError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM tickets").fetch_one(store.pool()).await?;
    if n > 0 {
        return Ok(None);
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    let now_ms = ms(now);
    let mut tx = store.write().await?;

    // Policies, teams, agents.
    let mut policy_ids = Vec::new();
    for p in policies() {
        let text = serde_json::to_string(&p).map_err(AppError::internal)?;
        let (id,): (i64,) =
            sqlx::query_as("INSERT INTO sla_policies (name, policy) VALUES ($1, $2) RETURNING id")
                .bind(&p.name)
                .bind(&text)
                .fetch_one(tx.conn())
                .await?;
        policy_ids.push(id);
    }
    let mut team_ids = Vec::new();
    for (i, t) in TEAMS.iter().enumerate() {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO teams (name, sla_policy_id) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET sla_policy_id = excluded.sla_policy_id RETURNING id",
        )
        .bind(*t)
        .bind(policy_ids[i])
        .fetch_one(tx.conn())
        .await?;
        team_ids.push(id);
    }
    // Agents that exist already (the bootstrap admin) join every team.
    let existing: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM agents ORDER BY id").fetch_all(tx.conn()).await?;
    for (a, _) in &existing {
        for t in &team_ids {
            sqlx::query("INSERT INTO agent_teams (agent_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(*a)
                .bind(*t)
                .execute(tx.conn())
                .await?;
        }
    }
    let mut agent_ids = Vec::new();
    let mut team_members: Vec<Vec<i64>> = vec![Vec::new(); TEAMS.len()];
    for (name, role, teams) in AGENTS {
        let email = format!(
            "{}@desk.example",
            name.split_whitespace().next().unwrap_or(name).to_lowercase().replace('é', "e")
        );
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO agents (name, email, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (email) DO UPDATE SET name = excluded.name RETURNING id",
        )
        .bind(name)
        .bind(&email)
        .bind(role)
        .bind(now_ms - 400 * 86_400_000)
        .fetch_one(tx.conn())
        .await?;
        for t in teams {
            sqlx::query("INSERT INTO agent_teams (agent_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(team_ids[*t])
                .execute(tx.conn())
                .await?;
            team_members[*t].push(id);
        }
        agent_ids.push((id, name));
    }

    // Accounts and contacts.
    let mut account_ids = Vec::new();
    for i in 0..40 {
        let name = format!("{} {}", CO_A[i % CO_A.len()], CO_B[(i * 3 + i / CO_A.len()) % CO_B.len()]);
        let domain = format!("{}.example", name.to_lowercase().replace(' ', "-"));
        let tier = *pick(&mut rng, &["free", "starter", "starter", "business", "business", "enterprise"]);
        let arr = match tier {
            "free" => 0,
            "starter" => rng.random_range(1..10) * 1_200,
            "business" => rng.random_range(10..80) * 1_000,
            _ => rng.random_range(100..900) * 1_000,
        };
        let health = *pick(&mut rng, &["good", "good", "good", "watch", "at_risk"]);
        let owner = agent_ids[rng.random_range(0..agent_ids.len())].0;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO accounts (name, domain, tier, arr, health, owner_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&name)
        .bind(&domain)
        .bind(tier)
        .bind(arr)
        .bind(health)
        .bind(owner)
        .fetch_one(tx.conn())
        .await?;
        account_ids.push((id, domain));
    }
    let mut contacts = Vec::new();
    for i in 0..200 {
        let first = FIRST[i % FIRST.len()];
        let last = LAST[(i * 7 + i / FIRST.len()) % LAST.len()];
        let (account, domain) = &account_ids[i % account_ids.len()];
        let name = format!("{first} {last}");
        let email = format!("{}.{}@{domain}", first.to_lowercase(), last.to_lowercase());
        let slack = format!("U{:07}", 1_000_000 + i * 7919 % 9_000_000);
        let tags = if i % 9 == 0 { r#"["vip"]"# } else { "[]" };
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO contacts (name, email, title, account_id, slack_user_id, tags, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&name)
        .bind(&email)
        .bind(*pick(&mut rng, &TITLES))
        .bind(*account)
        .bind(&slack)
        .bind(tags)
        .bind(now_ms - rng.random_range(30..700) * 86_400_000)
        .fetch_one(tx.conn())
        .await?;
        contacts.push((id, name, *account));
    }

    // Demo agents appear in Slack as `U9<agent id>`; mentions of them resolve to their names.
    let names: Vec<(i64, String)> =
        existing.iter().cloned().chain(agent_ids.iter().map(|(id, n)| (*id, (*n).to_owned()))).collect();
    let slack_names = |_kind: crate::richtext::MentionKind, id: &str| -> Option<String> {
        let n: i64 = id.strip_prefix("U9")?.parse().ok()?;
        names.iter().find(|a| a.0 == n).map(|a| a.1.clone())
    };
    let name_of = |id: i64| names.iter().find(|a| a.0 == id).map_or("Agent", |a| a.1.as_str()).to_owned();

    // Tickets and their conversations, planned backwards from the SLA state each should show.
    let models = policies();
    let cache = glue::PolicyCache::default();
    let policy_texts: Vec<String> =
        models.iter().map(|p| serde_json::to_string(p).unwrap_or_default()).collect();
    let clocks: Vec<BusinessClock> = models
        .iter()
        .map(|p| match glue::compile(p) {
            Ok(c) => Ok(BusinessClock::new(c.calendar(), now, 75)),
            Err(e) => Err(AppError::internal(format!("demo SLA policy `{}`: {e}", p.name))),
        })
        .collect::<Result<_, _>>()?;
    // The agent the local console signs in as (the bootstrap admin, the first agent) owns a
    // handful of the queue, spread over the run, so that its "My open" view shows something.
    let local = existing.first().map(|a| a.0);
    let (mut owed_live, mut owed_other) = (0usize, 0usize);
    let (first_id,): (Option<i64>,) =
        sqlx::query_as("SELECT MAX(id) FROM tickets").fetch_one(tx.conn()).await?;
    let first_id = first_id.unwrap_or(0) + 1;
    let mut bodies = Bodies::default();
    let mut mix = Mix::default();
    let mut ticket_batch: Vec<TicketSeed> = Vec::new();
    let mut message_batch: Vec<MessageSeed> = Vec::new();
    let mut tag_batch: Vec<(i64, &'static str)> = Vec::new();
    for k in 0..tickets {
        let id = first_id + k as i64;
        if local.is_some() && (k * LOCAL_LIVE) % tickets < LOCAL_LIVE {
            owed_live += 1;
        }
        if local.is_some() && (k * LOCAL_OTHER + tickets / 2) % tickets < LOCAL_OTHER {
            owed_other += 1;
        }
        let (subject, team_ix, tags) = SUBJECTS[rng.random_range(0..SUBJECTS.len())];
        let team_ix = if rng.random_bool(0.8) { team_ix } else { rng.random_range(0..TEAMS.len()) };
        let (requester, requester_name, _) = contacts[rng.random_range(0..contacts.len())].clone();
        let priority = *pick(
            &mut rng,
            &[
                Priority::Low,
                Priority::Low,
                Priority::Normal,
                Priority::Normal,
                Priority::Normal,
                Priority::Normal,
                Priority::Normal,
                Priority::Normal,
                Priority::High,
                Priority::High,
                Priority::High,
                Priority::Urgent,
            ],
        );
        let g = goals(&models[team_ix], priority);
        let clock = &clocks[team_ix];
        // 45% open (of them about 80% fine, 11% at risk, 8% breached), 13% paused, the rest
        // solved or closed.
        let roll: f64 = rng.random();
        let aim = match roll {
            r if r < 0.42 => QueueState::Done,
            r if r < 0.55 => QueueState::Paused,
            r if r < 0.585 => QueueState::Breached,
            r if r < 0.635 => QueueState::AtRisk,
            _ => QueueState::Fine,
        };
        let plan = match aim {
            QueueState::Done => plan_done(&mut rng, &g, clock, now_ms),
            QueueState::Paused => plan_paused(&mut rng, &g),
            _ => {
                let shape = *pick(
                    &mut rng,
                    &[
                        Shape::AwaitingFirst,
                        Shape::AwaitingFirst,
                        Shape::AwaitingNext,
                        Shape::Working,
                        Shape::Working,
                    ],
                );
                // Resolution targets are long enough for every state; a short first or next
                // response target (urgent, 24x7) may not be.
                match plan_live(&mut rng, aim, shape, &g) {
                    Some(p) => p,
                    None => plan_live(&mut rng, aim, Shape::Working, &g)
                        .ok_or_else(|| AppError::internal("demo: no plan for an open ticket"))?,
                }
            }
        };
        let members = &team_members[team_ix];
        let member = |rng: &mut StdRng| members.get(rng.random_range(0..members.len().max(1))).copied();
        let mut assignee = match plan.status {
            Status::New => {
                if rng.random_bool(0.25) {
                    member(&mut rng)
                } else {
                    None
                }
            }
            Status::Open => {
                if rng.random_bool(0.92) {
                    member(&mut rng)
                } else {
                    None
                }
            }
            Status::Pending | Status::OnHold => {
                if rng.random_bool(0.95) {
                    member(&mut rng)
                } else {
                    None
                }
            }
            Status::Solved | Status::Closed => member(&mut rng),
        };
        if matches!(plan.status, Status::New | Status::Open) {
            if owed_live > 0 {
                owed_live -= 1;
                assignee = local;
            }
        } else if owed_other > 0 {
            owed_other -= 1;
            assignee = local;
        }
        let agent = assignee.or_else(|| members.first().copied()).unwrap_or(agent_ids[0].0);
        let agent_name = name_of(agent);
        let channel = *pick(&mut rng, &["slack", "slack", "slack", "email", "web"]);
        let at = |off: i64| clock.before(off);
        let created = at(plan.created);

        let mut log = vec![SlaLogEntry { at: created, kind: SlaLogKind::Created }];
        if priority != Priority::Normal {
            log.push(SlaLogEntry { at: created, kind: SlaLogKind::Priority(priority) });
        }
        log.push(SlaLogEntry { at: created, kind: SlaLogKind::CustomerMessage });
        let msg = |m: &mut Vec<MessageSeed>, kind, author: (Option<i64>, &str), visibility, body, at| {
            m.push(MessageSeed {
                ticket: id,
                kind,
                author_id: author.0,
                author_name: author.1.to_owned(),
                visibility,
                body,
                at,
            })
        };
        // The customer's opening message.
        let body = if channel == "slack" {
            let code = *pick(
                &mut rng,
                &[
                    "curl -X POST https://api.example.com/v2/orders",
                    "Error: 403 Forbidden (code SSO_42)",
                    "timeout after 30000ms",
                ],
            );
            let emoji = *pick(&mut rng, &["pray", "fire", "eyes", "thumbsup"]);
            bodies.blockkit(subject, format!("U9{agent:06}"), code, emoji, &slack_names)
        } else {
            bodies
                .markdown(format!("Hello,\n\n{subject}. Could you take a look?\n\nThanks,\n{requester_name}"))
        };
        let customer = (Some(requester), requester_name.as_str());
        let staff = (Some(agent), agent_name.as_str());
        msg(&mut message_batch, "contact", customer, Visibility::Public, body, created);
        // A colleague is asked to look, somewhere between creation and the first answer.
        let until = plan.reply.unwrap_or(0);
        if plan.created - until >= 2 && rng.random_bool(0.35) {
            let t = at(rng.random_range(until + 1..plan.created));
            let colleague =
                AGENTS[rng.random_range(0..AGENTS.len())].0.split_whitespace().next().unwrap_or("ana");
            let md = format!(
                "@{} can you check the logs for {}? Looks like the same issue as last week.",
                colleague.to_lowercase().replace('é', "e"),
                requester_name
            );
            msg(&mut message_batch, "agent", staff, Visibility::Internal, bodies.markdown(md), t);
            log.push(SlaLogEntry { at: t, kind: SlaLogKind::InternalNote });
        }
        let first_name = requester_name.split_whitespace().next().unwrap_or("").to_owned();
        let waiting = matches!(plan.status, Status::Pending);
        if let Some(r) = plan.reply {
            let t = at(r);
            let md = if waiting && plan.follow_up.is_none() {
                format!(
                    "Hi {first_name},\n\nCould you send us a screenshot and the exact time it happened? That helps us find it in our logs.\n\n- {agent_name}"
                )
            } else {
                format!(
                    "Hi {first_name},\n\nThanks for the details. I'm looking into it now and will update you shortly.\n\n- {agent_name}"
                )
            };
            msg(&mut message_batch, "agent", staff, Visibility::Public, bodies.markdown(md), t);
            log.push(SlaLogEntry { at: t, kind: SlaLogKind::AgentReply });
            log.push(SlaLogEntry { at: t, kind: SlaLogKind::Status(Status::Open) });
        }
        if let Some((asked, answered)) = plan.follow_up {
            let t = at(asked);
            let md = *pick(
                &mut rng,
                &[
                    "Thanks! Any news? :eyes:",
                    "Still seeing this on our side, can you check again?",
                    "Quick ping: this is still blocking us :pray:",
                ],
            );
            msg(
                &mut message_batch,
                "contact",
                customer,
                Visibility::Public,
                bodies.markdown(md.to_owned()),
                t,
            );
            log.push(SlaLogEntry { at: t, kind: SlaLogKind::CustomerMessage });
            if let Some(a) = answered {
                let t = at(a);
                let md = match plan.status {
                    Status::Solved | Status::Closed => format!(
                        "Hi {first_name},\n\nGood news: this is fixed now. Reply here if anything still looks wrong.\n\n- {agent_name}"
                    ),
                    Status::Pending => format!(
                        "Thanks {first_name}. Could you try again now and tell us whether it still happens?\n\n- {agent_name}"
                    ),
                    _ => format!(
                        "Hi {first_name},\n\nWe found the cause and a fix is rolling out. I'll confirm here once it's live.\n\n- {agent_name}"
                    ),
                };
                msg(&mut message_batch, "agent", staff, Visibility::Public, bodies.markdown(md), t);
                log.push(SlaLogEntry { at: t, kind: SlaLogKind::AgentReply });
            }
        }
        if let Some(s) = plan.stop {
            let t = at(s);
            if plan.status == Status::Closed {
                log.push(SlaLogEntry { at: t, kind: SlaLogKind::Status(Status::Solved) });
                // Solved tickets close on their own after four days.
                log.push(SlaLogEntry {
                    at: (t + 4 * 86_400_000).min(now_ms),
                    kind: SlaLogKind::Status(Status::Closed),
                });
            } else {
                log.push(SlaLogEntry { at: t, kind: SlaLogKind::Status(plan.status) });
            }
        }
        let updated = log.iter().map(|e| e.at).max().unwrap_or(created).min(now_ms);
        for tag in tags {
            tag_batch.push((id, *tag));
        }
        let external = if channel == "slack" {
            serde_json::json!({"slack_team_id": "T0DESK", "slack_channel": "C0SUPPORT", "slack_thread_ts": format!("{}.{:06}", created / 1000, k % 1_000_000)}).to_string()
        } else {
            "{}".into()
        };
        ticket_batch.push(TicketSeed {
            id,
            subject,
            status: plan.status,
            priority,
            requester,
            assignee,
            team: team_ids[team_ix],
            tags,
            channel,
            created,
            updated,
            policy: team_ix,
            log,
            external,
            aim,
        });
        if ticket_batch.len() >= TICKET_BATCH {
            flush(
                &mut tx,
                &cache,
                &policy_ids,
                &policy_texts,
                &mut ticket_batch,
                &mut message_batch,
                &mut tag_batch,
                &mut mix,
                now,
                false,
            )
            .await?;
        }
    }
    flush(
        &mut tx,
        &cache,
        &policy_ids,
        &policy_texts,
        &mut ticket_batch,
        &mut message_batch,
        &mut tag_batch,
        &mut mix,
        now,
        true,
    )
    .await?;
    tracing::info!(
        fine = mix.count(QueueState::Fine),
        at_risk = mix.count(QueueState::AtRisk),
        breached = mix.count(QueueState::Breached),
        paused = mix.count(QueueState::Paused),
        done = mix.count(QueueState::Done),
        off_target = mix.off_target,
        distinct_bodies = bodies.markdown.len() + bodies.blockkit.len(),
        "demo tickets planned"
    );
    if tx.dialect() == Dialect::Postgres {
        sqlx::query("SELECT setval(pg_get_serial_sequence('tickets', 'id'), (SELECT MAX(id) FROM tickets))")
            .execute(tx.conn())
            .await?;
    }

    // Activities, tasks, macros, a few notifications.
    for i in 0..300 {
        let (contact, _, account) = contacts[i % contacts.len()].clone();
        let kind = *pick(&mut rng, &["call", "meeting", "email", "note"]);
        let summary = *pick(
            &mut rng,
            &[
                "Quarterly review: happy with response times",
                "Discussed renewal and seat count",
                "Walked through SSO setup",
                "Escalation call about webhook delays",
                "Sent the migration guide",
            ],
        );
        sqlx::query("INSERT INTO activities (kind, summary, at, contact_id, account_id, agent_id) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(kind)
            .bind(summary)
            .bind(now_ms - rng.random_range(1..90 * 24 * 60) * 60_000)
            .bind(if i % 3 == 0 { None } else { Some(contact) })
            .bind(Some(account))
            .bind(agent_ids[i % agent_ids.len()].0)
            .execute(tx.conn())
            .await?;
    }
    for i in 0..100 {
        let (contact, name, account) = contacts[(i * 13) % contacts.len()].clone();
        let ticket = if tickets > 0 { Some(first_id + (i as i64 * 37) % tickets as i64) } else { None };
        sqlx::query("INSERT INTO tasks (title, due_at, assignee_id, done, ticket_id, contact_id, account_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(format!("Follow up with {name}"))
            .bind(now_ms + rng.random_range(-3 * 24 * 60..7 * 24 * 60) * 60_000)
            .bind(agent_ids[i % agent_ids.len()].0)
            .bind(i64::from(i % 4 == 0))
            .bind(ticket)
            .bind(contact)
            .bind(account)
            .bind(now_ms - 86_400_000)
            .execute(tx.conn())
            .await?;
    }
    let macros: [(&str, Option<&str>, TicketPatch); 4] = [
        (
            "Ask for more details",
            Some(
                "Could you send us a screenshot and the exact time it happened? That helps us find it in our logs.",
            ),
            TicketPatch { status: Some(Status::Pending), ..Default::default() },
        ),
        (
            "Solve: fixed",
            Some("Good news: this is fixed now. Reply here if anything still looks wrong."),
            TicketPatch { status: Some(Status::Solved), ..Default::default() },
        ),
        (
            "Escalate to Platform",
            None,
            TicketPatch {
                team_id: Some(team_ids[2].into()),
                priority: Some(Priority::High),
                add_tags: vec!["escalated".into()],
                ..Default::default()
            },
        ),
        (
            "Billing: refund issued",
            Some("We've issued the refund; it shows on your statement within 5 business days."),
            TicketPatch {
                status: Some(Status::Solved),
                add_tags: vec!["refund".into()],
                ..Default::default()
            },
        ),
    ];
    for (name, reply, patch) in macros {
        sqlx::query(
            "INSERT INTO macros (name, reply_markdown, reply_visibility, patch) VALUES ($1, $2, $3, $4)",
        )
        .bind(name)
        .bind(reply)
        .bind(reply.map(|_| "public"))
        .bind(serde_json::to_string(&patch).map_err(AppError::internal)?)
        .execute(tx.conn())
        .await?;
    }
    tx.event("workspace.seeded", None, None, None, serde_json::json!({"tickets": tickets}), now).await?;
    tx.commit(store).await?;
    // Fresh statistics so the planner picks the sort-key indexes on a large table.
    sqlx::query("ANALYZE").execute(store.pool()).await?;
    Ok(Some(mix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Role, SortKey, TicketFilter};
    use crate::server::auth::Principal;
    use crate::server::store::tickets::{self, TICKET_SELECT, TicketRow};
    use crate::server::store::workspace;

    async fn open(dir: &tempfile::TempDir, name: &str, now: Timestamp) -> Store {
        let url = format!("sqlite://{}", dir.path().join(name).display());
        let store = Store::open(&url).await.expect("open the store");
        workspace::ensure_default_views(&store).await.expect("default views");
        // As the local console's workspace does: the bootstrap admin first, then the demo.
        assert!(workspace::bootstrap(&store, "local-token", now).await.expect("bootstrap"));
        store
    }

    async fn local_agent(store: &Store) -> Principal {
        let (agent_id, name, email): (i64, String, String) =
            sqlx::query_as("SELECT id, name, email FROM agents WHERE email = 'admin@desk.local'")
                .fetch_one(store.pool())
                .await
                .expect("the bootstrap admin");
        let teams: Vec<(i64,)> =
            sqlx::query_as("SELECT team_id FROM agent_teams WHERE agent_id = $1 ORDER BY team_id")
                .bind(agent_id)
                .fetch_all(store.pool())
                .await
                .expect("teams");
        Principal {
            agent_id,
            name,
            email,
            role: Role::Admin,
            teams: teams.into_iter().map(|t| t.0).collect(),
            token_hash: String::new(),
        }
    }

    fn view(name: &str) -> TicketFilter {
        workspace::default_views().into_iter().find(|v| v.0 == name).map(|v| v.1).expect("a default view")
    }

    /// Seeds the default 500-ticket demo at `now` and checks that the queue is one a support
    /// lead would believe, from the SLA reports the server itself computes.
    async fn believable_at(now: &str) {
        let now: Timestamp = now.parse().expect("timestamp");
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(&dir, "demo.db", now).await;
        let mix = seed_with_mix(&store, 500, now).await.expect("seed").expect("a fresh database seeds");
        assert_eq!(mix.off_target, 0, "every ticket lands in the SLA state it was planned for");

        let rows: Vec<TicketRow> =
            Sql::new(TICKET_SELECT).query_as().fetch_all(store.pool()).await.expect("rows");
        assert_eq!(rows.len(), 500);
        let cache = glue::PolicyCache::default();
        let texts: Vec<(i64, String)> = sqlx::query_as("SELECT id, policy FROM sla_policies")
            .fetch_all(store.pool())
            .await
            .expect("policies");
        let mut states: HashMap<QueueState, usize> = HashMap::new();
        let (mut over_an_hour, mut breached_clocks) = (0, 0);
        for r in &rows {
            let text =
                texts.iter().find(|t| Some(t.0) == r.sla_policy_id).map(|t| t.1.as_str()).expect("policy");
            let report =
                glue::report(cache.get(r.sla_policy_id.unwrap_or(0), text).as_deref(), &r.log(), now);
            let state = queue_state(&report, r.status());
            *states.entry(state).or_default() += 1;
            if state == QueueState::Breached {
                let worst = [&report.first_response, &report.next_response, &report.resolution]
                    .into_iter()
                    .flatten()
                    .map(|m| m.remaining_min)
                    .min()
                    .unwrap_or(0);
                breached_clocks += 1;
                if worst < -60 {
                    over_an_hour += 1;
                }
            }
            // A finished ticket never sorts into the SLA queues.
            assert_eq!(
                r.next_sla_due_at.is_none(),
                !r.status().is_open() || state == QueueState::Paused,
                "#{}",
                r.id
            );
        }
        let n = |s| states.get(&s).copied().unwrap_or(0) as f64;
        let active = 500.0 - n(QueueState::Done);
        let share = |s| n(s) / active;
        assert!((0.35..0.6).contains(&(n(QueueState::Done) / 500.0)), "solved or closed: {states:?}");
        assert!(share(QueueState::Fine) > 0.5, "most open tickets are fine: {states:?}");
        assert!((0.03..0.15).contains(&share(QueueState::Breached)), "a few breached: {states:?}");
        assert!((0.03..0.20).contains(&share(QueueState::AtRisk)), "a visible minority at risk: {states:?}");
        assert!((0.08..0.35).contains(&share(QueueState::Paused)), "some paused: {states:?}");
        assert!(
            over_an_hour >= 1 && over_an_hour * 2 < breached_clocks,
            "breached mostly by minutes, a few by hours: {over_an_hour} of {breached_clocks}"
        );

        let me = local_agent(&store).await;
        let my_open = tickets::count(&store, &me, &view("My open"), now).await.expect("count");
        assert!((3..=10).contains(&my_open), "the local agent has a handful of open tickets: {my_open}");
        let (page, _) =
            tickets::list(&store, &me, &view("My open"), SortKey::Sla, None, 50, now).await.expect("list");
        assert_eq!(page.len() as i64, my_open);
        assert!(page.iter().all(|t| t.assignee_id == Some(me.agent_id)));
        // Breached tickets are due in the past, so they are in "Breaching soon" too; at risk ones
        // are when the hour is a business hour. Either way it is a short list, not half the queue.
        let soon = tickets::count(&store, &me, &view("Breaching soon"), now).await.expect("count");
        assert!(soon as f64 >= n(QueueState::Breached), "breached tickets are in Breaching soon: {soon}");
        assert!((soon as f64) < 0.25 * active, "Breaching soon is a short list: {soon} of {active}");
        let unassigned = tickets::count(&store, &me, &view("Unassigned"), now).await.expect("count");
        assert!((10..150).contains(&unassigned), "some unassigned tickets to triage: {unassigned}");
    }

    #[tokio::test]
    async fn demo_queue_is_believable_on_a_weekday_afternoon() {
        // Tuesday: 15:00 in Berlin, 09:00 in New York; both business calendars are open.
        believable_at("2026-12-01T14:00:00Z").await;
    }

    #[tokio::test]
    async fn demo_queue_is_believable_on_a_saturday() {
        // No business hours anywhere but the 24x7 policy: clocks stand still where they were.
        believable_at("2026-12-05T11:00:00Z").await;
    }

    #[tokio::test]
    async fn demo_queue_is_believable_at_night() {
        // Wednesday 03:30 in Berlin, Tuesday 21:30 in New York (just after closing).
        believable_at("2026-12-02T02:30:00Z").await;
    }

    #[tokio::test]
    async fn demo_is_deterministic() {
        let now: Timestamp = "2026-11-30T10:17:23Z".parse().expect("timestamp");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut seen = Vec::new();
        for name in ["a.db", "b.db"] {
            let store = open(&dir, name, now).await;
            assert!(seed(&store, 60, now).await.expect("seed"));
            let rows: Vec<(i64, String, String, Option<i64>, String, String)> = sqlx::query_as(
                "SELECT t.id, t.subject, t.status, t.assignee_id, t.sla_log, \
                 (SELECT group_concat(body_markdown, '|') FROM messages m WHERE m.ticket_id = t.id) FROM tickets t ORDER BY t.id",
            )
            .fetch_all(store.pool())
            .await
            .expect("rows");
            seen.push(rows);
            assert!(!seed(&store, 60, now).await.expect("second seed"), "a seeded database is left alone");
        }
        assert_eq!(seen[0].len(), 60);
        assert_eq!(seen[0], seen[1]);
    }

    #[test]
    fn business_clock_counts_back_in_business_minutes() {
        let policy = glue::compile(&policies()[0]).expect("Berlin policy");
        // Monday 2026-11-30 09:30 in Berlin (08:30 UTC): 30 business minutes into the day.
        let now: Timestamp = "2026-11-30T08:30:00Z".parse().expect("timestamp");
        let clock = BusinessClock::new(policy.calendar(), now, 10);
        let at = |n| Timestamp::from_millisecond(clock.before(n)).expect("instant").to_string();
        assert_eq!(at(0), "2026-11-30T08:30:00Z");
        assert_eq!(at(30), "2026-11-30T08:00:00Z");
        // One more minute reaches back over the weekend to Friday 17:59 in Berlin.
        assert_eq!(at(31), "2026-11-27T16:59:00Z");
        assert_eq!(clock.offset_of(clock.before(31)), 31);
        let cal = policy.calendar();
        assert_eq!(
            cal.business_minutes_between(Timestamp::from_millisecond(clock.before(600)).expect("t"), now),
            600
        );
    }
}
