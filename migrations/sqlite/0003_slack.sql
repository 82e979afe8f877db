-- Slack ingestion and replies, auto-responders, SLA warnings (issue 7). SQLite dialect.

-- A Slack workspace we accept events from and post to.
CREATE TABLE slack_workspaces (
    slack_team_id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    signing_secret TEXT NOT NULL,
    bot_token TEXT NOT NULL,
    -- Our app's bot user (`U...`) and bot id (`B...`): messages from them are ours, never ingested.
    bot_user_id TEXT,
    bot_id TEXT,
    -- 1: messages from other bots are ignored too.
    ignore_bots INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);

-- Which desk team a Slack channel's tickets go to.
CREATE TABLE slack_channels (
    channel_id TEXT PRIMARY KEY,
    slack_team_id TEXT NOT NULL,
    team_id INTEGER NOT NULL REFERENCES teams(id),
    name TEXT
);

-- Every Events API envelope, stored before it is acknowledged; processed afterwards.
CREATE TABLE slack_envelopes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    slack_team_id TEXT,
    body TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    claimed_by TEXT,
    claimed_until INTEGER,
    processed_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    outcome TEXT
);
CREATE INDEX slack_envelopes_pending ON slack_envelopes(processed_at, id);

-- A Slack message (channel, ts) and the desk message it became.
CREATE TABLE slack_messages (
    channel_id TEXT NOT NULL,
    ts TEXT NOT NULL,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    message_id INTEGER NOT NULL REFERENCES messages(id),
    PRIMARY KEY (channel_id, ts)
);
CREATE INDEX slack_messages_message ON slack_messages(message_id);

-- The ticket of each Slack thread (channel, root ts), whichever of its messages arrived first.
CREATE TABLE slack_threads (
    channel_id TEXT NOT NULL,
    thread_ts TEXT NOT NULL,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    PRIMARY KEY (channel_id, thread_ts)
);

-- Durable outbound work (chat.postMessage of a public reply). One job per message.
CREATE TABLE outbound_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    message_id INTEGER NOT NULL UNIQUE REFERENCES messages(id),
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_by TEXT,
    claimed_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    done_at INTEGER
);
CREATE INDEX outbound_jobs_due ON outbound_jobs(status, next_attempt_at);

-- Auto-responder rules (JSON), in evaluation order.
CREATE TABLE auto_responders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    position INTEGER NOT NULL,
    rule TEXT NOT NULL
);

-- A rule fires at most once per ticket: the UNIQUE key decides.
CREATE TABLE auto_responder_runs (
    rule_id INTEGER NOT NULL,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    at INTEGER NOT NULL,
    PRIMARY KEY (rule_id, ticket_id)
);

-- One SLA warning per (ticket, metric, kind, cycle): the UNIQUE key decides which instance emits.
CREATE TABLE sla_warnings (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    metric TEXT NOT NULL,
    kind TEXT NOT NULL,
    cycle INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, metric, kind, cycle)
);
