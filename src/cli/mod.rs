//! Command-line definitions and dispatch. One file per subcommand group.
//!
//! The contract (DESIGN §7): data to stdout, messages to stderr, `--json` with
//! stable snake_case keys, exit codes from [`exit::Exit`].

pub mod convert;
pub mod exit;
pub mod serve;
pub mod sla;

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the helpdesk API server (SQLite or PostgreSQL).
    Serve(serve::ServeArgs),
    /// SLA tools: `desk sla eval [FILE]` evaluates a ticket's clocks.
    #[command(subcommand)]
    Sla(sla::SlaCommand),
    /// Convert rich text: Block Kit, mrkdwn, Markdown or TipTap to TipTap, Markdown, text, ANSI or Block Kit.
    Convert(convert::ConvertArgs),
}

/// Runs the parsed command line and turns its outcome into the process exit code.
pub fn dispatch(cli: Cli) -> ExitCode {
    let result: Result<(), CliError> = match cli.command {
        None => Err(CliError::new(Exit::Error, "the console is not built yet")),
        Some(Command::Serve(args)) => serve::run(args),
        Some(Command::Sla(cmd)) => sla::run(cmd),
        Some(Command::Convert(args)) => convert::run(&args, &cli.global),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            err.report();
            err.code.into()
        }
    }
}
