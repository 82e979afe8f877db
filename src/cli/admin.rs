//! `desk admin ...`: workspace administration over the API (admin token needed).
//!
//! - `desk admin slack workspace list|set|remove`: Slack workspaces (signing secret, bot token);
//! - `desk admin slack channel list|map|unmap`: which desk team a Slack channel's tickets go to;
//! - `desk admin auto-responders get|set [FILE|-]`: the auto-responder rules as JSON.

use std::io::Read;
use std::path::PathBuf;

use anstyle::Style;

use super::ctx::{Ctx, block_on};
use super::output::{self, Cell, Column, Format, Out, OutputArgs, clean, note, style};
use super::{CliError, Exit, GlobalArgs};
use crate::model::{AutoResponder, SlackChannelMapping, SlackWorkspace, TeamId};

#[derive(Debug, clap::Subcommand)]
pub enum AdminCmd {
    /// The Slack integration: workspaces and channel-to-team mapping.
    #[command(subcommand)]
    Slack(SlackCmd),
    /// Auto-responder rules (JSON, see docs/operations.md).
    #[command(subcommand, name = "auto-responders")]
    AutoResponders(RulesCmd),
}

#[derive(Debug, clap::Subcommand)]
pub enum SlackCmd {
    /// Slack workspaces desk accepts events from and posts replies to.
    #[command(subcommand)]
    Workspace(WorkspaceCmd),
    /// Which desk team each Slack channel's tickets go to.
    #[command(subcommand)]
    Channel(ChannelCmd),
}

#[derive(Debug, clap::Subcommand)]
pub enum WorkspaceCmd {
    /// List the configured workspaces (secrets are never shown).
    List {
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Add or replace a workspace. Secrets come from the environment so they stay out of `ps`.
    Set {
        /// Slack team id, `T...`.
        slack_team_id: String,
        #[arg(long, default_value = "")]
        name: String,
        /// The app's signing secret (Basic Information page). Omit to keep the stored one.
        #[arg(long, env = "DESK_SLACK_SIGNING_SECRET", hide_env_values = true)]
        signing_secret: Option<String>,
        /// The bot token, `xoxb-...` (OAuth & Permissions page). Omit to keep the stored one.
        #[arg(long, env = "DESK_SLACK_BOT_TOKEN", hide_env_values = true)]
        bot_token: Option<String>,
        /// The app's bot user id (`U...`), whose messages are never ingested.
        #[arg(long)]
        bot_user_id: Option<String>,
        /// The app's bot id (`B...`), as in the `bot_id` of its messages.
        #[arg(long)]
        bot_id: Option<String>,
        /// Ingest messages of other bots too (default: ignore them).
        #[arg(long)]
        allow_bots: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Remove a workspace (its events are then rejected).
    Remove { slack_team_id: String },
}

#[derive(Debug, clap::Subcommand)]
pub enum ChannelCmd {
    /// List the channel mappings.
    List {
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Map a Slack channel to a desk team.
    Map {
        /// Slack channel id, `C...`.
        channel_id: String,
        /// The desk team: its id or its name.
        #[arg(long)]
        team: String,
        /// The Slack workspace (team id `T...`) the channel belongs to.
        #[arg(long)]
        workspace: String,
        /// A readable channel name, for lists.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Remove a channel mapping (its new threads go to the first team).
    Unmap { channel_id: String },
}

#[derive(Debug, clap::Subcommand)]
pub enum RulesCmd {
    /// Print the rules as JSON.
    Get,
    /// Replace the rules with a JSON array from FILE (or stdin with `-`).
    Set { file: PathBuf },
}

pub fn run(cmd: AdminCmd, global: &GlobalArgs) -> Result<(), CliError> {
    let ctx = Ctx::load(global)?;
    let color = ctx.global.color;
    block_on(async move {
        let client = ctx.connect().await?;
        match cmd {
            AdminCmd::Slack(SlackCmd::Workspace(WorkspaceCmd::List { out })) => {
                print_workspaces(&Out::new(out, color), &client.list_slack_workspaces().await?.items)
            }
            AdminCmd::Slack(SlackCmd::Workspace(WorkspaceCmd::Set {
                slack_team_id,
                name,
                signing_secret,
                bot_token,
                bot_user_id,
                bot_id,
                allow_bots,
                out,
            })) => {
                let w = SlackWorkspace {
                    slack_team_id,
                    name,
                    // `***` asks the server to keep what it has.
                    signing_secret: signing_secret.unwrap_or_else(|| "***".into()),
                    bot_token: bot_token.unwrap_or_else(|| "***".into()),
                    bot_user_id,
                    bot_id,
                    ignore_bots: !allow_bots,
                };
                let saved = client.put_slack_workspace(&w).await?;
                note(&format!("Saved Slack workspace {}", saved.slack_team_id));
                print_workspaces(&Out::new(out, color), &[saved])
            }
            AdminCmd::Slack(SlackCmd::Workspace(WorkspaceCmd::Remove { slack_team_id })) => {
                client.delete_slack_workspace(&slack_team_id).await?;
                note(&format!("Removed Slack workspace {slack_team_id}"));
                Ok(())
            }
            AdminCmd::Slack(SlackCmd::Channel(ChannelCmd::List { out })) => {
                print_channels(&Out::new(out, color), &client.list_slack_channels().await?.items)
            }
            AdminCmd::Slack(SlackCmd::Channel(ChannelCmd::Map {
                channel_id,
                team,
                workspace,
                name,
                out,
            })) => {
                let team_id = match team.trim().parse::<i64>() {
                    Ok(id) => id,
                    Err(_) => {
                        let teams = client.list_teams().await?.items;
                        let found = teams.iter().find(|t| t.name.eq_ignore_ascii_case(team.trim()));
                        match found {
                            Some(t) => t.id.0,
                            None => {
                                let names: Vec<&str> = teams.iter().map(|t| t.name.as_str()).collect();
                                return Err(CliError::new(Exit::NotFound, format!("no team named {team:?}"))
                                    .with_hint(format!("teams: {}", names.join(", "))));
                            }
                        }
                    }
                };
                let m = SlackChannelMapping {
                    channel_id,
                    slack_team_id: workspace,
                    team_id: TeamId(team_id),
                    name,
                };
                let saved = client.put_slack_channel(&m).await?;
                note(&format!("Mapped {} to team {}", saved.channel_id, saved.team_id.0));
                print_channels(&Out::new(out, color), &[saved])
            }
            AdminCmd::Slack(SlackCmd::Channel(ChannelCmd::Unmap { channel_id })) => {
                client.delete_slack_channel(&channel_id).await?;
                note(&format!("Unmapped {channel_id}"));
                Ok(())
            }
            AdminCmd::AutoResponders(RulesCmd::Get) => {
                output::print_json(&client.get_auto_responders().await?)
            }
            AdminCmd::AutoResponders(RulesCmd::Set { file }) => {
                let text = read_file_or_stdin(&file)?;
                let rules: Vec<AutoResponder> = serde_json::from_str(&text).map_err(|e| {
                    CliError::new(Exit::Usage, format!("{} is not a JSON array of rules: {e}", file.display()))
                        .with_hint("see docs/operations.md (Auto-responders); `desk admin auto-responders get` shows the shape")
                })?;
                let saved = client.put_auto_responders(&rules).await?;
                let n = saved.items.len();
                note(&format!("Saved {n} auto-responder rule(s)"));
                output::print_json(&saved)
            }
        }
    })?
}

fn read_file_or_stdin(file: &std::path::Path) -> Result<String, CliError> {
    let mut text = String::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::new(Exit::Error, format!("cannot read stdin: {e}")))?;
    } else {
        text = std::fs::read_to_string(file)
            .map_err(|e| CliError::new(Exit::Error, format!("cannot read {}: {e}", file.display())))?;
    }
    Ok(text)
}

fn print_workspaces(out: &Out, items: &[SlackWorkspace]) -> Result<(), CliError> {
    match out.format {
        Format::Json => output::print_json(&items),
        Format::Ndjson => output::print_ndjson(items),
        _ => {
            let cols = [
                Column::new("TEAM", 4),
                Column::new("NAME", 6).flex(),
                Column::new("BOT USER", 8),
                Column::new("BOT ID", 6),
                Column::new("OTHER BOTS", 10),
            ];
            let rows: Vec<Vec<Cell>> = items
                .iter()
                .map(|w| {
                    vec![
                        (clean(&w.slack_team_id, true), style::ID),
                        (clean(&w.name, true), Style::new()),
                        (clean(w.bot_user_id.as_deref().unwrap_or("-"), true), Style::new()),
                        (clean(w.bot_id.as_deref().unwrap_or("-"), true), Style::new()),
                        ((if w.ignore_bots { "ignored" } else { "ingested" }).to_owned(), Style::new()),
                    ]
                })
                .collect();
            output::write_stdout(&output::render_table(out, &cols, &rows))
        }
    }
}

fn print_channels(out: &Out, items: &[SlackChannelMapping]) -> Result<(), CliError> {
    match out.format {
        Format::Json => output::print_json(&items),
        Format::Ndjson => output::print_ndjson(items),
        _ => {
            let cols = [
                Column::new("CHANNEL", 7),
                Column::new("NAME", 6).flex(),
                Column::new("WORKSPACE", 9),
                Column::new("TEAM", 4),
            ];
            let rows: Vec<Vec<Cell>> = items
                .iter()
                .map(|m| {
                    vec![
                        (clean(&m.channel_id, true), style::ID),
                        (clean(m.name.as_deref().unwrap_or(""), true), Style::new()),
                        (clean(&m.slack_team_id, true), Style::new()),
                        (m.team_id.0.to_string(), Style::new()),
                    ]
                })
                .collect();
            output::write_stdout(&output::render_table(out, &cols, &rows))
        }
    }
}
