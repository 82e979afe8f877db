//! The keymap as data: every action has a config name, default keys, a description and the
//! context it works in. The same table feeds key dispatch, the `?` help overlay, the `:`
//! palette, the status-bar hints and docs/keys.md, so they can never disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;
use std::fmt;

/// Where an action applies. `Global` actions work everywhere except inside text inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Global,
    Queue,
    Conversation,
    Contact,
    Editor,
    /// The conflict dialog (a change refused because the ticket changed meanwhile).
    Conflict,
}

impl Context {
    pub fn label(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Queue => "queue",
            Context::Conversation => "conversation",
            Context::Contact => "contact",
            Context::Editor => "editor",
            Context::Conflict => "conflict",
        }
    }
}

macro_rules! actions {
    ($( $variant:ident = $name:literal, $ctx:ident, [$($key:literal),*], $desc:literal; )*) => {
        /// Every action the console can run by key, by palette or from config.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $($variant),* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];

            /// The name used in `config.toml` `[keys]` and in the palette.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),* }
            }

            pub fn context(self) -> Context {
                match self { $(Action::$variant => Context::$ctx),* }
            }

            pub fn default_keys(self) -> &'static [&'static str] {
                match self { $(Action::$variant => &[$($key),*]),* }
            }

            pub fn description(self) -> &'static str {
                match self { $(Action::$variant => $desc),* }
            }

            pub fn from_name(name: &str) -> Option<Action> {
                match name { $($name => Some(Action::$variant),)* _ => None }
            }
        }
    };
}

// Ticket actions live in the Queue context; the conversation pane falls back to them too,
// since "assign this" means the same there.
actions! {
    Quit = "quit", Global, ["ctrl-c"], "Quit the console";
    Back = "back", Global, ["q"], "Close the pane or overlay; quit from the queue";
    Help = "help", Global, ["?"], "Show every key binding (searchable)";
    Palette = "palette", Global, [":"], "Run any action by name";
    NextPane = "next_pane", Global, ["tab"], "Focus the next pane";
    PrevPane = "prev_pane", Global, ["shift-tab"], "Focus the previous pane";
    ToggleContact = "toggle_contact", Global, ["c"], "Show or hide the contact pane";
    Notifications = "notifications", Global, ["N"], "Open the notifications list";
    Refresh = "refresh", Global, ["R"], "Reload views, tickets and the open conversation";
    Suspend = "suspend", Global, ["ctrl-z"], "Suspend to the shell (resume with fg)";
    View1 = "view_1", Global, ["1"], "Switch to view 1";
    View2 = "view_2", Global, ["2"], "Switch to view 2";
    View3 = "view_3", Global, ["3"], "Switch to view 3";
    View4 = "view_4", Global, ["4"], "Switch to view 4";
    View5 = "view_5", Global, ["5"], "Switch to view 5";
    View6 = "view_6", Global, ["6"], "Switch to view 6";
    View7 = "view_7", Global, ["7"], "Switch to view 7";
    View8 = "view_8", Global, ["8"], "Switch to view 8";
    View9 = "view_9", Global, ["9"], "Switch to view 9";
    Down = "down", Queue, ["j", "down"], "Move down";
    Up = "up", Queue, ["k", "up"], "Move up";
    Top = "top", Queue, ["g", "home"], "Go to the first item";
    Bottom = "bottom", Queue, ["G", "end"], "Go to the last item";
    PageDown = "page_down", Queue, ["ctrl-d", "pagedown"], "Move down a page";
    PageUp = "page_up", Queue, ["ctrl-u", "pageup"], "Move up a page";
    Open = "open", Queue, ["enter"], "Open the selected ticket";
    Filter = "filter", Queue, ["/"], "Filter: fuzzy text plus status: priority: tag: assignee:";
    Reply = "reply", Queue, ["r"], "Write a public reply";
    Note = "note", Queue, ["n"], "Write an internal note";
    ComposeExternal = "compose_external", Queue, ["e"], "Compose a reply in $EDITOR";
    AssignMe = "assign_me", Queue, ["a"], "Assign to me";
    Assign = "assign", Queue, ["A"], "Assign to... (picker)";
    SetStatus = "status", Queue, ["s"], "Set the status";
    SetPriority = "priority", Queue, ["p"], "Set the priority";
    Tags = "tags", Queue, ["t"], "Add or remove tags (+tag -tag)";
    Snooze = "snooze", Queue, ["z"], "Snooze until a time (tomorrow 9am, 2h, mon)";
    ApplyMacro = "macro", Queue, ["m"], "Apply a macro (with preview)";
    Mark = "mark", Queue, ["space"], "Mark or unmark the ticket for bulk actions";
    MarkAll = "mark_all", Queue, ["V"], "Mark all visible tickets (again: clear marks)";
    Undo = "undo", Queue, ["u"], "Undo the last change (within 10 seconds)";
    OpenLink = "open_link", Queue, ["o"], "Open a link of the ticket or its conversation (picker when several)";
    CopyId = "copy_id", Queue, ["y"], "Copy the ticket id";
    LogActivity = "log_activity", Contact, ["l"], "Log a call, meeting, email or note";
    FollowUp = "follow_up", Contact, ["f"], "Create a follow-up task with a due date";
    Send = "send", Editor, ["ctrl-s"], "Send the reply (through the outbox)";
    TogglePreview = "toggle_preview", Editor, ["ctrl-p"], "Toggle the rendered preview";
    ToggleVisibility = "toggle_visibility", Editor, ["ctrl-n"], "Switch between public reply and internal note";
    ExternalEditor = "external_editor", Editor, ["ctrl-e"], "Continue in $EDITOR";
    InsertMacro = "insert_macro", Editor, ["ctrl-t"], "Insert a macro or saved reply";
    CloseEditor = "close_editor", Editor, ["esc"], "Close the editor (the draft is kept)";
    ConflictReapply = "conflict_reapply", Conflict, ["m"], "Conflict: apply my change again on top of the current version";
    ConflictKeepTheirs = "conflict_keep_theirs", Conflict, ["t"], "Conflict: keep the current version and drop my change (esc too)";
}

impl Action {
    /// The view number of a `view_N` action.
    pub fn view_number(self) -> Option<usize> {
        let name = self.name();
        name.strip_prefix("view_").and_then(|n| n.parse().ok())
    }
}

/// One key with modifiers, normalised so `G` and `shift-g` are the same chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Chord {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
}

/// `KeyCode` subset we bind, with an order so chords can live in sorted maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeOrd {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    Delete,
    F(u8),
}

impl Chord {
    pub fn from_event(ev: &KeyEvent) -> Option<Chord> {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let alt = ev.modifiers.contains(KeyModifiers::ALT);
        let code = match ev.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            KeyCode::Enter => KeyCodeOrd::Enter,
            KeyCode::Esc => KeyCodeOrd::Esc,
            KeyCode::Tab if ev.modifiers.contains(KeyModifiers::SHIFT) => KeyCodeOrd::BackTab,
            KeyCode::Tab => KeyCodeOrd::Tab,
            KeyCode::BackTab => KeyCodeOrd::BackTab,
            KeyCode::Backspace => KeyCodeOrd::Backspace,
            KeyCode::Up => KeyCodeOrd::Up,
            KeyCode::Down => KeyCodeOrd::Down,
            KeyCode::Left => KeyCodeOrd::Left,
            KeyCode::Right => KeyCodeOrd::Right,
            KeyCode::Home => KeyCodeOrd::Home,
            KeyCode::End => KeyCodeOrd::End,
            KeyCode::PageUp => KeyCodeOrd::PageUp,
            KeyCode::PageDown => KeyCodeOrd::PageDown,
            KeyCode::Delete => KeyCodeOrd::Delete,
            KeyCode::F(n) => KeyCodeOrd::F(n),
            _ => return None,
        };
        Some(Chord { code, ctrl, alt })
    }

    /// Parses `j`, `G`, `ctrl-s`, `alt-x`, `shift-tab`, `space`, `enter`, `pagedown`, `f5`, `?`.
    pub fn parse(s: &str) -> Result<Chord, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = s.trim();
        if rest.is_empty() {
            return Err("an empty key".into());
        }
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-").or_else(|| lower.strip_prefix("c-")) {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-").or_else(|| lower.strip_prefix("m-")) {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("shift-") {
                shift = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" | "cr" => KeyCodeOrd::Enter,
            "esc" | "escape" => KeyCodeOrd::Esc,
            "tab" if shift => KeyCodeOrd::BackTab,
            "tab" => KeyCodeOrd::Tab,
            "backtab" => KeyCodeOrd::BackTab,
            "backspace" | "bs" => KeyCodeOrd::Backspace,
            "space" => KeyCodeOrd::Char(' '),
            "up" => KeyCodeOrd::Up,
            "down" => KeyCodeOrd::Down,
            "left" => KeyCodeOrd::Left,
            "right" => KeyCodeOrd::Right,
            "home" => KeyCodeOrd::Home,
            "end" => KeyCodeOrd::End,
            "pageup" | "pgup" => KeyCodeOrd::PageUp,
            "pagedown" | "pgdn" => KeyCodeOrd::PageDown,
            "delete" | "del" => KeyCodeOrd::Delete,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCodeOrd::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        let c = if ctrl {
                            c.to_ascii_lowercase()
                        } else if shift {
                            c.to_ascii_uppercase()
                        } else {
                            c
                        };
                        KeyCodeOrd::Char(c)
                    }
                    _ => return Err(format!("unknown key `{s}`")),
                }
            }
        };
        Ok(Chord { code, ctrl, alt })
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("space"),
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::Enter => f.write_str("enter"),
            KeyCodeOrd::Esc => f.write_str("esc"),
            KeyCodeOrd::Tab => f.write_str("tab"),
            KeyCodeOrd::BackTab => f.write_str("shift-tab"),
            KeyCodeOrd::Backspace => f.write_str("backspace"),
            KeyCodeOrd::Up => f.write_str("up"),
            KeyCodeOrd::Down => f.write_str("down"),
            KeyCodeOrd::Left => f.write_str("left"),
            KeyCodeOrd::Right => f.write_str("right"),
            KeyCodeOrd::Home => f.write_str("home"),
            KeyCodeOrd::End => f.write_str("end"),
            KeyCodeOrd::PageUp => f.write_str("pageup"),
            KeyCodeOrd::PageDown => f.write_str("pagedown"),
            KeyCodeOrd::Delete => f.write_str("delete"),
            KeyCodeOrd::F(n) => write!(f, "f{n}"),
        }
    }
}

/// The bindings in force: defaults with the user's overrides applied.
#[derive(Debug, Clone)]
pub struct Keymap {
    keys: BTreeMap<Action, Vec<Chord>>,
    lookup: BTreeMap<(Context, Chord), Action>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::with_overrides(&BTreeMap::new(), "config.toml").0
    }
}

impl Keymap {
    /// Applies `[keys]` overrides (action name -> keys; an override replaces that action's
    /// defaults). Returns the keymap and one readable problem per unknown action, bad key or
    /// conflict, naming `source` (the config file) and the key, so they can be shown at start.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>, source: &str) -> (Keymap, Vec<String>) {
        let mut problems = Vec::new();
        let mut keys: BTreeMap<Action, Vec<Chord>> = BTreeMap::new();
        for &action in Action::ALL {
            let defaults = action.default_keys().iter().filter_map(|k| Chord::parse(k).ok()).collect();
            keys.insert(action, defaults);
        }
        for (name, list) in overrides {
            let Some(action) = Action::from_name(name) else {
                problems.push(format!("{source}: [keys] `{name}` is not an action (see docs/keys.md)"));
                continue;
            };
            let mut chords = Vec::new();
            for k in list {
                match Chord::parse(k) {
                    Ok(c) => chords.push(c),
                    Err(e) => problems.push(format!("{source}: [keys] {name} = `{k}`: {e}")),
                }
            }
            keys.insert(action, chords);
        }
        let mut lookup: BTreeMap<(Context, Chord), Action> = BTreeMap::new();
        for (&action, chords) in &keys {
            for &chord in chords {
                // A global key shadows the same key in every pane, so compare across contexts
                // that are active together.
                let clash = lookup.iter().find(|((ctx, c), other)| {
                    *c == chord && **other != action && contexts_overlap(*ctx, action.context())
                });
                if let Some((_, other)) = clash {
                    problems.push(format!(
                        "{source}: key `{chord}` is bound to both `{}` and `{}`; `{}` wins",
                        other.name(),
                        action.name(),
                        other.name()
                    ));
                    continue;
                }
                lookup.insert((action.context(), chord), action);
            }
        }
        (Keymap { keys, lookup }, problems)
    }

    /// Resolves a key in a context: the context's own binding first, then global ones.
    /// The conversation and contact panes also accept ticket (queue) actions.
    pub fn action_for(&self, ctx: Context, chord: Chord) -> Option<Action> {
        let chain: &[Context] = match ctx {
            Context::Editor => &[Context::Editor],
            Context::Conflict => &[Context::Conflict],
            Context::Conversation => &[Context::Conversation, Context::Queue, Context::Global],
            Context::Contact => &[Context::Contact, Context::Queue, Context::Global],
            Context::Queue => &[Context::Queue, Context::Global],
            Context::Global => &[Context::Global],
        };
        chain.iter().find_map(|c| self.lookup.get(&(*c, chord)).copied())
    }

    /// The keys bound to an action right now (after overrides).
    pub fn keys(&self, action: Action) -> &[Chord] {
        self.keys.get(&action).map(Vec::as_slice).unwrap_or(&[])
    }

    /// "j/down" style label for hints and help.
    pub fn label(&self, action: Action) -> String {
        let keys = self.keys(action);
        if keys.is_empty() {
            return "unbound".into();
        }
        keys.iter().map(Chord::to_string).collect::<Vec<_>>().join("/")
    }
}

/// docs/keys.md, generated from the action table so the docs cannot drift from the code
/// (a test compares them; `DESK_UPDATE_DOCS=1 cargo test --lib keymap` rewrites the file).
pub fn keys_markdown() -> String {
    let mut out = String::from(
        "# Console keys\n\n\
         Every action of the console, its default keys, and the name to use in `config.toml`.\n\
         Press `?` in the console for the bindings actually in force (searchable), or `:` to run\n\
         any action by name. Generated from `src/tui/keymap.rs`.\n\n\
         ## Remapping\n\n\
         ```toml\n[keys]\nassign_me = \"ctrl-a\"        # one key\nback = [\"q\", \"esc\"]          # or several\n```\n\n\
         An override replaces the action's default keys. Keys are written `j`, `G`, `?`, `space`,\n\
         `enter`, `esc`, `tab`, `shift-tab`, `up`, `pagedown`, `f5`, `ctrl-s`, `alt-x`.\n\
         Unknown actions, unreadable keys and keys bound twice are reported when the console\n\
         starts, naming the config file and the key. Keys of the *queue* context also work in\n\
         the conversation and contact panes; *global* keys work everywhere except while typing.\n\n\
         In text inputs (filter, pickers, editor) `esc` closes and `enter` confirms; `ctrl-u`\n\
         clears a one-line input; the editor has the usual ratatui-textarea keys (arrows,\n\
         ctrl-a/e, alt-b/f, ctrl-k, ctrl-z undo, ...).\n",
    );
    let mut ctx = None;
    for a in Action::ALL {
        if ctx != Some(a.context()) {
            ctx = Some(a.context());
            out.push_str(&format!(
                "\n## {}\n\n| action (config name) | default keys | what it does |\n|---|---|---|\n",
                a.context().label()
            ));
        }
        let keys: Vec<String> = a.default_keys().iter().map(|k| format!("`{k}`")).collect();
        out.push_str(&format!("| `{}` | {} | {} |\n", a.name(), keys.join(", "), a.description()));
    }
    out
}

fn contexts_overlap(a: Context, b: Context) -> bool {
    if a == b {
        return true;
    }
    // The editor captures keys for typing and the conflict dialog takes only its own keys;
    // globals reach neither, so no clash there.
    if matches!(a, Context::Editor | Context::Conflict) || matches!(b, Context::Editor | Context::Conflict) {
        return false;
    }
    a == Context::Global || b == Context::Global
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> Chord {
        Chord { code: KeyCodeOrd::Char(c), ctrl: false, alt: false }
    }

    #[test]
    fn docs_keys_md_is_generated_from_the_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/keys.md");
        let want = keys_markdown();
        if std::env::var_os("DESK_UPDATE_DOCS").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(have == want, "docs/keys.md is stale: run DESK_UPDATE_DOCS=1 cargo test --lib keymap");
    }

    #[test]
    fn defaults_have_no_conflicts_and_unique_names() {
        let (_, problems) = Keymap::with_overrides(&BTreeMap::new(), "config.toml");
        assert!(problems.is_empty(), "{problems:?}");
        let mut names: Vec<_> = Action::ALL.iter().map(|a| a.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
    }

    #[test]
    fn parses_and_prints_chords() {
        for s in ["j", "G", "ctrl-s", "shift-tab", "space", "enter", "?", "pagedown", "f5", "alt-x"] {
            let c = Chord::parse(s).unwrap();
            assert_eq!(c.to_string(), s);
        }
        assert_eq!(Chord::parse("shift-g").unwrap(), key('G'));
        assert!(Chord::parse("hyper-q").is_err());
        assert!(Chord::parse("").is_err());
    }

    #[test]
    fn context_falls_back_to_queue_and_global() {
        let km = Keymap::default();
        assert_eq!(km.action_for(Context::Queue, key('a')), Some(Action::AssignMe));
        assert_eq!(km.action_for(Context::Conversation, key('a')), Some(Action::AssignMe));
        assert_eq!(km.action_for(Context::Contact, key('l')), Some(Action::LogActivity));
        assert_eq!(km.action_for(Context::Queue, key('l')), None);
        assert_eq!(km.action_for(Context::Queue, key('?')), Some(Action::Help));
        assert_eq!(km.action_for(Context::Editor, key('a')), None);
        assert_eq!(km.action_for(Context::Conflict, key('m')), Some(Action::ConflictReapply));
        assert_eq!(km.action_for(Context::Conflict, key('q')), None, "only the dialog's own keys");
    }

    #[test]
    fn overrides_replace_defaults_and_conflicts_name_file_and_key() {
        let mut o = BTreeMap::new();
        o.insert("assign_me".to_string(), vec!["ctrl-a".to_string()]);
        o.insert("snooze".to_string(), vec!["j".to_string()]);
        o.insert("frobnicate".to_string(), vec!["x".to_string()]);
        let (km, problems) = Keymap::with_overrides(&o, "/home/a/.config/desk/config.toml");
        assert_eq!(km.action_for(Context::Queue, key('a')), None);
        assert_eq!(km.label(Action::AssignMe), "ctrl-a");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("/home/a/.config/desk/config.toml")
            && p.contains("`j`")
            && p.contains("snooze")));
        assert!(problems.iter().any(|p| p.contains("frobnicate")));
    }
}
