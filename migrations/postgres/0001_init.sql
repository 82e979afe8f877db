-- desk schema, PostgreSQL dialect. Timestamps are Unix milliseconds (BIGINT) so that the same
-- SQL and the same Rust decoding serve SQLite and PostgreSQL. JSON lives in TEXT columns.

CREATE TABLE teams (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    sla_policy_id BIGINT
);

CREATE TABLE agents (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE agent_teams (
    agent_id BIGINT NOT NULL REFERENCES agents(id),
    team_id BIGINT NOT NULL REFERENCES teams(id),
    PRIMARY KEY (agent_id, team_id)
);

CREATE TABLE tokens (
    id BIGSERIAL PRIMARY KEY,
    agent_id BIGINT NOT NULL REFERENCES agents(id),
    name TEXT,
    hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE accounts (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    domain TEXT,
    tier TEXT NOT NULL,
    arr BIGINT NOT NULL,
    health TEXT NOT NULL,
    owner_id BIGINT REFERENCES agents(id)
);

CREATE TABLE contacts (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT,
    title TEXT,
    account_id BIGINT REFERENCES accounts(id),
    slack_user_id TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL
);
CREATE INDEX contacts_account ON contacts(account_id);
CREATE INDEX contacts_slack ON contacts(slack_user_id);

CREATE TABLE sla_policies (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    policy TEXT NOT NULL
);

CREATE TABLE tickets (
    id BIGSERIAL PRIMARY KEY,
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    priority BIGINT NOT NULL,
    requester_id BIGINT NOT NULL REFERENCES contacts(id),
    assignee_id BIGINT REFERENCES agents(id),
    team_id BIGINT NOT NULL REFERENCES teams(id),
    tags TEXT NOT NULL DEFAULT '[]',
    channel TEXT NOT NULL,
    snoozed_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    sla_policy_id BIGINT REFERENCES sla_policies(id),
    sla_log TEXT NOT NULL DEFAULT '[]',
    next_sla_due_at BIGINT,
    sla_sort BIGINT NOT NULL,
    external TEXT NOT NULL DEFAULT '{}',
    merged_into BIGINT REFERENCES tickets(id)
);
CREATE INDEX tickets_sla ON tickets(sla_sort, id);
CREATE INDEX tickets_updated ON tickets(updated_at, id);
CREATE INDEX tickets_created ON tickets(created_at, id);
CREATE INDEX tickets_priority ON tickets(priority, id);
CREATE INDEX tickets_team_sla ON tickets(team_id, sla_sort, id);
CREATE INDEX tickets_requester ON tickets(requester_id, id);
CREATE INDEX tickets_assignee ON tickets(assignee_id);

CREATE TABLE ticket_tags (
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    tag TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX ticket_tags_tag ON ticket_tags(tag, ticket_id);

CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    author_kind TEXT NOT NULL,
    author_id BIGINT,
    author_name TEXT NOT NULL,
    visibility TEXT NOT NULL,
    body_tiptap TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    source TEXT,
    created_at BIGINT NOT NULL,
    edited_at BIGINT
);
CREATE INDEX messages_ticket ON messages(ticket_id, id);

CREATE TABLE activities (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    at BIGINT NOT NULL,
    contact_id BIGINT REFERENCES contacts(id),
    account_id BIGINT REFERENCES accounts(id),
    agent_id BIGINT REFERENCES agents(id)
);
CREATE INDEX activities_contact ON activities(contact_id, at);
CREATE INDEX activities_account ON activities(account_id, at);

CREATE TABLE tasks (
    id BIGSERIAL PRIMARY KEY,
    title TEXT NOT NULL,
    due_at BIGINT,
    assignee_id BIGINT REFERENCES agents(id),
    done BIGINT NOT NULL DEFAULT 0,
    ticket_id BIGINT REFERENCES tickets(id),
    contact_id BIGINT REFERENCES contacts(id),
    account_id BIGINT REFERENCES accounts(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX tasks_contact ON tasks(contact_id);
CREATE INDEX tasks_account ON tasks(account_id);

CREATE TABLE views (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    filter_json TEXT NOT NULL,
    sort TEXT NOT NULL,
    position BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE macros (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    reply_markdown TEXT,
    reply_visibility TEXT,
    patch TEXT NOT NULL
);

CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    agent_id BIGINT NOT NULL REFERENCES agents(id),
    kind TEXT NOT NULL,
    ticket_id BIGINT REFERENCES tickets(id),
    summary TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    is_read BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX notifications_agent ON notifications(agent_id, id);

CREATE TABLE presence (
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    agent_id BIGINT NOT NULL REFERENCES agents(id),
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, agent_id)
);

-- The event log: every change writes one row here in the same transaction.
CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    ticket_id BIGINT,
    team_id BIGINT,
    agent_id BIGINT,
    at BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_at ON events(at);

-- Replayed responses of creating POSTs, per agent and Idempotency-Key.
CREATE TABLE idempotency (
    agent_id BIGINT NOT NULL,
    idem_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status BIGINT NOT NULL,
    response TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (agent_id, idem_key)
);

-- Small key/value facts, e.g. the highest pruned event id.
CREATE TABLE meta (
    meta_key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
