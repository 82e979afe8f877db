//! Command-line definitions and dispatch. One file per subcommand group.
//!
//! The contract (DESIGN §7): data to stdout, messages to stderr, `--json` with
//! stable snake_case keys, exit codes from [`exit::Exit`].

pub mod admin;
pub mod auth;
pub mod console;
pub mod convert;
pub mod crm;
pub mod ctx;
pub mod exit;
pub mod outbox;
pub mod output;
pub mod serve;
pub mod sla;
pub mod tickets;
pub mod views;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

pub use exit::{CliError, Exit};

#[derive(Debug, Parser)]
#[command(name = "desk", version, about = "A terminal console for support agents", long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// When to use colour: auto honours NO_COLOR and only colours a terminal.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// Profile from config.toml (default: DESK_PROFILE, then `default_profile`, then `default`).
    #[arg(long, global = true, env = "DESK_PROFILE")]
    pub profile: Option<String>,
    /// Log requests and decisions to stderr (tokens are always redacted).
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store a token for a server (checked against /me first).
    Login(auth::LoginArgs),
    /// Forget the stored token of the profile.
    Logout,
    /// List, show, reply to, note on and change tickets.
    #[command(subcommand)]
    Tickets(tickets::TicketsCmd),
    /// Show contacts with their CRM context.
    #[command(subcommand)]
    Contacts(crm::ContactsCmd),
    /// Show accounts with their CRM context.
    #[command(subcommand)]
    Accounts(crm::AccountsCmd),
    /// List the saved views (queues) with their counts.
    Views(views::ViewsArgs),
    /// Tail the live event stream as NDJSON.
    Events(views::EventsArgs),
    /// Show, retry or discard replies and notes that were not delivered.
    Outbox(outbox::OutboxArgs),
    /// Print the config path, show the resolved settings, or write an example config.
    #[command(subcommand)]
    Config(auth::ConfigCmd),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout.
    Man,
    /// Run the helpdesk API server (SQLite or PostgreSQL).
    Serve(serve::ServeArgs),
    /// SLA tools: `desk sla eval [FILE]` evaluates a ticket's clocks.
    #[command(subcommand)]
    Sla(sla::SlaCommand),
    /// Administration: Slack workspaces and channels, auto-responders (admin token).
    #[command(subcommand)]
    Admin(admin::AdminCmd),
    /// Convert rich text: Block Kit, mrkdwn, Markdown or TipTap to TipTap, Markdown, text, ANSI or Block Kit.
    Convert(convert::ConvertArgs),
}

/// Runs the parsed command line and turns its outcome into the process exit code.
pub fn dispatch(cli: Cli) -> ExitCode {
    let result: Result<(), CliError> = match cli.command {
        None => console::run(&cli.global),
        Some(Command::Login(args)) => auth::login(args, &cli.global),
        Some(Command::Logout) => auth::logout(&cli.global),
        Some(Command::Tickets(cmd)) => tickets::run(cmd, &cli.global),
        Some(Command::Contacts(cmd)) => crm::run_contacts(cmd, &cli.global),
        Some(Command::Accounts(cmd)) => crm::run_accounts(cmd, &cli.global),
        Some(Command::Views(args)) => views::run_views(args, &cli.global),
        Some(Command::Events(args)) => views::run_events(args, &cli.global),
        Some(Command::Outbox(args)) => outbox::run(args, &cli.global),
        Some(Command::Config(cmd)) => auth::config(cmd, &cli.global),
        Some(Command::Completions { shell }) => completions(shell),
        Some(Command::Man) => man(),
        Some(Command::Serve(args)) => serve::run(args),
        Some(Command::Sla(cmd)) => sla::run(cmd),
        Some(Command::Convert(args)) => convert::run(&args, &cli.global),
        Some(Command::Admin(cmd)) => admin::run(cmd, &cli.global),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            err.report();
            err.code.into()
        }
    }
}

fn completions(shell: clap_complete::Shell) -> Result<(), CliError> {
    use clap::CommandFactory;
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "desk", &mut buf);
    output::write_stdout(&String::from_utf8_lossy(&buf))
}

fn man() -> Result<(), CliError> {
    use clap::CommandFactory;
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|e| CliError::new(Exit::Error, format!("cannot render the man page: {e}")))?;
    output::write_stdout(&String::from_utf8_lossy(&buf))
}
