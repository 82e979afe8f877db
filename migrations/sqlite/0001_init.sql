-- desk schema, SQLite dialect. Timestamps are Unix milliseconds (INTEGER) so that the same
-- SQL and the same Rust decoding serve SQLite and PostgreSQL. JSON lives in TEXT columns.

CREATE TABLE teams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    sla_policy_id INTEGER
);

CREATE TABLE agents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE agent_teams (
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    team_id INTEGER NOT NULL REFERENCES teams(id),
    PRIMARY KEY (agent_id, team_id)
);

CREATE TABLE tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    name TEXT,
    hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    domain TEXT,
    tier TEXT NOT NULL,
    arr INTEGER NOT NULL,
    health TEXT NOT NULL,
    owner_id INTEGER REFERENCES agents(id)
);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    email TEXT,
    title TEXT,
    account_id INTEGER REFERENCES accounts(id),
    slack_user_id TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL
);
CREATE INDEX contacts_account ON contacts(account_id);
CREATE INDEX contacts_slack ON contacts(slack_user_id);

CREATE TABLE sla_policies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    policy TEXT NOT NULL
);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    priority INTEGER NOT NULL,
    requester_id INTEGER NOT NULL REFERENCES contacts(id),
    assignee_id INTEGER REFERENCES agents(id),
    team_id INTEGER NOT NULL REFERENCES teams(id),
    tags TEXT NOT NULL DEFAULT '[]',
    channel TEXT NOT NULL,
    snoozed_until INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    sla_policy_id INTEGER REFERENCES sla_policies(id),
    sla_log TEXT NOT NULL DEFAULT '[]',
    next_sla_due_at INTEGER,
    sla_sort INTEGER NOT NULL,
    external TEXT NOT NULL DEFAULT '{}',
    merged_into INTEGER REFERENCES tickets(id)
);
CREATE INDEX tickets_sla ON tickets(sla_sort, id);
CREATE INDEX tickets_updated ON tickets(updated_at, id);
CREATE INDEX tickets_created ON tickets(created_at, id);
CREATE INDEX tickets_priority ON tickets(priority, id);
CREATE INDEX tickets_team_sla ON tickets(team_id, sla_sort, id);
CREATE INDEX tickets_requester ON tickets(requester_id, id);
CREATE INDEX tickets_assignee ON tickets(assignee_id);

CREATE TABLE ticket_tags (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    tag TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX ticket_tags_tag ON ticket_tags(tag, ticket_id);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    author_kind TEXT NOT NULL,
    author_id INTEGER,
    author_name TEXT NOT NULL,
    visibility TEXT NOT NULL,
    body_tiptap TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    source TEXT,
    created_at INTEGER NOT NULL,
    edited_at INTEGER
);
CREATE INDEX messages_ticket ON messages(ticket_id, id);

CREATE TABLE activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    at INTEGER NOT NULL,
    contact_id INTEGER REFERENCES contacts(id),
    account_id INTEGER REFERENCES accounts(id),
    agent_id INTEGER REFERENCES agents(id)
);
CREATE INDEX activities_contact ON activities(contact_id, at);
CREATE INDEX activities_account ON activities(account_id, at);

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    due_at INTEGER,
    assignee_id INTEGER REFERENCES agents(id),
    done INTEGER NOT NULL DEFAULT 0,
    ticket_id INTEGER REFERENCES tickets(id),
    contact_id INTEGER REFERENCES contacts(id),
    account_id INTEGER REFERENCES accounts(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX tasks_contact ON tasks(contact_id);
CREATE INDEX tasks_account ON tasks(account_id);

CREATE TABLE views (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    filter_json TEXT NOT NULL,
    sort TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE macros (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    reply_markdown TEXT,
    reply_visibility TEXT,
    patch TEXT NOT NULL
);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    kind TEXT NOT NULL,
    ticket_id INTEGER REFERENCES tickets(id),
    summary TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    is_read INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notifications_agent ON notifications(agent_id, id);

CREATE TABLE presence (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    state TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, agent_id)
);

-- The event log: every change writes one row here in the same transaction.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    ticket_id INTEGER,
    team_id INTEGER,
    agent_id INTEGER,
    at INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_at ON events(at);

-- Replayed responses of creating POSTs, per agent and Idempotency-Key.
CREATE TABLE idempotency (
    agent_id INTEGER NOT NULL,
    idem_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    response TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (agent_id, idem_key)
);

-- Small key/value facts, e.g. the highest pruned event id.
CREATE TABLE meta (
    meta_key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
