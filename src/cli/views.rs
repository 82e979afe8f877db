//! `desk views` (saved queues with counts) and `desk events` (the live stream as NDJSON).

use anstyle::Style;
use futures::StreamExt;

use super::ctx::{Ctx, block_on, flush_outbox};
use super::output::{self, Cell, Column, Format, Out, OutputArgs, clean, note, style};
use super::{CliError, GlobalArgs};
use crate::client::{EventStreamOptions, StreamItem};

#[derive(Debug, clap::Args)]
pub struct ViewsArgs {
    #[command(flatten)]
    pub out: OutputArgs,
}

pub fn run_views(args: ViewsArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let ctx = Ctx::load(global)?;
    let out = Out::new(args.out, ctx.global.color);
    block_on(async move {
        let client = ctx.connect().await?;
        let views = client.list_views().await?.items;
        match out.format {
            Format::Json => output::print_json(&views),
            Format::Ndjson => output::print_ndjson(&views),
            _ => {
                let cols = [
                    Column::new("ID", 2),
                    Column::new("NAME", 8).flex(),
                    Column::new("COUNT", 5),
                    Column::new("SORT", 4),
                ];
                let rows: Vec<Vec<Cell>> = views
                    .iter()
                    .map(|v| {
                        vec![
                            (v.id.to_string(), style::ID),
                            (clean(&v.name, true), Style::new()),
                            (v.count.map(|c| c.to_string()).unwrap_or_default(), Style::new()),
                            (v.sort.to_string(), Style::new()),
                        ]
                    })
                    .collect();
                output::write_stdout(&output::render_table(&out, &cols, &rows))
            }
        }
    })?
}

#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    /// Replay events after this id first (0: everything the server still has).
    #[arg(long, value_name = "ID", conflicts_with = "resume")]
    pub since: Option<i64>,
    /// Resume after the last event this profile saw (saved in the state directory).
    #[arg(long)]
    pub resume: bool,
    /// Only events of these kinds, comma-separated (e.g. ticket.updated,message.created).
    #[arg(long, value_delimiter = ',')]
    pub kind: Vec<String>,
    /// Exit after printing this many events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

/// Tails the event stream as NDJSON on stdout; connection changes go to stderr. Runs until
/// interrupted (or `--count`), reconnecting with `Last-Event-ID` after any disconnect.
pub fn run_events(args: EventsArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let ctx = Ctx::load(global)?;
    block_on(async move {
        let client = ctx.connect().await?;
        let cursor = ctx.paths.events_cursor_file(&ctx.profile.name);
        // Without --since/--resume only new events are shown, but the position is still saved.
        let start = match (args.since, args.resume) {
            (Some(id), _) => Some(id),
            (None, true) => crate::client::read_cursor(&cursor),
            (None, false) => None,
        };
        if !args.resume && args.since.is_none() {
            let _ = std::fs::remove_file(&cursor);
        }
        let mut stream =
            client.subscribe_events(EventStreamOptions { last_event_id: start, cursor_file: Some(cursor) });
        let mut printed = 0u64;
        let mut outage = false;
        if args.count == Some(0) {
            return Ok(());
        }
        while let Some(item) = stream.next().await {
            match item {
                StreamItem::Connected { reconnect } => {
                    if reconnect || outage {
                        note(&format!("events: connected to {}", client.base_url()));
                    }
                    // The server may have been away: deliver what was written meanwhile.
                    if outage {
                        flush_outbox(&ctx.outbox(), &client).await?;
                    }
                    outage = false;
                }
                StreamItem::Event(ev) => {
                    if !args.kind.is_empty() && !args.kind.contains(&ev.kind) {
                        continue;
                    }
                    output::print_ndjson(std::slice::from_ref(&ev))?;
                    printed += 1;
                    if args.count.is_some_and(|n| printed >= n) {
                        return Ok(());
                    }
                }
                StreamItem::Resync => {
                    note("events: the server could not replay from the last id; some events were missed");
                    output::write_stdout("{\"kind\":\"resync\"}\n")?;
                }
                StreamItem::Disconnected { error, retry_in } => {
                    outage = true;
                    note(&format!("events: {error}; reconnecting in {:.1}s", retry_in.as_secs_f64()));
                }
                StreamItem::Failed(error) => return Err(error.into()),
            }
        }
        Ok(())
    })?
}
