//! `desk contacts show` and `desk accounts show`: the CRM context of the contact pane.

use super::ctx::{Ctx, block_on};
use super::output::{self, Out, OutputArgs, clean, style};
use super::{CliError, Exit, GlobalArgs};
use crate::client::PageQuery;
use crate::model::*;

#[derive(Debug, clap::Subcommand)]
pub enum ContactsCmd {
    /// A contact with its account, recent tickets, activities and open tasks.
    Show {
        /// Contact id, or an email or name to search for (must match one contact).
        contact: String,
        #[command(flatten)]
        out: OutputArgs,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum AccountsCmd {
    /// An account with its contacts, recent tickets, activities and open tasks.
    Show {
        id: i64,
        #[command(flatten)]
        out: OutputArgs,
    },
}

pub fn run_contacts(cmd: ContactsCmd, global: &GlobalArgs) -> Result<(), CliError> {
    let ctx = Ctx::load(global)?;
    let ContactsCmd::Show { contact, out } = cmd;
    let out = Out::new(out, ctx.global.color);
    block_on(async move {
        let client = ctx.connect().await?;
        let id = match contact.trim().trim_start_matches('#').parse::<i64>() {
            Ok(id) => ContactId(id),
            Err(_) => {
                let found = client
                    .search_contacts(&contact, None, &PageQuery { limit: Some(5), after: None })
                    .await?
                    .items;
                let exact: Vec<&Contact> = found
                    .iter()
                    .filter(|c| c.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(contact.trim())))
                    .collect();
                match (exact.as_slice(), found.as_slice()) {
                    ([one], _) => one.id,
                    ([], [one]) => one.id,
                    (_, []) => {
                        return Err(CliError::new(Exit::NotFound, format!("no contact matches `{contact}`")));
                    }
                    _ => {
                        let names: Vec<String> = found
                            .iter()
                            .map(|c| {
                                format!("{} {}", c.id, clean(c.email.as_deref().unwrap_or(&c.name), true))
                            })
                            .collect();
                        return Err(CliError::usage(format!(
                            "`{contact}` matches several contacts: {}",
                            names.join(", ")
                        ))
                        .with_hint("give the contact id"));
                    }
                }
            }
        };
        let cx = client.contact_context(id).await?;
        if !out.human() {
            return output::print_json(&cx);
        }
        output::write_stdout(&render_contact(&out, &cx))
    })?
}

pub fn run_accounts(cmd: AccountsCmd, global: &GlobalArgs) -> Result<(), CliError> {
    let ctx = Ctx::load(global)?;
    let AccountsCmd::Show { id, out } = cmd;
    let out = Out::new(out, ctx.global.color);
    block_on(async move {
        let client = ctx.connect().await?;
        let cx = client.account_context(AccountId(id)).await?;
        if !out.human() {
            return output::print_json(&cx);
        }
        output::write_stdout(&render_account(&out, &cx))
    })?
}

fn account_line(a: &Account) -> String {
    let domain = a.domain.as_deref().map(|d| format!(" ({})", clean(d, true))).unwrap_or_default();
    format!(
        "{}{domain} · {} · health {} · ARR {} · account {}",
        clean(&a.name, true),
        a.tier,
        a.health,
        a.arr,
        a.id
    )
}

fn section(out: &Out, s: &mut String, title: &str, lines: Vec<String>) {
    s.push('\n');
    s.push_str(&out.paint(style::HEADER, title));
    s.push('\n');
    if lines.is_empty() {
        s.push_str(&out.paint(style::MUTED, "  none"));
        s.push('\n');
    }
    for l in lines {
        s.push_str(&format!("  {l}\n"));
    }
}

fn ticket_lines(tickets: &[Ticket]) -> Vec<String> {
    tickets
        .iter()
        .map(|t| format!("#{}  {}  {}  {}", t.id, t.status, t.priority, clean(&t.subject, true)))
        .collect()
}

fn activity_lines(acts: &[Activity]) -> Vec<String> {
    acts.iter()
        .map(|a| format!("{}  {}  {}", a.at.strftime("%Y-%m-%d %H:%M"), a.kind, clean(&a.summary, true)))
        .collect()
}

fn task_lines(tasks: &[Task]) -> Vec<String> {
    tasks
        .iter()
        .map(|t| {
            let due = t
                .due_at
                .map(|d| format!("due {}", d.strftime("%Y-%m-%d %H:%M")))
                .unwrap_or_else(|| "no due date".into());
            format!("{}  {due}  {}", t.id, clean(&t.title, true))
        })
        .collect()
}

pub fn render_contact(out: &Out, cx: &ContactContext) -> String {
    let c = &cx.contact;
    let mut s = out.paint(style::HEADER, &clean(&c.name, true));
    if let Some(e) = &c.email {
        s.push_str(&format!(" <{}>", clean(e, true)));
    }
    s.push_str(&format!(" · contact {}\n", c.id));
    if let Some(t) = &c.title {
        s.push_str(&format!("title: {}\n", clean(t, true)));
    }
    if let Some(a) = &cx.account {
        s.push_str(&format!("account: {}\n", account_line(a)));
    }
    if !c.tags.is_empty() {
        s.push_str(&format!("tags: {}\n", clean(&c.tags.join(", "), true)));
    }
    if let Some(u) = &c.slack_user_id {
        s.push_str(&format!("slack: {}\n", clean(u, true)));
    }
    section(out, &mut s, "Recent tickets", ticket_lines(&cx.recent_tickets));
    section(out, &mut s, "Activities", activity_lines(&cx.activities));
    section(out, &mut s, "Open tasks", task_lines(&cx.open_tasks));
    s
}

pub fn render_account(out: &Out, cx: &AccountContext) -> String {
    let mut s = out.paint(style::HEADER, &account_line(&cx.account));
    s.push('\n');
    let contacts = cx
        .contacts
        .iter()
        .map(|c| {
            format!("{}  {}  {}", c.id, clean(&c.name, true), clean(c.email.as_deref().unwrap_or(""), true))
        })
        .collect();
    section(out, &mut s, "Contacts", contacts);
    section(out, &mut s, "Recent tickets", ticket_lines(&cx.recent_tickets));
    section(out, &mut s, "Activities", activity_lines(&cx.activities));
    section(out, &mut s, "Open tasks", task_lines(&cx.open_tasks));
    s
}
