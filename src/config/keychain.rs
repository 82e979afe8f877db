//! The OS keychain, where `desk login` keeps tokens when one is reachable (DESIGN §8):
//! the Secret Service over D-Bus on Linux and the BSDs (GNOME Keyring, KWallet, KeePassXC),
//! the login keychain on macOS, the Credential Manager on Windows.
//!
//! Each profile's token is one item: service `desk`, user `PROFILE@SERVER`, so two servers
//! never share an item and `secret-tool lookup service desk username default@URL` finds it.
//!
//! Every call runs on its own thread with a deadline: a Secret Service that waits for an
//! unlock prompt nobody will answer (a headless box, an SSH session) must not hang the CLI;
//! after the deadline the keychain counts as unavailable.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use keyring_core::{CredentialStore, Entry, Error};

use super::credentials::Token;

const SERVICE: &str = "desk";
const DEADLINE: Duration = Duration::from_secs(5);

/// An open keychain.
#[derive(Clone)]
pub struct Keychain {
    store: Arc<CredentialStore>,
    name: &'static str,
}

impl std::fmt::Debug for Keychain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Keychain {
    /// Connects to this platform's keychain; the error says why there is none.
    pub fn open() -> Result<Keychain, String> {
        let (store, name) = with_deadline("connecting to the keychain", platform_store)??;
        Ok(Keychain { store, name })
    }

    /// "the Secret Service", "the macOS login keychain", ...
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn set(&self, profile: &str, server: &str, token: &Token) -> Result<(), String> {
        let entry = self.entry(profile, server)?;
        let secret = token.expose().to_owned();
        with_deadline("saving the token", move || entry.set_password(&secret))?.map_err(|e| describe(&e))
    }

    /// The token, or `None` when the keychain has no item for this profile and server.
    pub fn get(&self, profile: &str, server: &str) -> Result<Option<Token>, String> {
        let entry = self.entry(profile, server)?;
        match with_deadline("reading the token", move || entry.get_password())? {
            Ok(secret) => Ok(Some(Token::new(secret))),
            Err(Error::NoEntry) => Ok(None),
            Err(e) => Err(describe(&e)),
        }
    }

    /// Deletes the item; true when there was one.
    pub fn delete(&self, profile: &str, server: &str) -> Result<bool, String> {
        let entry = self.entry(profile, server)?;
        match with_deadline("deleting the token", move || entry.delete_credential())? {
            Ok(()) => Ok(true),
            Err(Error::NoEntry) => Ok(false),
            Err(e) => Err(describe(&e)),
        }
    }

    fn entry(&self, profile: &str, server: &str) -> Result<Entry, String> {
        Entry::new_in_store(&self.store, SERVICE, &format!("{profile}@{server}")).map_err(|e| describe(&e))
    }
}

/// Runs `f` on a thread and gives up after [`DEADLINE`].
fn with_deadline<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("desk-keychain".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| format!("{what}: cannot start a thread: {e}"))?;
    rx.recv_timeout(DEADLINE).map_err(|_| {
        format!(
            "{what} took longer than {} s (is the keychain locked and waiting for a prompt?)",
            DEADLINE.as_secs()
        )
    })
}

fn describe(e: &Error) -> String {
    match e {
        Error::NoStorageAccess(inner) => format!("the keychain is locked or refused access: {inner}"),
        Error::PlatformFailure(inner) => format!("the keychain failed: {inner}"),
        other => other.to_string(),
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
fn platform_store() -> Result<(Arc<CredentialStore>, &'static str), String> {
    // Without a session bus there is no Secret Service; say so instead of zbus's socket error.
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none()
        && !std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).join("bus").exists())
    {
        return Err("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set), so no Secret Service".into());
    }
    let store = zbus_secret_service_keyring_store::Store::new()
        .map_err(|e| format!("no Secret Service on the session bus: {}", describe(&e)))?;
    Ok((store, "the Secret Service"))
}

#[cfg(target_os = "macos")]
fn platform_store() -> Result<(Arc<CredentialStore>, &'static str), String> {
    let store = apple_native_keyring_store::keychain::Store::new().map_err(|e| describe(&e))?;
    Ok((store, "the macOS login keychain"))
}

#[cfg(windows)]
fn platform_store() -> Result<(Arc<CredentialStore>, &'static str), String> {
    let store = windows_native_keyring_store::Store::new().map_err(|e| describe(&e))?;
    Ok((store, "the Windows Credential Manager"))
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "macos",
    windows
)))]
fn platform_store() -> Result<(Arc<CredentialStore>, &'static str), String> {
    Err("desk knows no keychain on this platform".into())
}
