//! Slack emoji shortcodes (`:wave:`, `:wave::skin-tone-3:`) and `emoji` elements to Unicode,
//! through the `emojis` crate (GitHub's gemoji shortcodes, which Slack's standard set follows).

use emojis::SkinTone;

/// Slack numbers skin tones 1..=6 (`skin-tone-2` is the lightest modifier; 1 means default).
fn tone(n: u32) -> Option<SkinTone> {
    match n {
        2 => Some(SkinTone::Light),
        3 => Some(SkinTone::MediumLight),
        4 => Some(SkinTone::Medium),
        5 => Some(SkinTone::MediumDark),
        6 => Some(SkinTone::Dark),
        _ => None,
    }
}

/// The emoji for a Slack shortcode name (without colons), optionally with a skin tone.
/// Accepts Slack's `name::skin-tone-N` spelling too. None for unknown (custom) emoji.
pub(crate) fn lookup(name: &str, skin_tone: Option<u32>) -> Option<&'static str> {
    let (base, suffix_tone) = split_tone(name);
    let emoji = emojis::get_by_shortcode(base).or_else(|| emojis::get_by_shortcode(alias(base)?))?;
    let wanted = skin_tone.or(suffix_tone).and_then(tone);
    Some(match wanted {
        Some(t) => emoji.with_skin_tone(t).unwrap_or(emoji).as_str(),
        None => emoji.as_str(),
    })
}

/// Splits `wave::skin-tone-3` into `("wave", Some(3))`.
pub(crate) fn split_tone(name: &str) -> (&str, Option<u32>) {
    if let Some(i) = name.find("::skin-tone-") {
        let n = name[i + "::skin-tone-".len()..].parse().ok();
        return (&name[..i], n);
    }
    (name, None)
}

/// A few Slack names that differ from gemoji's.
fn alias(name: &str) -> Option<&'static str> {
    Some(match name {
        "thumbsup" => "+1",
        "thumbsdown" => "-1",
        "simple_smile" => "slightly_smiling_face",
        "white_frowning_face" => "frowning_face",
        _ => return None,
    })
}

/// Decodes Slack's `unicode` attribute (`1f44b-1f3fc`: hex code points joined by `-`).
pub(crate) fn from_hex(unicode: &str) -> Option<String> {
    let mut out = String::new();
    for part in unicode.split('-') {
        let cp = u32::from_str_radix(part, 16).ok()?;
        out.push(char::from_u32(cp)?);
    }
    if out.is_empty() { None } else { Some(out) }
}

/// Renders an `emoji` element: Unicode when known (skin tone applied), else `:name:`.
pub(crate) fn render(name: &str, unicode: Option<&str>, skin_tone: Option<u32>) -> String {
    if let Some(s) = lookup(name, skin_tone) {
        return s.to_string();
    }
    if let Some(s) = unicode.and_then(from_hex) {
        return s;
    }
    format!(":{name}:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcodes_and_skin_tones() {
        assert_eq!(lookup("wave", None), Some("👋"));
        assert_eq!(lookup("wave", Some(3)), Some("👋🏼"));
        assert_eq!(lookup("wave::skin-tone-6", None), Some("👋🏿"));
        assert_eq!(lookup("thumbsup", None), Some("👍"));
        assert_eq!(lookup("party_parrot", None), None);
    }

    #[test]
    fn elements() {
        assert_eq!(render("party_parrot", None, None), ":party_parrot:");
        assert_eq!(render("custom", Some("1f600"), None), "😀");
        assert_eq!(render("wave", Some("1f44b"), Some(2)), "👋🏻");
        assert_eq!(render("no_such_emoji", Some("zz"), None), ":no_such_emoji:");
    }
}
