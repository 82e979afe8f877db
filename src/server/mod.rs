//! `desk serve`: the helpdesk API over SQLite or PostgreSQL.
