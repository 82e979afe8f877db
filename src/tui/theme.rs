//! Themes: TOML files of semantic roles (`text`, `sla_breached`, `note_bg`, ...). A theme may
//! name a `parent` theme whose roles it inherits, and a role it does not set falls back to a
//! more general role (`sla_ok` to `text`), so a user theme can be three lines long.
//! Built-ins are embedded at build time; `NO_COLOR` gives a monochrome theme.

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

macro_rules! roles {
    ($($variant:ident = $name:literal => $fallback:ident;)*) => {
        /// A semantic style role. Views ask for roles, never for colours.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Role { $($variant),* }

        impl Role {
            pub const ALL: &'static [Role] = &[$(Role::$variant),*];
            pub fn name(self) -> &'static str {
                match self { $(Role::$variant => $name),* }
            }
            /// The more general role used when a theme leaves this one unset.
            fn fallback(self) -> Option<Role> {
                let f = match self { $(Role::$variant => Role::$fallback),* };
                (f != self).then_some(f)
            }
            fn from_name(s: &str) -> Option<Role> {
                match s { $($name => Some(Role::$variant),)* _ => None }
            }
        }
    };
}

roles! {
    Text = "text" => Text;
    Muted = "muted" => Text;
    Accent = "accent" => Text;
    Border = "border" => Muted;
    BorderFocused = "border_focused" => Accent;
    Title = "title" => Text;
    Selection = "selection" => Text;
    Marked = "marked" => Accent;
    Tab = "tab" => Muted;
    TabActive = "tab_active" => Accent;
    PriorityUrgent = "priority_urgent" => Error;
    PriorityHigh = "priority_high" => Text;
    PriorityNormal = "priority_normal" => Muted;
    PriorityLow = "priority_low" => Muted;
    SlaOk = "sla_ok" => Text;
    SlaAtRisk = "sla_at_risk" => Accent;
    SlaBreached = "sla_breached" => Error;
    SlaPaused = "sla_paused" => Muted;
    NoteBg = "note_bg" => Text;
    NoteLabel = "note_label" => Accent;
    AuthorAgent = "author_agent" => Accent;
    AuthorContact = "author_contact" => Title;
    AuthorSystem = "author_system" => Muted;
    Link = "link" => Accent;
    Code = "code" => Text;
    Mention = "mention" => Accent;
    Quote = "quote" => Muted;
    Banner = "banner" => Accent;
    Error = "error" => Text;
    Success = "success" => Text;
    StatusBar = "status_bar" => Text;
    Live = "live" => Success;
    Offline = "offline" => Error;
    Demo = "demo" => Banner;
    Key = "key" => Accent;
}

pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
];

/// A resolved theme: one style per role.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    styles: BTreeMap<Role, Style>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    roles: BTreeMap<String, StyleSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum StyleSpec {
    Fg(String),
    Full(FullSpec),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FullSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underline: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    reversed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error(
        "theme `{0}` not found (built-ins: dark, light, high-contrast; user themes: <config dir>/themes/NAME.toml)"
    )]
    NotFound(String),
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("theme `{0}` inherits from itself through `parent`")]
    Cycle(String),
}

impl Theme {
    /// Loads a theme by name: `<config_dir>/themes/NAME.toml` first, then the built-ins.
    pub fn load(name: &str, config_dir: Option<&Path>) -> Result<Theme, ThemeError> {
        let mut chain: Vec<(String, ThemeFile)> = Vec::new();
        let mut next = Some(name.to_string());
        while let Some(n) = next {
            if chain.iter().any(|(seen, _)| *seen == n) {
                return Err(ThemeError::Cycle(n));
            }
            let (file, source) = read_theme_source(&n, config_dir)?;
            let parsed: ThemeFile = toml::from_str(&source)
                .map_err(|e| ThemeError::Invalid { file: file.clone(), message: e.to_string() })?;
            for role in parsed.roles.keys() {
                if Role::from_name(role).is_none() {
                    return Err(ThemeError::Invalid { file, message: format!("unknown role `{role}`") });
                }
            }
            next = parsed.parent.clone();
            chain.push((n, parsed));
        }
        let mut specs: BTreeMap<Role, Style> = BTreeMap::new();
        // Parents first, so a child's role overrides its parent's.
        for (n, file) in chain.iter().rev() {
            for (role, spec) in &file.roles {
                let role = Role::from_name(role).unwrap_or(Role::Text);
                let style = spec.to_style().map_err(|message| ThemeError::Invalid {
                    file: format!("theme `{n}`"),
                    message: format!("role `{}`: {message}", role.name()),
                })?;
                specs.insert(role, style);
            }
        }
        let display = chain.first().and_then(|(_, f)| f.name.clone()).unwrap_or_else(|| name.to_string());
        Ok(Theme::from_specs(display, &specs))
    }

    /// The built-in dark theme (never fails: it is compiled in and tested).
    pub fn dark() -> Theme {
        Theme::load("dark", None).unwrap_or_else(|_| Theme::monochrome())
    }

    /// What `NO_COLOR` gets: no colours at all, meaning carried by bold, dim, underline and
    /// reversed video.
    pub fn monochrome() -> Theme {
        let m = |m: Modifier| Style::default().add_modifier(m);
        let mut specs = BTreeMap::new();
        specs.insert(Role::Muted, m(Modifier::DIM));
        specs.insert(Role::Accent, m(Modifier::BOLD));
        specs.insert(Role::Title, m(Modifier::BOLD));
        specs.insert(Role::Selection, m(Modifier::REVERSED));
        specs.insert(Role::TabActive, m(Modifier::REVERSED | Modifier::BOLD));
        specs.insert(Role::PriorityUrgent, m(Modifier::BOLD | Modifier::UNDERLINED));
        specs.insert(Role::PriorityHigh, m(Modifier::BOLD));
        specs.insert(Role::SlaOk, Style::default());
        specs.insert(Role::SlaAtRisk, m(Modifier::BOLD));
        specs.insert(Role::SlaBreached, m(Modifier::BOLD | Modifier::REVERSED));
        specs.insert(Role::SlaPaused, m(Modifier::DIM | Modifier::ITALIC));
        specs.insert(Role::NoteBg, Style::default());
        specs.insert(Role::NoteLabel, m(Modifier::BOLD | Modifier::UNDERLINED));
        specs.insert(Role::Link, m(Modifier::UNDERLINED));
        specs.insert(Role::Banner, m(Modifier::REVERSED));
        specs.insert(Role::Error, m(Modifier::BOLD));
        specs.insert(Role::StatusBar, m(Modifier::REVERSED));
        Theme::from_specs("monochrome".into(), &specs)
    }

    fn from_specs(name: String, specs: &BTreeMap<Role, Style>) -> Theme {
        let mut styles = BTreeMap::new();
        for &role in Role::ALL {
            let mut r = role;
            let style = loop {
                if let Some(s) = specs.get(&r) {
                    break *s;
                }
                match r.fallback() {
                    Some(f) => r = f,
                    None => break Style::default(),
                }
            };
            styles.insert(role, style);
        }
        Theme { name, styles }
    }

    pub fn style(&self, role: Role) -> Style {
        self.styles.get(&role).copied().unwrap_or_default()
    }

    /// Names of the built-in themes plus user themes found in `<config_dir>/themes`.
    pub fn available(config_dir: Option<&Path>) -> Vec<String> {
        let mut names: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
        if let Some(dir) = config_dir
            && let Ok(entries) = std::fs::read_dir(dir.join("themes"))
        {
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "toml")
                    && let Some(stem) = p.file_stem().and_then(|s| s.to_str())
                    && !names.iter().any(|n| n == stem)
                {
                    names.push(stem.to_string());
                }
            }
        }
        names
    }
}

fn read_theme_source(name: &str, config_dir: Option<&Path>) -> Result<(String, String), ThemeError> {
    if let Some(dir) = config_dir {
        let path = dir.join("themes").join(format!("{name}.toml"));
        if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|e| ThemeError::Invalid {
                file: path.display().to_string(),
                message: format!("cannot read: {e}"),
            })?;
            return Ok((path.display().to_string(), text));
        }
    }
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, src)| (format!("themes/{n}.toml (built in)"), (*src).to_string()))
        .ok_or_else(|| ThemeError::NotFound(name.to_string()))
}

impl StyleSpec {
    fn to_style(&self) -> Result<Style, String> {
        let full = match self {
            StyleSpec::Fg(c) => FullSpec { fg: Some(c.clone()), ..FullSpec::default() },
            StyleSpec::Full(f) => f.clone(),
        };
        let mut s = Style::default();
        if let Some(fg) = &full.fg {
            s = s.fg(parse_color(fg)?);
        }
        if let Some(bg) = &full.bg {
            s = s.bg(parse_color(bg)?);
        }
        let mut m = Modifier::empty();
        for (on, flag) in [
            (full.bold, Modifier::BOLD),
            (full.italic, Modifier::ITALIC),
            (full.underline, Modifier::UNDERLINED),
            (full.dim, Modifier::DIM),
            (full.reversed, Modifier::REVERSED),
        ] {
            if on {
                m |= flag;
            }
        }
        Ok(s.add_modifier(m))
    }
}

fn parse_color(s: &str) -> Result<Color, String> {
    s.parse::<Color>()
        .map_err(|_| format!("`{s}` is not a colour (use #rrggbb, a name like `red`, or 0-255)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_load_and_set_every_sla_role() {
        for (name, _) in BUILTIN {
            let t = Theme::load(name, None).unwrap();
            for role in [Role::SlaOk, Role::SlaAtRisk, Role::SlaBreached, Role::SlaPaused] {
                assert_ne!(t.style(role), Style::default(), "{name} {role:?}");
            }
        }
    }

    #[test]
    fn child_overrides_parent_and_unset_roles_fall_back() {
        let hc = Theme::load("high-contrast", None).unwrap();
        let dark = Theme::dark();
        assert_eq!(hc.style(Role::Quote), dark.style(Role::Quote)); // inherited from dark
        assert_ne!(hc.style(Role::Text), dark.style(Role::Text));
    }

    #[test]
    fn user_theme_with_parent_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("themes")).unwrap();
        std::fs::write(
            dir.path().join("themes/mine.toml"),
            "parent = \"light\"\n[roles]\nsla_breached = { fg = \"magenta\", bold = true }\n",
        )
        .unwrap();
        let t = Theme::load("mine", Some(dir.path())).unwrap();
        assert_eq!(t.style(Role::SlaBreached).fg, Some(Color::Magenta));
        assert_eq!(t.style(Role::Text), Theme::load("light", None).unwrap().style(Role::Text));
        assert!(Theme::available(Some(dir.path())).contains(&"mine".to_string()));

        std::fs::write(dir.path().join("themes/bad.toml"), "[roles]\nsla_ok = \"notacolour\"\n").unwrap();
        let err = Theme::load("bad", Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("notacolour") && err.contains("sla_ok"), "{err}");
        std::fs::write(dir.path().join("themes/typo.toml"), "[roles]\nsla_okk = \"red\"\n").unwrap();
        let err = Theme::load("typo", Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("typo.toml") && err.contains("sla_okk"), "{err}");
        std::fs::write(dir.path().join("themes/loop.toml"), "parent = \"loop\"\n").unwrap();
        assert!(matches!(Theme::load("loop", Some(dir.path())), Err(ThemeError::Cycle(_))));
        assert!(matches!(Theme::load("nope", None), Err(ThemeError::NotFound(_))));
    }

    #[test]
    fn monochrome_has_no_colours() {
        let m = Theme::monochrome();
        for &r in Role::ALL {
            assert_eq!(m.style(r).fg, None);
            assert_eq!(m.style(r).bg, None);
        }
    }
}
