//! `desk outbox`: replies and notes not yet delivered, and the ones the server refused.

use anstyle::Style;
use serde::Serialize;

use super::ctx::{Ctx, block_on, flush_outbox};
use super::output::{self, Cell, Column, Format, Out, OutputArgs, clean, note, style};
use super::{CliError, Exit, GlobalArgs};
use crate::client::{Delivery, EntryState, OutboxEntry};

#[derive(Debug, clap::Args)]
pub struct OutboxArgs {
    #[command(subcommand)]
    pub cmd: Option<OutboxCmd>,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum OutboxCmd {
    /// List pending and failed entries (the default).
    List,
    /// Send an entry now (a failed one is moved back to pending first).
    Retry { id: String },
    /// Delete an entry without sending it.
    Discard { id: String },
    /// Send every pending entry now.
    Flush,
}

#[derive(Serialize)]
struct Row<'a> {
    state: EntryState,
    #[serde(flatten)]
    entry: &'a OutboxEntry,
}

pub fn run(args: OutboxArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let ctx = Ctx::load(global)?;
    let out = Out::new(args.out, ctx.global.color);
    let outbox = ctx.outbox();
    match args.cmd.unwrap_or(OutboxCmd::List) {
        OutboxCmd::List => {
            let pending = outbox.pending()?;
            let failed = outbox.failed()?;
            let rows: Vec<Row> = pending
                .iter()
                .map(|entry| Row { state: EntryState::Pending, entry })
                .chain(failed.iter().map(|entry| Row { state: EntryState::Failed, entry }))
                .collect();
            match out.format {
                Format::Json => output::print_json(&rows),
                Format::Ndjson => output::print_ndjson(&rows),
                _ => {
                    if rows.is_empty() && out.format == Format::Table {
                        note("The outbox is empty.");
                        return Ok(());
                    }
                    output::write_stdout(&table(&out, &rows))
                }
            }
        }
        OutboxCmd::Discard { id } => {
            if !outbox.discard(&id)? {
                return Err(CliError::new(Exit::NotFound, format!("no outbox entry `{id}`")));
            }
            note(&format!("Discarded {id}."));
            Ok(())
        }
        OutboxCmd::Retry { id } => {
            let Some((_, entry)) = outbox.find(&id)? else {
                return Err(CliError::new(Exit::NotFound, format!("no outbox entry `{id}`")));
            };
            outbox.retry(&entry.id)?;
            let entry = outbox.find(&entry.id)?.map(|(_, e)| e).unwrap_or(entry);
            block_on(async move {
                let client = ctx.client()?;
                match outbox.deliver(&client, &entry).await? {
                    Delivery::Sent(_) => {
                        note(&format!("Delivered {} on #{}.", entry.id, entry.ticket_id));
                        Ok(())
                    }
                    Delivery::Kept(e) => {
                        Err(CliError::from(e).with_hint(format!("{} stays pending", entry.id)))
                    }
                    Delivery::Failed(e) => {
                        Err(CliError::from(e).with_hint(format!("{} is back in the failed list", entry.id)))
                    }
                }
            })?
        }
        OutboxCmd::Flush => block_on(async move {
            let client = ctx.client()?;
            flush_outbox(&outbox, &client).await?;
            let left = outbox.pending()?.len();
            if left > 0 {
                return Err(CliError::new(Exit::Unavailable, format!("{left} entries still pending")));
            }
            Ok(())
        })?,
    }
}

fn table(out: &Out, rows: &[Row]) -> String {
    let cols = [
        Column::new("ID", 8),
        Column::new("STATE", 6),
        Column::new("TICKET", 5),
        Column::new("KIND", 4),
        Column::new("TRIES", 5),
        Column::new("CREATED", 10),
        Column::new("ERROR", 10).max(40),
        Column::new("BODY", 10).flex(),
    ];
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            let e = r.entry;
            let (state, st) = match r.state {
                EntryState::Pending => ("pending", style::WARN),
                EntryState::Failed => ("failed", style::BAD),
            };
            let kind = match e.message.visibility {
                crate::model::Visibility::Public => "reply",
                crate::model::Visibility::Internal => "note",
            };
            let body = e.message.body_markdown.as_deref().unwrap_or("(rich text)");
            vec![
                (e.id.clone(), style::ID),
                (state.to_owned(), st),
                (format!("#{}", e.ticket_id), Style::new()),
                (kind.to_owned(), Style::new()),
                (e.attempts.to_string(), Style::new()),
                (e.created_at.to_string(), style::MUTED),
                (clean(e.last_error.as_deref().unwrap_or(""), true), Style::new()),
                (clean(body, true), Style::new()),
            ]
        })
        .collect();
    output::render_table(out, &cols, &cells)
}
