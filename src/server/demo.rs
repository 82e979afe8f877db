//! The demo workspace: deterministic (fixed-seed RNG), believable, and large enough to triage.
//!
//! 3 teams, 10 agents, 40 accounts, 200 contacts, N tickets (500 by default) whose
//! conversations mix Slack Block Kit messages (mentions, lists, code, links, emoji; the Block
//! Kit kept as `source`), agent replies and internal notes; activities, tasks, SLA policies
//! with business hours in two zones plus a 24x7 one, macros and the default views.
//! Timestamps are relative to `now` so that some SLAs are fine, some at risk, some breached
//! and some paused. Tickets and messages go in with multi-row inserts in one transaction.

use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::error::AppError;
use super::glue::{self, SlaLogEntry, SlaLogKind};
use super::store::tickets::priority_rank;
use super::store::{Dialect, Sql, Store, Val, ms};
use crate::model::{
    Priority, ScheduleInterval, SlaPolicy, SlaTargets, Status, TicketPatch, Visibility, WarningThreshold,
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
fn blockkit_message(rng: &mut StdRng, subject: &str, slack_agent: &str) -> (serde_json::Value, String) {
    let code = pick(
        rng,
        &[
            "curl -X POST https://api.example.com/v2/orders",
            "Error: 403 Forbidden (code SSO_42)",
            "timeout after 30000ms",
        ],
    );
    let emoji = pick(rng, &["pray", "fire", "eyes", "thumbsup"]);
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
    let shortcode = match *emoji {
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

struct TicketSeed {
    id: i64,
    subject: String,
    status: Status,
    priority: Priority,
    requester: i64,
    assignee: Option<i64>,
    team: i64,
    tags: Vec<String>,
    channel: &'static str,
    created: i64,
    updated: i64,
    policy: i64,
    log: Vec<SlaLogEntry>,
    external: String,
}

struct MessageSeed {
    ticket: i64,
    kind: &'static str,
    author_id: Option<i64>,
    author_name: String,
    visibility: Visibility,
    body: crate::model::MessageBody,
    at: i64,
}

/// Seeds the demo workspace into a database without tickets; returns false when it has some.
pub async fn seed(store: &Store, tickets: usize, now: Timestamp) -> Result<bool, AppError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM tickets").fetch_one(store.pool()).await?;
    if n > 0 {
        return Ok(false);
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
    let existing: Vec<(i64,)> = sqlx::query_as("SELECT id FROM agents").fetch_all(tx.conn()).await?;
    for (a,) in &existing {
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
    let slack_names = |_kind: crate::richtext::MentionKind, id: &str| -> Option<String> {
        let n: i64 = id.strip_prefix("U9")?.parse().ok()?;
        agent_ids.iter().find(|a| a.0 == n).map(|a| a.1.to_owned())
    };

    // Tickets and their conversations.
    let cache = glue::PolicyCache::default();
    let policy_texts: Vec<String> =
        policies().iter().map(|p| serde_json::to_string(p).unwrap_or_default()).collect();
    let (first_id,): (Option<i64>,) =
        sqlx::query_as("SELECT MAX(id) FROM tickets").fetch_one(tx.conn()).await?;
    let first_id = first_id.unwrap_or(0) + 1;
    let mut ticket_batch: Vec<TicketSeed> = Vec::new();
    let mut message_batch: Vec<MessageSeed> = Vec::new();
    let mut tag_batch: Vec<(i64, String)> = Vec::new();
    for k in 0..tickets {
        let id = first_id + k as i64;
        let (subject, team_ix, tags) = SUBJECTS[rng.random_range(0..SUBJECTS.len())];
        let team_ix = if rng.random_bool(0.8) { team_ix } else { rng.random_range(0..TEAMS.len()) };
        let (requester, requester_name, _) = contacts[rng.random_range(0..contacts.len())].clone();
        // Most tickets are recent, so queues have live clocks; a tail goes back 60 days.
        let age_min: i64 = if rng.random_bool(0.6) {
            rng.random_range(5..(3 * 24 * 60))
        } else {
            rng.random_range(60..(60 * 24 * 60))
        };
        let created = now_ms - age_min * 60_000;
        let priority = *pick(
            &mut rng,
            &[
                Priority::Low,
                Priority::Normal,
                Priority::Normal,
                Priority::Normal,
                Priority::High,
                Priority::Urgent,
            ],
        );
        let status = if age_min > 14 * 24 * 60 {
            *pick(&mut rng, &[Status::Solved, Status::Closed, Status::Closed, Status::Pending])
        } else {
            *pick(
                &mut rng,
                &[
                    Status::New,
                    Status::Open,
                    Status::Open,
                    Status::Open,
                    Status::Pending,
                    Status::OnHold,
                    Status::Solved,
                ],
            )
        };
        let members = &team_members[team_ix];
        let assignee = if status == Status::New || members.is_empty() || rng.random_bool(0.2) {
            None
        } else {
            Some(members[rng.random_range(0..members.len())])
        };
        let channel = *pick(&mut rng, &["slack", "slack", "slack", "email", "web"]);
        let mut log = vec![SlaLogEntry { at: created, kind: SlaLogKind::Created }];
        if priority != Priority::Normal {
            log.push(SlaLogEntry { at: created, kind: SlaLogKind::Priority(priority) });
        }
        // The customer's opening message.
        let agent_for_mention = assignee.or(members.first().copied()).unwrap_or(agent_ids[0].0);
        let slack_agent = format!("U9{:06}", agent_for_mention);
        let body = if channel == "slack" {
            let (blocks, md) = blockkit_message(&mut rng, subject, &slack_agent);
            glue::blockkit_body(&blocks, &slack_names, &md)
        } else {
            glue::markdown_body(&format!(
                "Hello,\n\n{subject}. Could you take a look?\n\nThanks,\n{requester_name}"
            ))
        };
        message_batch.push(MessageSeed {
            ticket: id,
            kind: "contact",
            author_id: Some(requester),
            author_name: requester_name.clone(),
            visibility: Visibility::Public,
            body,
            at: created,
        });
        log.push(SlaLogEntry { at: created, kind: SlaLogKind::CustomerMessage });
        let mut t = created;
        let mut last_status = Status::New;
        // Worked tickets have a reply, sometimes a note and a customer follow-up.
        if status != Status::New {
            let agent = assignee.unwrap_or(agent_ids[0].0);
            let agent_name = agent_ids.iter().find(|a| a.0 == agent).map_or("Agent", |a| a.1).to_owned();
            if rng.random_bool(0.5) {
                t += rng.random_range(1..(age_min / 3).max(2)) * 60_000;
                let colleague =
                    AGENTS[rng.random_range(0..AGENTS.len())].0.split_whitespace().next().unwrap_or("ana");
                let md = format!(
                    "@{} can you check the logs for {}? Looks like the same issue as last week.",
                    colleague.to_lowercase().replace('é', "e"),
                    requester_name
                );
                message_batch.push(MessageSeed {
                    ticket: id,
                    kind: "agent",
                    author_id: Some(agent),
                    author_name: agent_name.clone(),
                    visibility: Visibility::Internal,
                    body: glue::markdown_body(&md),
                    at: t,
                });
                log.push(SlaLogEntry { at: t, kind: SlaLogKind::InternalNote });
            }
            // Some open tickets have no reply yet so their first-response clocks run.
            if status != Status::Open || rng.random_bool(0.5) {
                t += rng.random_range(1..(age_min / 3).max(2)) * 60_000;
                let md = format!(
                    "Hi {},\n\nThanks for the details. I'm looking into it now and will update you shortly.\n\n- {}",
                    requester_name.split_whitespace().next().unwrap_or(""),
                    agent_name
                );
                message_batch.push(MessageSeed {
                    ticket: id,
                    kind: "agent",
                    author_id: Some(agent),
                    author_name: agent_name.clone(),
                    visibility: Visibility::Public,
                    body: glue::markdown_body(&md),
                    at: t,
                });
                log.push(SlaLogEntry { at: t, kind: SlaLogKind::AgentReply });
                log.push(SlaLogEntry { at: t, kind: SlaLogKind::Status(Status::Open) });
                last_status = Status::Open;
                if rng.random_bool(0.4) {
                    t += rng.random_range(1..(age_min / 4).max(2)) * 60_000;
                    message_batch.push(MessageSeed {
                        ticket: id,
                        kind: "contact",
                        author_id: Some(requester),
                        author_name: requester_name.clone(),
                        visibility: Visibility::Public,
                        body: glue::markdown_body("Thanks! Any news? :eyes:"),
                        at: t,
                    });
                    log.push(SlaLogEntry { at: t, kind: SlaLogKind::CustomerMessage });
                }
            }
            if status != last_status {
                t += 60_000;
                log.push(SlaLogEntry { at: t.min(now_ms), kind: SlaLogKind::Status(status) });
            }
        }
        let policy = policy_ids[team_ix];
        let tags: Vec<String> = tags.iter().map(|s| (*s).to_owned()).collect();
        for tag in &tags {
            tag_batch.push((id, tag.clone()));
        }
        let external = if channel == "slack" {
            serde_json::json!({"slack_team_id": "T0DESK", "slack_channel": "C0SUPPORT", "slack_thread_ts": format!("{}.{:06}", created / 1000, k % 1_000_000)}).to_string()
        } else {
            "{}".into()
        };
        ticket_batch.push(TicketSeed {
            id,
            subject: subject.to_owned(),
            status,
            priority,
            requester,
            assignee,
            team: team_ids[team_ix],
            tags,
            channel,
            created,
            updated: t.min(now_ms),
            policy,
            log,
            external,
        });
        if ticket_batch.len() >= 400 {
            flush(
                &mut tx,
                &cache,
                &policy_ids,
                &policy_texts,
                &mut ticket_batch,
                &mut message_batch,
                &mut tag_batch,
                now,
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
        now,
    )
    .await?;
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
    Ok(true)
}

#[allow(clippy::too_many_arguments)]
async fn flush(
    tx: &mut super::store::WriteTx,
    cache: &glue::PolicyCache,
    policy_ids: &[i64],
    policy_texts: &[String],
    tickets: &mut Vec<TicketSeed>,
    messages: &mut Vec<MessageSeed>,
    tags: &mut Vec<(i64, String)>,
    now: Timestamp,
) -> Result<(), AppError> {
    if !tickets.is_empty() {
        let mut sql = Sql::new(
            "INSERT INTO tickets (id, subject, status, priority, requester_id, assignee_id, team_id, tags, channel, \
             snoozed_until, created_at, updated_at, version, sla_policy_id, sla_log, next_sla_due_at, sla_sort, external) VALUES ",
        );
        for (i, t) in tickets.iter().enumerate() {
            let pix = policy_ids.iter().position(|p| *p == t.policy).unwrap_or(0);
            let compiled = cache.get(t.policy, &policy_texts[pix]);
            let next = glue::next_due(&glue::report(compiled.as_deref(), &t.log, now), t.status).map(ms);
            if i > 0 {
                sql.push(", ");
            }
            let vals: [Val; 18] = [
                t.id.into(),
                t.subject.as_str().into(),
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
                t.policy.into(),
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
    for chunk in messages.chunks(300) {
        let mut sql = Sql::new(
            "INSERT INTO messages (ticket_id, author_kind, author_id, author_name, visibility, body_tiptap, body_markdown, source, created_at) VALUES ",
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
                .bind(m.body.tiptap.to_string())
                .push(", ")
                .bind(m.body.markdown.as_str())
                .push(", ");
            match &m.body.source {
                Some(s) => sql.bind(s.to_string()),
                None => sql.push("NULL"),
            };
            sql.push(", ").bind(m.at).push(")");
        }
        sql.query().execute(tx.conn()).await?;
    }
    messages.clear();
    for chunk in tags.chunks(500) {
        let mut sql = Sql::new("INSERT INTO ticket_tags (ticket_id, tag) VALUES ");
        for (i, (t, tag)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(").bind(*t).push(", ").bind(tag.as_str()).push(")");
        }
        sql.push(" ON CONFLICT DO NOTHING");
        sql.query().execute(tx.conn()).await?;
    }
    tags.clear();
    Ok(())
}
