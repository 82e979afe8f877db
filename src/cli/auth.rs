//! `desk login` and `desk logout`, and `desk config path|show|init`.

use std::io::{BufRead, Write};

use super::ctx::{Ctx, block_on, stdin_is_tty};
use super::output::{self, Out, OutputArgs, note};
use super::{CliError, Exit, GlobalArgs};
use crate::client::{ApiClient, ApiError};
use crate::config::{Config, EXAMPLE_CONFIG, Paths, Token, check_server_url};

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The server's base URL, e.g. https://desk.example.com (default: the profile's server).
    #[arg(long)]
    pub server: Option<String>,
    /// Read the token from stdin even on a terminal.
    #[arg(long)]
    pub with_token: bool,
}

pub fn login(args: LoginArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let ctx = Ctx::load_for_login(global)?;
    let server = match args.server.or_else(|| ctx.profile.server.clone()) {
        Some(s) => s.trim().trim_end_matches('/').to_owned(),
        None => return Err(CliError::usage("which server? pass --server URL")),
    };
    check_server_url(&server).map_err(CliError::usage)?;
    let token = if args.with_token || !stdin_is_tty() { token_from_stdin()? } else { prompt_token(&server)? };
    block_on(async {
        let client = ApiClient::new(&server, Some(token.expose().to_owned()), ctx.client_options())?;
        let me = client.me().await.map_err(|e| match e {
            ApiError::Unauthenticated { message } => CliError::new(
                Exit::Auth,
                format!("{server} refused the token: {message}"),
            )
            .with_hint(
                "create a token with `desk serve --bootstrap-token` or ask an admin (POST /api/v1/tokens)",
            ),
            e => CliError::from(e),
        })?;
        let saved = ctx.store.save(&ctx.profile.name, &server, &token)?;
        if let crate::config::Saved::File { why_not_keychain: Some(why) } = &saved {
            note(&format!("No OS keychain: {why}."));
        }
        note(&format!(
            "Logged in to {server} as {} <{}> (profile `{}`).\nToken saved in {}.",
            output::clean(&me.agent.name, true),
            output::clean(&me.agent.email, true),
            ctx.profile.name,
            ctx.store.describe_saved(&saved)
        ));
        Ok(())
    })?
}

/// The first non-empty line of stdin (`echo $TOKEN | desk login --server URL`).
fn token_from_stdin() -> Result<Token, CliError> {
    let mut line = String::new();
    let stdin = std::io::stdin();
    for l in stdin.lock().lines() {
        let l =
            l.map_err(|e| CliError::new(Exit::Error, format!("cannot read the token from stdin: {e}")))?;
        if !l.trim().is_empty() {
            line = l;
            break;
        }
    }
    let t = line.trim();
    if t.is_empty() {
        return Err(CliError::usage("no token on stdin")
            .with_hint("pipe the token in: `echo $TOKEN | desk login --server URL`"));
    }
    Ok(Token::new(t.to_owned()))
}

/// Asks for the token on the terminal without echoing it.
fn prompt_token(server: &str) -> Result<Token, CliError> {
    use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers, read};
    eprint!("Paste a token for {server} (input hidden): ");
    let _ = std::io::stderr().flush();
    crossterm::terminal::enable_raw_mode()
        .map_err(|e| CliError::new(Exit::Error, format!("cannot read from the terminal: {e}")))?;
    let mut token = String::new();
    let result = loop {
        match read() {
            Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => match k.code {
                KeyCode::Enter => break Ok(()),
                KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                    break Err(CliError::new(Exit::Error, "cancelled"));
                }
                KeyCode::Esc => break Err(CliError::new(Exit::Error, "cancelled")),
                KeyCode::Backspace => {
                    token.pop();
                }
                KeyCode::Char(c) => token.push(c),
                _ => {}
            },
            Ok(Event::Paste(p)) => token.push_str(&p),
            Ok(_) => {}
            Err(e) => break Err(CliError::new(Exit::Error, format!("cannot read from the terminal: {e}"))),
        }
    };
    let _ = crossterm::terminal::disable_raw_mode();
    eprintln!();
    result?;
    let t = token.trim();
    if t.is_empty() {
        return Err(CliError::usage("no token given"));
    }
    Ok(Token::new(t.to_owned()))
}

pub fn logout(global: &GlobalArgs) -> Result<(), CliError> {
    // Not `Ctx::load`: that reads the token, and logging out must work when the keychain
    // holding it is gone or the token is bad.
    super::ctx::init_logging(global.verbose, global.color);
    let paths = Paths::from_env()?;
    let config = Config::load(&paths)?;
    let env = |k: &str| std::env::var(k).ok();
    let store = config.credential_store(&paths, &env)?;
    let (profile, _) = config.profile_name(global.profile.as_deref(), &env);
    if store.remove(&profile)? {
        note(&format!("Logged out of profile `{profile}`; its stored token was deleted."));
    } else {
        note(&format!("Profile `{profile}` had no stored token."));
    }
    Ok(())
}

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCmd {
    /// Print the path of config.toml.
    Path,
    /// Print the resolved profile, directories and settings (never the token).
    Show {
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Write a commented config.toml with every option.
    Init {
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
}

pub fn config(cmd: ConfigCmd, global: &GlobalArgs) -> Result<(), CliError> {
    match cmd {
        ConfigCmd::Path => {
            let paths = crate::config::Paths::from_env()?;
            output::write_stdout(&format!("{}\n", paths.config_file().display()))
        }
        ConfigCmd::Init { force } => {
            let paths = crate::config::Paths::from_env()?;
            let file = paths.config_file();
            if file.exists() && !force {
                return Err(CliError::new(Exit::Error, format!("{} already exists", file.display()))
                    .with_hint("pass --force to replace it"));
            }
            crate::client::atomic_write(&file, EXAMPLE_CONFIG.as_bytes())
                .map_err(|e| CliError::new(Exit::Error, format!("cannot write {}: {e}", file.display())))?;
            note(&format!("Wrote {}.", file.display()));
            Ok(())
        }
        ConfigCmd::Show { out } => {
            let ctx = Ctx::load(global)?;
            let out = Out::new(out, ctx.global.color);
            let p = &ctx.profile;
            let info = serde_json::json!({
                "profile": p.name,
                "server": p.server,
                "server_origin": p.server_origin.to_string(),
                "token": if p.token.is_some() { "set" } else { "not set" },
                "token_origin": p.token_origin.to_string(),
                "config_file": ctx.paths.config_file(),
                "config_file_exists": ctx.paths.config_file().exists(),
                "credentials": ctx.store.describe(),
                "data_dir": ctx.paths.data_dir,
                "state_dir": ctx.paths.state_dir,
                "config": ctx.config,
            });
            if !out.human() {
                return output::print_json(&info);
            }
            let mut s = String::new();
            s.push_str(&format!("profile      {}\n", p.name));
            match &p.server {
                Some(server) => s.push_str(&format!("server       {server} ({})\n", p.server_origin)),
                None => s.push_str("server       not set\n"),
            }
            match &p.token {
                Some(_) => s.push_str(&format!("token        set ({})\n", p.token_origin)),
                None => s.push_str("token        not set\n"),
            }
            let exists = if ctx.paths.config_file().exists() { "" } else { " (absent: defaults apply)" };
            s.push_str(&format!("config file  {}{exists}\n", ctx.paths.config_file().display()));
            s.push_str(&format!("credentials  {}\n", ctx.store.describe()));
            s.push_str(&format!("data dir     {}\n", ctx.paths.data_dir.display()));
            s.push_str(&format!("state dir    {}\n", ctx.paths.state_dir.display()));
            let toml = toml::to_string(&ctx.config).unwrap_or_default();
            s.push_str("\n# effective settings\n");
            s.push_str(&toml);
            output::write_stdout(&s)
        }
    }
}
