//! Opening a link outside the console: `$BROWSER` when set, else the platform opener (`open`
//! on macOS, `xdg-open` elsewhere). The program runs directly, never through a shell, with the
//! URL as one argument; only URLs that passed [`refs::safe_url`](crate::tui::refs::safe_url)
//! get here, so the argument starts with a scheme and cannot be read as an option.
//! The child is not waited for on the loop: it is reaped by a background thread.

use std::process::{Command, Stdio};

/// The program and arguments that open one URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCommand {
    pub program: String,
    pub args: Vec<String>,
}

/// Runs an [`OpenCommand`]. The runtime spawns it; tests record it.
pub trait Launcher {
    fn launch(&self, cmd: &OpenCommand) -> std::io::Result<()>;
}

/// Builds the command for `url`. `browser` is `$BROWSER`: a `:`-separated list of commands
/// (the first is used), each either a program with arguments or a template with `%s` where
/// the URL goes (the convention of `$BROWSER` users). Arguments are split on whitespace, not
/// by a shell, so quotes and `;` in it have no meaning.
pub fn command(url: &str, browser: Option<&str>, macos: bool) -> Result<OpenCommand, String> {
    if crate::tui::refs::safe_url(url).as_deref() != Some(url) {
        return Err(format!(
            "not opening `{}`: only http, https and mailto links",
            crate::richtext::sanitize(url)
        ));
    }
    let from_env = browser.and_then(|b| b.split(':').map(str::trim).find(|c| !c.is_empty()));
    let Some(template) = from_env else {
        let program = if macos { "open" } else { "xdg-open" };
        return Ok(OpenCommand { program: program.into(), args: vec![url.to_string()] });
    };
    let mut words = template.split_whitespace();
    let program = words.next().unwrap_or_default().to_string();
    let mut args: Vec<String> = Vec::new();
    let mut placed = false;
    for w in words {
        if w.contains("%s") {
            args.push(w.replace("%s", url));
            placed = true;
        } else {
            args.push(w.to_string());
        }
    }
    if !placed {
        args.push(url.to_string());
    }
    Ok(OpenCommand { program, args })
}

/// Starts the program detached from the terminal (no stdin, output discarded so a chatty
/// browser cannot draw over the console).
pub struct Spawn;

impl Launcher for Spawn {
    fn launch(&self, cmd: &OpenCommand) -> std::io::Result<()> {
        let mut child = Command::new(&cmd.program)
            .args(&cmd.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        // Reap it whenever it ends (xdg-open returns quickly; a browser may run for hours).
        std::thread::spawn(move || {
            let _ = child.wait();
        });
        Ok(())
    }
}

/// Opens `url` with the launcher; the error says what could not be run.
pub fn open(url: &str, browser: Option<&str>, launcher: &dyn Launcher) -> Result<OpenCommand, String> {
    let cmd = command(url, browser, cfg!(target_os = "macos"))?;
    launcher
        .launch(&cmd)
        .map_err(|e| format!("could not run `{}` to open the link: {e} (set $BROWSER)", cmd.program))?;
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[derive(Default)]
    struct Record(RefCell<Vec<OpenCommand>>);

    impl Launcher for Record {
        fn launch(&self, cmd: &OpenCommand) -> std::io::Result<()> {
            self.0.borrow_mut().push(cmd.clone());
            Ok(())
        }
    }

    #[test]
    fn platform_opener_gets_the_url_as_one_argument() {
        let r = Record::default();
        let url = "https://example.com/a?b=1&c=$(reboot);x";
        open(url, None, &r).unwrap();
        let expected = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
        assert_eq!(*r.0.borrow(), vec![OpenCommand { program: expected.into(), args: vec![url.into()] }]);
        assert_eq!(command(url, None, true).unwrap().program, "open");
    }

    #[test]
    fn browser_variable_is_split_without_a_shell() {
        let url = "https://example.com/x";
        let c = command(url, Some("firefox --new-tab"), false).unwrap();
        assert_eq!(c, OpenCommand { program: "firefox".into(), args: vec!["--new-tab".into(), url.into()] });
        let c = command(url, Some("w3m -o %s:lynx"), false).unwrap();
        assert_eq!(c, OpenCommand { program: "w3m".into(), args: vec!["-o".into(), url.into()] });
        let c = command(url, Some("sh -c 'rm -rf ~'"), false).unwrap();
        // Quotes mean nothing: `sh` would get `-c`, `'rm`, ... and the URL, never a script.
        assert_eq!(c.args.last().map(String::as_str), Some(url));
        assert_eq!(command(url, Some(" : "), false).unwrap().program, "xdg-open");
    }

    #[test]
    fn refuses_what_is_not_a_web_or_mail_link() {
        let r = Record::default();
        for bad in ["--version", "-e", "file:///etc/shadow", "javascript:x", "https://a b"] {
            assert!(open(bad, None, &r).is_err(), "{bad}");
        }
        assert!(r.0.borrow().is_empty());
    }

    #[test]
    fn a_missing_program_is_an_error_that_names_it() {
        let e = open("https://example.com", Some("/nonexistent/desk-test-browser"), &Spawn).unwrap_err();
        assert!(e.contains("/nonexistent/desk-test-browser") && e.contains("$BROWSER"), "{e}");
    }
}
