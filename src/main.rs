use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = desk::cli::Cli::parse();
    desk::cli::dispatch(cli)
}
