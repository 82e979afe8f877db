//! Slack Block Kit to TipTap.
//!
//! Speed matters here (DESIGN §10: 150 MB/s of input JSON, parse included), so the JSON is
//! deserialised straight into borrowed, typed structs (`Cow<'a, str>` pointing into the input;
//! no `serde_json::Value` on the way). Every field is *lenient*: a field of an unexpected JSON
//! type reads as absent instead of failing the whole message, because Slack's shapes vary
//! between block types and API versions and an unknown block must degrade, never error.
//! The only errors are therefore: invalid JSON, nesting beyond serde_json's 128 levels, input
//! over [`MAX_INPUT_BYTES`], and a top level that is no Block Kit shape at all.

use super::doc::{Block, Cell, Doc, Inline, ListItem, Marks, Mention};
use super::error::{ConvertError, from_serde};
use super::mrkdwn::{self, decode};
use super::{EntityResolver, MAX_INPUT_BYTES, MAX_LIST_INDENT, MentionKind, date, emoji, markdown};
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// Converts Block Kit in any shape Slack sends (message, array of blocks, single block,
/// legacy attachment, Events API or Socket Mode envelope), given as JSON text (`&str`,
/// `&String`), raw bytes (`&[u8]`) or an already parsed `&serde_json::Value`.
pub fn from_blockkit<I: BlockKitInput + ?Sized>(
    input: &I,
    resolver: &dyn EntityResolver,
) -> Result<Doc, ConvertError> {
    input.to_doc(resolver)
}

/// What [`from_blockkit`] accepts.
pub trait BlockKitInput {
    fn to_doc(&self, resolver: &dyn EntityResolver) -> Result<Doc, ConvertError>;
}

impl BlockKitInput for str {
    fn to_doc(&self, resolver: &dyn EntityResolver) -> Result<Doc, ConvertError> {
        from_blockkit_str(self, resolver)
    }
}

impl BlockKitInput for String {
    fn to_doc(&self, resolver: &dyn EntityResolver) -> Result<Doc, ConvertError> {
        from_blockkit_str(self, resolver)
    }
}

impl BlockKitInput for [u8] {
    fn to_doc(&self, resolver: &dyn EntityResolver) -> Result<Doc, ConvertError> {
        from_blockkit_bytes(self, resolver)
    }
}

impl BlockKitInput for serde_json::Value {
    fn to_doc(&self, resolver: &dyn EntityResolver) -> Result<Doc, ConvertError> {
        from_blockkit_value(self, resolver)
    }
}

fn from_blockkit_str(json: &str, resolver: &dyn EntityResolver) -> Result<Doc, ConvertError> {
    if json.len() > MAX_INPUT_BYTES {
        return Err(ConvertError::TooLarge { bytes: json.len(), limit: MAX_INPUT_BYTES });
    }
    let top: Top<'_> = serde_json::from_str(json).map_err(|e| from_serde(json, &e))?;
    convert_top(&top, resolver)
}

/// Like [`from_blockkit`] for raw bytes (must be UTF-8).
pub fn from_blockkit_bytes(json: &[u8], resolver: &dyn EntityResolver) -> Result<Doc, ConvertError> {
    let text = std::str::from_utf8(json).map_err(|e| {
        let prefix = &json[..e.valid_up_to()];
        let line = prefix.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = prefix.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        ConvertError::Syntax { path: "$".into(), line, column, message: "input is not UTF-8".into() }
    })?;
    from_blockkit_str(text, resolver)
}

/// Like [`from_blockkit`] for an already parsed JSON value (strings are borrowed from it).
pub fn from_blockkit_value(
    value: &serde_json::Value,
    resolver: &dyn EntityResolver,
) -> Result<Doc, ConvertError> {
    match Top::deserialize(value) {
        Ok(top) => convert_top(&top, resolver),
        // Re-run on the text form so the error carries a path and position.
        Err(_) => from_blockkit_str(&value.to_string(), resolver),
    }
}

// ---------------------------------------------------------------------------------------------
// Lenient borrowed wire types

/// A string that reads as None when the JSON holds another type.
#[derive(Default, Debug)]
struct S<'a>(Option<Cow<'a, str>>);

impl<'a> S<'a> {
    fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
    fn nonempty(&self) -> Option<&str> {
        self.get().filter(|s| !s.is_empty())
    }
}

/// Consumes any value and yields `T::default()` unless the visitor overrides the case.
macro_rules! ignore_others {
    ($v:ty) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$v, E> {
            Ok(Default::default())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$v, E> {
            Ok(Default::default())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<$v, E> {
            Ok(Default::default())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$v, E> {
            Ok(Default::default())
        }
        fn visit_unit<E: de::Error>(self) -> Result<$v, E> {
            Ok(Default::default())
        }
        fn visit_none<E: de::Error>(self) -> Result<$v, E> {
            Ok(Default::default())
        }
    };
}

macro_rules! ignore_str {
    ($v:ty) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<$v, E> {
            Ok(Default::default())
        }
    };
}

macro_rules! ignore_seq {
    ($v:ty) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<$v, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
}

macro_rules! ignore_map {
    ($v:ty) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$v, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
}

struct SVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for SVisitor<'a> {
    type Value = S<'a>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("anything")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<S<'a>, E> {
        Ok(S(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<S<'a>, E> {
        Ok(S(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<S<'a>, E> {
        Ok(S(Some(Cow::Owned(v))))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<S<'a>, D::Error> {
        d.deserialize_any(self)
    }
    ignore_others!(S<'a>);
    ignore_seq!(S<'a>);
    ignore_map!(S<'a>);
}

impl<'de: 'a, 'a> Deserialize<'de> for S<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SVisitor(PhantomData))
    }
}

/// A number, or a string holding one (Slack sends timestamps both ways).
#[derive(Default, Debug, Clone, Copy)]
struct N(Option<f64>);

struct NVisitor;

impl<'de> Visitor<'de> for NVisitor {
    type Value = N;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("anything")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<N, E> {
        Ok(N(Some(v as f64)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<N, E> {
        Ok(N(Some(v as f64)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<N, E> {
        Ok(N(Some(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<N, E> {
        Ok(N(Some(if v { 1.0 } else { 0.0 })))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<N, E> {
        Ok(N(date::parse_seconds(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<N, E> {
        Ok(N(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<N, E> {
        Ok(N(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<N, D::Error> {
        d.deserialize_any(self)
    }
    ignore_seq!(N);
    ignore_map!(N);
}

impl<'de> Deserialize<'de> for N {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NVisitor)
    }
}

impl N {
    /// A small non-negative integer (indent, offset, skin tone), saturating.
    fn count(self) -> usize {
        match self.0 {
            Some(v) if v.is_finite() && v > 0.0 => v.min(1e9) as usize,
            _ => 0,
        }
    }
}

/// An object of type `T`; any other JSON value reads as None.
#[derive(Debug)]
struct O<T>(Option<T>);

impl<T> Default for O<T> {
    fn default() -> Self {
        O(None)
    }
}

struct OVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for OVisitor<T> {
    type Value = O<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("anything")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<O<T>, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|t| O(Some(t)))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<O<T>, D::Error> {
        d.deserialize_any(self)
    }
    ignore_others!(O<T>);
    ignore_str!(O<T>);
    ignore_seq!(O<T>);
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for O<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OVisitor(PhantomData))
    }
}

/// A list; any other JSON value reads as empty. Items of the wrong type are skipped.
#[derive(Debug)]
struct L<T>(Vec<T>);

impl<T> Default for L<T> {
    fn default() -> Self {
        L(Vec::new())
    }
}

struct LVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for LVisitor<T> {
    type Value = L<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("anything")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<L<T>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(64));
        while let Some(item) = seq.next_element::<O<T>>()? {
            if let Some(item) = item.0 {
                out.push(item);
            }
        }
        Ok(L(out))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<L<T>, D::Error> {
        d.deserialize_any(self)
    }
    ignore_others!(L<T>);
    ignore_str!(L<T>);
    ignore_map!(L<T>);
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for L<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LVisitor(PhantomData))
    }
}

/// Table rows: a list of lists of cells.
#[derive(Debug, Default)]
struct Rows<'a>(Vec<Vec<El<'a>>>);

struct RowsVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for RowsVisitor<'a> {
    type Value = Rows<'a>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("anything")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Rows<'a>, A::Error> {
        let mut out = Vec::new();
        while let Some(row) = seq.next_element::<L<El<'a>>>()? {
            out.push(row.0);
        }
        Ok(Rows(out))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Rows<'a>, D::Error> {
        d.deserialize_any(self)
    }
    ignore_others!(Rows<'a>);
    ignore_str!(Rows<'a>);
    ignore_map!(Rows<'a>);
}

impl<'de: 'a, 'a> Deserialize<'de> for Rows<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RowsVisitor(PhantomData))
    }
}

/// A `text` (or `title`, `label`, ...) field: a bare string or a text object.
#[derive(Debug, Default)]
enum TextF<'a> {
    #[default]
    None,
    Str(Cow<'a, str>),
    Obj(Box<TextObj<'a>>),
}

#[derive(Debug, Default)]
struct TextObj<'a> {
    ty: S<'a>,
    text: S<'a>,
    emoji: N,
}

/// The keys of the small objects ([`TextObj`], [`Flags`], [`SlackFile`]). They are read by
/// hand like [`El`] so that a repeated key wins instead of failing the message, as it does
/// when the server first parses the payload into a `serde_json::Value` (found by fuzzing).
enum SmallKey {
    Type,
    Text,
    Emoji,
    Bold,
    Italic,
    Strike,
    Code,
    Underline,
    Url,
    Id,
    Other,
}

struct SmallKeyVisitor;

impl<'de> Visitor<'de> for SmallKeyVisitor {
    type Value = SmallKey;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<SmallKey, E> {
        Ok(match v {
            "type" => SmallKey::Type,
            "text" => SmallKey::Text,
            "emoji" => SmallKey::Emoji,
            "bold" => SmallKey::Bold,
            "italic" => SmallKey::Italic,
            "strike" => SmallKey::Strike,
            "code" => SmallKey::Code,
            "underline" => SmallKey::Underline,
            "url" => SmallKey::Url,
            "id" => SmallKey::Id,
            _ => SmallKey::Other,
        })
    }
}

impl<'de> Deserialize<'de> for SmallKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(SmallKeyVisitor)
    }
}

/// Implements `Deserialize` for a small object (`TextObj<'a>` or `Flags`): each listed key
/// sets its field, the last occurrence wins, other keys are skipped.
macro_rules! small_object {
    ($ty:ident $(<$lt:lifetime>)?, $($key:ident => $field:ident),+) => {
        impl<'de: 'a, 'a> Deserialize<'de> for $ty$(<$lt>)? {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V<'a>(PhantomData<&'a ()>);
                impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
                    type Value = $ty$(<$lt>)?;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("an object")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                        let mut out = <$ty$(<$lt>)?>::default();
                        while let Some(key) = map.next_key::<SmallKey>()? {
                            match key {
                                $(SmallKey::$key => out.$field = map.next_value()?,)+
                                _ => {
                                    map.next_value::<IgnoredAny>()?;
                                }
                            }
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(V(PhantomData))
            }
        }
    };
}

small_object!(TextObj<'a>, Type => ty, Text => text, Emoji => emoji);

struct TextFVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextFVisitor<'a> {
    type Value = TextF<'a>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("anything")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<TextF<'a>, E> {
        Ok(TextF::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<TextF<'a>, E> {
        Ok(TextF::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<TextF<'a>, E> {
        Ok(TextF::Str(Cow::Owned(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TextF<'a>, A::Error> {
        TextObj::deserialize(MapAccessDeserializer::new(map)).map(|t| TextF::Obj(Box::new(t)))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<TextF<'a>, D::Error> {
        d.deserialize_any(self)
    }
    ignore_others!(TextF<'a>);
    ignore_seq!(TextF<'a>);
}

impl<'de: 'a, 'a> Deserialize<'de> for TextF<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextFVisitor(PhantomData))
    }
}

impl TextF<'_> {
    /// The text, whatever the shape.
    fn text(&self) -> Option<&str> {
        match self {
            TextF::None => None,
            TextF::Str(s) => Some(s),
            TextF::Obj(o) => o.text.get(),
        }
    }
    fn is_plain(&self) -> bool {
        matches!(self, TextF::Obj(o) if o.ty.get() == Some("plain_text"))
    }
}

/// `style`: a name on lists and buttons, an object of flags on rich text.
#[derive(Debug, Default)]
enum StyleF<'a> {
    #[default]
    None,
    Name(Cow<'a, str>),
    Flags(Flags),
}

#[derive(Debug, Default)]
struct Flags {
    bold: B,
    italic: B,
    strike: B,
    code: B,
    underline: B,
}

impl<'de> Deserialize<'de> for Flags {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flags;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("style flags")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Flags, A::Error> {
                let mut out = Flags::default();
                while let Some(key) = map.next_key::<SmallKey>()? {
                    match key {
                        SmallKey::Bold => out.bold = map.next_value()?,
                        SmallKey::Italic => out.italic = map.next_value()?,
                        SmallKey::Strike => out.strike = map.next_value()?,
                        SmallKey::Code => out.code = map.next_value()?,
                        SmallKey::Underline => out.underline = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

/// A flag: `true`, or a non-zero number; anything else is off.
#[derive(Debug, Default, Clone, Copy)]
struct B(bool);

struct BVisitor;

impl<'de> Visitor<'de> for BVisitor {
    type Value = B;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("anything")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<B, E> {
        Ok(B(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<B, E> {
        Ok(B(v != 0))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<B, E> {
        Ok(B(v != 0))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<B, E> {
        Ok(B(v != 0.0))
    }
    fn visit_unit<E: de::Error>(self) -> Result<B, E> {
        Ok(B(false))
    }
    fn visit_none<E: de::Error>(self) -> Result<B, E> {
        Ok(B(false))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<B, D::Error> {
        d.deserialize_any(self)
    }
    ignore_str!(B);
    ignore_seq!(B);
    ignore_map!(B);
}

impl<'de> Deserialize<'de> for B {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BVisitor)
    }
}

struct StyleVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for StyleVisitor<'a> {
    type Value = StyleF<'a>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("anything")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<StyleF<'a>, E> {
        Ok(StyleF::Name(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<StyleF<'a>, E> {
        Ok(StyleF::Name(Cow::Owned(v.to_string())))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StyleF<'a>, A::Error> {
        Flags::deserialize(MapAccessDeserializer::new(map)).map(StyleF::Flags)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<StyleF<'a>, D::Error> {
        d.deserialize_any(self)
    }
    ignore_others!(StyleF<'a>);
    ignore_seq!(StyleF<'a>);
}

impl<'de: 'a, 'a> Deserialize<'de> for StyleF<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StyleVisitor(PhantomData))
    }
}

impl StyleF<'_> {
    fn marks(&self) -> Marks {
        let on = |b: B| b.0;
        match self {
            StyleF::Flags(f) => Marks {
                bold: on(f.bold),
                italic: on(f.italic),
                strike: on(f.strike),
                code: on(f.code),
                underline: on(f.underline),
                link: None,
            },
            _ => Marks::default(),
        }
    }
    fn name(&self) -> Option<&str> {
        match self {
            StyleF::Name(n) => Some(n),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
struct SlackFile<'a> {
    url: S<'a>,
    id: S<'a>,
}

small_object!(SlackFile<'a>, Url => url, Id => id);

/// Any element: rich text elements, text objects in `fields`, interactive elements, images,
/// table cells, attachment fields. Kept small (the common fields inline, the rare ones boxed)
/// because a message holds many and each is moved a few times while parsing; read by hand so
/// that a repeated key simply wins instead of failing the message.
#[derive(Debug, Default)]
struct El<'a> {
    ty: S<'a>,
    text: TextF<'a>,
    style: StyleF<'a>,
    elements: L<El<'a>>,
    url: S<'a>,
    /// `user_id`, `usergroup_id`, `channel_id` or `team_id`: the element type says which.
    id: S<'a>,
    name: S<'a>,
    more: Option<Box<ElMore<'a>>>,
}

#[derive(Debug, Default)]
struct ElMore<'a> {
    unicode: S<'a>,
    skin_tone: N,
    range: S<'a>,
    timestamp: N,
    format: S<'a>,
    fallback: S<'a>,
    value: S<'a>,
    title: TextF<'a>,
    indent: N,
    offset: N,
    border: N,
    image_url: S<'a>,
    alt_text: S<'a>,
    slack_file: O<SlackFile<'a>>,
    placeholder: TextF<'a>,
    initial_date: S<'a>,
    initial_time: S<'a>,
}

static NO_MORE: ElMore<'static> = ElMore {
    unicode: S(None),
    skin_tone: N(None),
    range: S(None),
    timestamp: N(None),
    format: S(None),
    fallback: S(None),
    value: S(None),
    title: TextF::None,
    indent: N(None),
    offset: N(None),
    border: N(None),
    image_url: S(None),
    alt_text: S(None),
    slack_file: O(None),
    placeholder: TextF::None,
    initial_date: S(None),
    initial_time: S(None),
};

impl<'a> El<'a> {
    /// The rarely present fields (all absent when the element had none of them).
    fn m(&self) -> &ElMore<'a> {
        self.more.as_deref().unwrap_or(&NO_MORE)
    }
    fn more_mut(&mut self) -> &mut ElMore<'a> {
        self.more.get_or_insert_with(Box::default)
    }
}

/// The keys of [`El`] we read; everything else is skipped.
enum ElKey {
    Type,
    Text,
    Style,
    Elements,
    Url,
    Id,
    Name,
    Unicode,
    SkinTone,
    Range,
    Timestamp,
    Format,
    Fallback,
    Value,
    Title,
    Indent,
    Offset,
    Border,
    ImageUrl,
    AltText,
    SlackFile,
    Placeholder,
    InitialDate,
    InitialTime,
    Other,
}

struct ElKeyVisitor;

impl<'de> Visitor<'de> for ElKeyVisitor {
    type Value = ElKey;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<ElKey, E> {
        Ok(match v {
            "type" => ElKey::Type,
            "text" => ElKey::Text,
            "style" => ElKey::Style,
            "elements" => ElKey::Elements,
            "url" => ElKey::Url,
            "user_id" | "usergroup_id" | "channel_id" | "team_id" => ElKey::Id,
            "name" => ElKey::Name,
            "unicode" => ElKey::Unicode,
            "skin_tone" => ElKey::SkinTone,
            "range" => ElKey::Range,
            "timestamp" => ElKey::Timestamp,
            "format" => ElKey::Format,
            "fallback" => ElKey::Fallback,
            "value" => ElKey::Value,
            "title" => ElKey::Title,
            "indent" => ElKey::Indent,
            "offset" => ElKey::Offset,
            "border" => ElKey::Border,
            "image_url" => ElKey::ImageUrl,
            "alt_text" => ElKey::AltText,
            "slack_file" => ElKey::SlackFile,
            "placeholder" => ElKey::Placeholder,
            "initial_date" => ElKey::InitialDate,
            "initial_time" => ElKey::InitialTime,
            _ => ElKey::Other,
        })
    }
}

impl<'de> Deserialize<'de> for ElKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(ElKeyVisitor)
    }
}

struct ElVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ElVisitor<'a> {
    type Value = El<'a>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an element object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<El<'a>, A::Error> {
        let mut el = El::default();
        while let Some(key) = map.next_key::<ElKey>()? {
            match key {
                ElKey::Type => el.ty = map.next_value()?,
                ElKey::Text => el.text = map.next_value()?,
                ElKey::Style => el.style = map.next_value()?,
                ElKey::Elements => el.elements = map.next_value()?,
                ElKey::Url => el.url = map.next_value()?,
                ElKey::Id => el.id = map.next_value()?,
                ElKey::Name => el.name = map.next_value()?,
                ElKey::Unicode => el.more_mut().unicode = map.next_value()?,
                ElKey::SkinTone => el.more_mut().skin_tone = map.next_value()?,
                ElKey::Range => el.more_mut().range = map.next_value()?,
                ElKey::Timestamp => el.more_mut().timestamp = map.next_value()?,
                ElKey::Format => el.more_mut().format = map.next_value()?,
                ElKey::Fallback => el.more_mut().fallback = map.next_value()?,
                ElKey::Value => el.more_mut().value = map.next_value()?,
                ElKey::Title => el.more_mut().title = map.next_value()?,
                ElKey::Indent => el.more_mut().indent = map.next_value()?,
                ElKey::Offset => el.more_mut().offset = map.next_value()?,
                ElKey::Border => el.more_mut().border = map.next_value()?,
                ElKey::ImageUrl => el.more_mut().image_url = map.next_value()?,
                ElKey::AltText => el.more_mut().alt_text = map.next_value()?,
                ElKey::SlackFile => el.more_mut().slack_file = map.next_value()?,
                ElKey::Placeholder => el.more_mut().placeholder = map.next_value()?,
                ElKey::InitialDate => el.more_mut().initial_date = map.next_value()?,
                ElKey::InitialTime => el.more_mut().initial_time = map.next_value()?,
                ElKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(el)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for El<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ElVisitor(PhantomData))
    }
}

/// A message, envelope, attachment or block: the shapes that can stand at the top level.
/// Like [`El`], the common fields inline and the rare ones boxed, read by hand.
#[derive(Debug, Default)]
struct Msg<'a> {
    ty: S<'a>,
    text: TextF<'a>,
    blocks: L<Box<Msg<'a>>>,
    attachments: L<Box<Msg<'a>>>,
    elements: L<El<'a>>,
    fields: L<El<'a>>,
    accessory: O<Box<El<'a>>>,
    event: O<Box<Msg<'a>>>,
    payload: O<Box<Msg<'a>>>,
    message: O<Box<Msg<'a>>>,
    more: Option<Box<MsgMore<'a>>>,
}

#[derive(Debug, Default)]
struct MsgMore<'a> {
    image_url: S<'a>,
    alt_text: S<'a>,
    title: TextF<'a>,
    title_url: S<'a>,
    title_link: S<'a>,
    slack_file: O<SlackFile<'a>>,
    rows: Rows<'a>,
    label: TextF<'a>,
    element: O<Box<El<'a>>>,
    video_url: S<'a>,
    description: TextF<'a>,
    author_name: S<'a>,
    author_link: S<'a>,
    external_id: S<'a>,
    file_id: S<'a>,
    fallback: S<'a>,
    color: S<'a>,
    pretext: S<'a>,
    footer: S<'a>,
    ts: N,
    envelope_id: S<'a>,
    /// A message's uploads (`files`, subtype `file_share`), and the keys of one file.
    files: L<Box<Msg<'a>>>,
    name: S<'a>,
    permalink: S<'a>,
    url_private: S<'a>,
    mimetype: S<'a>,
    mode: S<'a>,
}

static NO_MSG_MORE: MsgMore<'static> = MsgMore {
    image_url: S(None),
    alt_text: S(None),
    title: TextF::None,
    title_url: S(None),
    title_link: S(None),
    slack_file: O(None),
    rows: Rows(Vec::new()),
    label: TextF::None,
    element: O(None),
    video_url: S(None),
    description: TextF::None,
    author_name: S(None),
    author_link: S(None),
    external_id: S(None),
    file_id: S(None),
    fallback: S(None),
    color: S(None),
    pretext: S(None),
    footer: S(None),
    ts: N(None),
    envelope_id: S(None),
    files: L(Vec::new()),
    name: S(None),
    permalink: S(None),
    url_private: S(None),
    mimetype: S(None),
    mode: S(None),
};

impl<'a> Msg<'a> {
    fn m(&self) -> &MsgMore<'a> {
        self.more.as_deref().unwrap_or(&NO_MSG_MORE)
    }
    fn more_mut(&mut self) -> &mut MsgMore<'a> {
        self.more.get_or_insert_with(Box::default)
    }
}

enum MsgKey {
    Ty,
    Text,
    Blocks,
    Attachments,
    Elements,
    Fields,
    Accessory,
    Event,
    Payload,
    Message,
    ImageUrl,
    AltText,
    Title,
    TitleUrl,
    TitleLink,
    SlackFile,
    Rows,
    Label,
    Element,
    VideoUrl,
    Description,
    AuthorName,
    AuthorLink,
    ExternalId,
    FileId,
    Fallback,
    Color,
    Pretext,
    Footer,
    Ts,
    EnvelopeId,
    Files,
    Name,
    Permalink,
    UrlPrivate,
    Mimetype,
    Mode,
    Other,
}

struct MsgKeyVisitor;

impl<'de> Visitor<'de> for MsgKeyVisitor {
    type Value = MsgKey;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<MsgKey, E> {
        Ok(match v {
            "type" => MsgKey::Ty,
            "text" => MsgKey::Text,
            "blocks" => MsgKey::Blocks,
            "attachments" => MsgKey::Attachments,
            "elements" => MsgKey::Elements,
            "fields" => MsgKey::Fields,
            "accessory" => MsgKey::Accessory,
            "event" => MsgKey::Event,
            "payload" => MsgKey::Payload,
            "message" => MsgKey::Message,
            "image_url" => MsgKey::ImageUrl,
            "alt_text" => MsgKey::AltText,
            "title" => MsgKey::Title,
            "title_url" => MsgKey::TitleUrl,
            "title_link" => MsgKey::TitleLink,
            "slack_file" => MsgKey::SlackFile,
            "rows" => MsgKey::Rows,
            "label" => MsgKey::Label,
            "element" => MsgKey::Element,
            "video_url" => MsgKey::VideoUrl,
            "description" => MsgKey::Description,
            "author_name" => MsgKey::AuthorName,
            "author_link" => MsgKey::AuthorLink,
            "external_id" => MsgKey::ExternalId,
            "file_id" => MsgKey::FileId,
            "fallback" => MsgKey::Fallback,
            "color" => MsgKey::Color,
            "pretext" => MsgKey::Pretext,
            "footer" => MsgKey::Footer,
            "ts" => MsgKey::Ts,
            "envelope_id" => MsgKey::EnvelopeId,
            "files" => MsgKey::Files,
            "name" => MsgKey::Name,
            "permalink" => MsgKey::Permalink,
            "url_private" => MsgKey::UrlPrivate,
            "mimetype" => MsgKey::Mimetype,
            "mode" => MsgKey::Mode,
            _ => MsgKey::Other,
        })
    }
}

impl<'de> Deserialize<'de> for MsgKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(MsgKeyVisitor)
    }
}

struct MsgVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for MsgVisitor<'a> {
    type Value = Msg<'a>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Block Kit object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Msg<'a>, A::Error> {
        let mut msg = Msg::default();
        while let Some(key) = map.next_key::<MsgKey>()? {
            match key {
                MsgKey::Ty => msg.ty = map.next_value()?,
                MsgKey::Text => msg.text = map.next_value()?,
                MsgKey::Blocks => msg.blocks = map.next_value()?,
                MsgKey::Attachments => msg.attachments = map.next_value()?,
                MsgKey::Elements => msg.elements = map.next_value()?,
                MsgKey::Fields => msg.fields = map.next_value()?,
                MsgKey::Accessory => msg.accessory = map.next_value()?,
                MsgKey::Event => msg.event = map.next_value()?,
                MsgKey::Payload => msg.payload = map.next_value()?,
                MsgKey::Message => msg.message = map.next_value()?,
                MsgKey::ImageUrl => msg.more_mut().image_url = map.next_value()?,
                MsgKey::AltText => msg.more_mut().alt_text = map.next_value()?,
                MsgKey::Title => msg.more_mut().title = map.next_value()?,
                MsgKey::TitleUrl => msg.more_mut().title_url = map.next_value()?,
                MsgKey::TitleLink => msg.more_mut().title_link = map.next_value()?,
                MsgKey::SlackFile => msg.more_mut().slack_file = map.next_value()?,
                MsgKey::Rows => msg.more_mut().rows = map.next_value()?,
                MsgKey::Label => msg.more_mut().label = map.next_value()?,
                MsgKey::Element => msg.more_mut().element = map.next_value()?,
                MsgKey::VideoUrl => msg.more_mut().video_url = map.next_value()?,
                MsgKey::Description => msg.more_mut().description = map.next_value()?,
                MsgKey::AuthorName => msg.more_mut().author_name = map.next_value()?,
                MsgKey::AuthorLink => msg.more_mut().author_link = map.next_value()?,
                MsgKey::ExternalId => msg.more_mut().external_id = map.next_value()?,
                MsgKey::FileId => msg.more_mut().file_id = map.next_value()?,
                MsgKey::Fallback => msg.more_mut().fallback = map.next_value()?,
                MsgKey::Color => msg.more_mut().color = map.next_value()?,
                MsgKey::Pretext => msg.more_mut().pretext = map.next_value()?,
                MsgKey::Footer => msg.more_mut().footer = map.next_value()?,
                MsgKey::Ts => msg.more_mut().ts = map.next_value()?,
                MsgKey::EnvelopeId => msg.more_mut().envelope_id = map.next_value()?,
                MsgKey::Files => msg.more_mut().files = map.next_value()?,
                MsgKey::Name => msg.more_mut().name = map.next_value()?,
                MsgKey::Permalink => msg.more_mut().permalink = map.next_value()?,
                MsgKey::UrlPrivate => msg.more_mut().url_private = map.next_value()?,
                MsgKey::Mimetype => msg.more_mut().mimetype = map.next_value()?,
                MsgKey::Mode => msg.more_mut().mode = map.next_value()?,
                MsgKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(msg)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Msg<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(MsgVisitor(PhantomData))
    }
}

/// The top level: an object, an array, or something that is neither.
enum Top<'a> {
    Obj(Box<Msg<'a>>),
    // Boxed: a Msg is large, and the parser moves each item a few times before it lands.
    #[allow(clippy::vec_box)]
    Arr(Vec<Box<Msg<'a>>>),
    Other(&'static str),
}

struct TopVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TopVisitor<'a> {
    type Value = Top<'a>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Block Kit object or array")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Top<'a>, A::Error> {
        Msg::deserialize(MapAccessDeserializer::new(map)).map(|m| Top::Obj(Box::new(m)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Top<'a>, A::Error> {
        LVisitor(PhantomData).visit_seq(seq).map(|l: L<Box<Msg<'a>>>| Top::Arr(l.0))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Top<'a>, E> {
        Ok(Top::Other("a string"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Top<'a>, E> {
        Ok(Top::Other("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Top<'a>, E> {
        Ok(Top::Other("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Top<'a>, E> {
        Ok(Top::Other("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Top<'a>, E> {
        Ok(Top::Other("a number"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Top<'a>, E> {
        Ok(Top::Other("null"))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Top<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TopVisitor(PhantomData))
    }
}

// ---------------------------------------------------------------------------------------------
// Classification of the top level

fn convert_top(top: &Top<'_>, resolver: &dyn EntityResolver) -> Result<Doc, ConvertError> {
    let mut cx = Cx { resolver, out: Vec::new(), scratch: Vec::new() };
    match top {
        Top::Other(what) => {
            return Err(ConvertError::shape(
                "$",
                format!(
                    "expected a Block Kit message, block, array of blocks, attachment or envelope, found {what}"
                ),
            ));
        }
        Top::Arr(items) => {
            for item in items {
                cx.any(item);
            }
        }
        Top::Obj(m) => {
            if !cx.any(m) {
                return Err(ConvertError::shape(
                    "$",
                    "not a Block Kit shape: expected `blocks`, `text`, `attachments`, a block `type`, \
                     an attachment, or an `event`/`payload` envelope",
                ));
            }
        }
    }
    Ok(Doc::new(cx.out))
}

fn is_attachment(m: &Msg<'_>) -> bool {
    m.m().fallback.get().is_some()
        || m.m().pretext.get().is_some()
        || !m.fields.0.is_empty()
        || m.m().color.get().is_some()
        || m.m().title_link.get().is_some()
        || m.m().author_name.get().is_some()
        || m.m().footer.get().is_some()
        || (m.ty.get().is_none() && (m.m().title.text().is_some() || m.m().image_url.get().is_some()))
}

struct Cx<'r> {
    resolver: &'r dyn EntityResolver,
    out: Vec<Block>,
    /// Reused by `section` for the inline nodes of one element.
    scratch: Vec<Inline>,
}

impl Cx<'_> {
    /// Converts any top-level object; false when it is no recognised shape.
    fn any(&mut self, m: &Msg<'_>) -> bool {
        if let Some(event) = &m.event.0 {
            return self.any(event);
        }
        if let Some(payload) = &m.payload.0 {
            return self.any(payload);
        }
        if m.m().envelope_id.get().is_some() {
            return true; // a Socket Mode envelope without a payload (e.g. a hello): nothing to show
        }
        let ty = m.ty.get();
        if matches!(ty, Some("message") | Some("app_mention") | None) || !m.blocks.0.is_empty() {
            if ty.is_none() && m.blocks.0.is_empty() && is_attachment(m) {
                self.attachment(m);
                return true;
            }
            if ty.is_none()
                && m.blocks.0.is_empty()
                && m.attachments.0.is_empty()
                && m.text.text().is_none()
                && m.message.0.is_none()
            {
                return false;
            }
            self.message(m);
            return true;
        }
        self.block(m);
        true
    }

    fn message(&mut self, m: &Msg<'_>) {
        // An edit (`message_changed`) carries the new message inside.
        if let Some(inner) = &m.message.0 {
            self.message(inner);
            return;
        }
        if m.blocks.0.is_empty() {
            // Without blocks the text is the message (mrkdwn); with them it is only the
            // notification fallback.
            if let Some(text) = m.text.text() {
                mrkdwn::parse_blocks(text, self.resolver, &mut self.out);
            }
        } else {
            for b in &m.blocks.0 {
                self.block(b);
            }
        }
        for a in &m.attachments.0 {
            self.attachment(a);
        }
        for f in &m.m().files.0 {
            self.file(f);
        }
    }

    /// One upload of a message (`files`): a line naming it, linked to its Slack page, so the
    /// agent knows a screenshot or log came with the message and where to open it.
    fn file(&mut self, f: &Msg<'_>) {
        let m = f.m();
        let name = m.title.text().filter(|t| !t.trim().is_empty()).or_else(|| m.name.nonempty());
        let mut label = match name {
            Some(n) => n.to_string(),
            // Files beyond a free workspace's history limit arrive without any detail.
            None if m.mode.nonempty() == Some("hidden_by_limit") => {
                "a file hidden by Slack's plan limit".into()
            }
            None => "a file".into(),
        };
        if let Some(mime) = m.mimetype.nonempty() {
            label.push_str(&format!(" ({mime})"));
        }
        let link = m.permalink.nonempty().or_else(|| m.url_private.nonempty()).map(str::to_string);
        let marks = Marks { link, ..Marks::default() };
        self.out
            .push(Block::Paragraph(vec![Inline::text("📎 ", Marks::default()), Inline::text(label, marks)]));
    }

    /// Legacy attachment: pretext above, the body in a quote (Slack draws a coloured bar; the
    /// colour itself is dropped because colours only come from our theme).
    fn attachment(&mut self, a: &Msg<'_>) {
        if let Some(pre) = a.m().pretext.nonempty() {
            mrkdwn::parse_blocks(pre, self.resolver, &mut self.out);
        }
        let outer = std::mem::take(&mut self.out);
        if let Some(author) = a.m().author_name.nonempty() {
            let marks = Marks { link: a.m().author_link.nonempty().map(str::to_string), ..Marks::default() };
            self.out.push(Block::Paragraph(vec![Inline::text(decode(author), marks)]));
        }
        if let Some(title) = a.m().title.text().filter(|t| !t.is_empty()) {
            let link = a.m().title_link.nonempty().map(str::to_string);
            let marks = Marks { bold: true, link, ..Marks::default() };
            self.out.push(Block::Paragraph(vec![Inline::text(decode(title), marks)]));
        }
        if let Some(text) = a.text.text() {
            mrkdwn::parse_blocks(text, self.resolver, &mut self.out);
        }
        for f in &a.fields.0 {
            let mut inl = Vec::new();
            if let Some(t) = f.m().title.text().filter(|t| !t.is_empty()) {
                inl.push(Inline::text(decode(t), Marks { bold: true, ..Marks::default() }));
            }
            let value = f.m().value.get().or_else(|| f.text.text()).unwrap_or("");
            if !value.is_empty() {
                if !inl.is_empty() {
                    inl.push(Inline::HardBreak);
                }
                mrkdwn::parse_inline(value, &Marks::default(), self.resolver, &mut inl);
            }
            if !inl.is_empty() {
                self.out.push(Block::Paragraph(inl));
            }
        }
        for b in &a.blocks.0 {
            self.block(b);
        }
        if let Some(url) = a.m().image_url.nonempty() {
            self.out.push(Block::Image { src: url.to_string(), alt: None, title: None });
        }
        let mut footer = Vec::new();
        if let Some(f) = a.m().footer.nonempty() {
            mrkdwn::parse_inline(f, &Marks::default(), self.resolver, &mut footer);
        }
        if let Some(ts) = a.m().ts.0 {
            if !footer.is_empty() {
                footer.push(Inline::plain(" · "));
            }
            footer.push(Inline::plain(date::render(Some(ts), Some("{date_short} {time}"), None)));
        }
        if !footer.is_empty() {
            self.out.push(Block::Paragraph(footer));
        }
        if self.out.is_empty()
            && let Some(fb) = a.m().fallback.nonempty()
        {
            self.out.push(Block::Paragraph(plain_inlines(fb)));
        }
        let body = std::mem::replace(&mut self.out, outer);
        if !body.is_empty() {
            self.out.push(Block::Blockquote(body));
        }
    }

    fn text_obj(&mut self, t: &TextF<'_>) {
        match t {
            TextF::None => {}
            TextF::Obj(o) if o.ty.get() == Some("plain_text") => {
                if let Some(s) = o.text.get() {
                    plain_blocks(s, o.emoji.0 != Some(0.0), &mut self.out);
                }
            }
            _ => {
                if let Some(s) = t.text() {
                    mrkdwn::parse_blocks(s, self.resolver, &mut self.out);
                }
            }
        }
    }

    /// A text object as inline content (context elements, labels).
    fn text_inline(&self, t: &TextF<'_>, out: &mut Vec<Inline>) {
        let Some(s) = t.text() else { return };
        if t.is_plain() {
            out.extend(plain_inlines(s));
        } else {
            mrkdwn::parse_inline(s, &Marks::default(), self.resolver, out);
        }
    }

    fn block(&mut self, b: &Msg<'_>) {
        match b.ty.get().unwrap_or("") {
            "section" => {
                self.text_obj(&b.text);
                for f in &b.fields.0 {
                    self.text_obj(&f.text);
                }
                if let Some(acc) = &b.accessory.0 {
                    self.accessory(acc);
                }
            }
            "header" => {
                let mut content = Vec::new();
                if let Some(t) = b.text.text() {
                    let emoji_on = !matches!(&b.text, TextF::Obj(o) if o.emoji.0 == Some(0.0));
                    content = if emoji_on { plain_inlines(&replace_shortcodes(t)) } else { plain_inlines(t) };
                }
                self.out.push(Block::Heading { level: 2, content });
            }
            "divider" => self.out.push(Block::HorizontalRule),
            "context" => {
                let mut inl: Vec<Inline> = Vec::new();
                for el in &b.elements.0 {
                    let mut part = Vec::new();
                    if el.ty.get() == Some("image") {
                        if let Some(alt) = el.m().alt_text.nonempty() {
                            part.push(Inline::plain(alt));
                        }
                    } else {
                        self.text_inline(&el.text, &mut part);
                    }
                    if !part.is_empty() {
                        if !inl.is_empty() {
                            inl.push(Inline::plain(" "));
                        }
                        inl.append(&mut part);
                    }
                }
                if !inl.is_empty() {
                    self.out.push(Block::Paragraph(inl));
                }
            }
            "image" => {
                self.image(b.m().image_url.get(), &b.m().slack_file, b.m().alt_text.get(), b.m().title.text())
            }
            "rich_text" => self.rich_text(&b.elements.0),
            "markdown" => {
                if let Some(t) = b.text.text() {
                    self.out.extend(markdown::parse_blocks(t));
                }
            }
            "table" => self.table(&b.m().rows.0),
            "video" => {
                let title = b.m().title.text().filter(|t| !t.is_empty()).unwrap_or("Video");
                let href = b.m().title_url.nonempty().or(b.m().video_url.nonempty()).map(str::to_string);
                let mut inl =
                    vec![Inline::plain("▶ "), Inline::text(title, Marks { link: href, ..Marks::default() })];
                if let Some(d) = b.m().description.text().filter(|d| !d.is_empty()) {
                    inl.push(Inline::HardBreak);
                    inl.extend(plain_inlines(d));
                }
                self.out.push(Block::Paragraph(inl));
            }
            "file" => {
                let id = b.m().external_id.nonempty().or(b.m().file_id.nonempty()).unwrap_or("");
                let text = if id.is_empty() { "[file]".to_string() } else { format!("[file {id}]") };
                self.out.push(Block::Paragraph(vec![Inline::plain(text)]));
            }
            "actions" => {
                let mut inl = Vec::new();
                for el in &b.elements.0 {
                    if let Some(mut s) = self.summary(el) {
                        if !inl.is_empty() {
                            inl.push(Inline::plain(" "));
                        }
                        inl.append(&mut s);
                    }
                }
                if !inl.is_empty() {
                    self.out.push(Block::Paragraph(inl));
                }
            }
            "input" => {
                let mut inl = Vec::new();
                self.text_inline(&b.m().label, &mut inl);
                if let Some(el) = &b.m().element.0
                    && let Some(mut s) = self.summary(el)
                {
                    if !inl.is_empty() {
                        inl.push(Inline::plain(": "));
                    }
                    inl.append(&mut s);
                }
                if !inl.is_empty() {
                    self.out.push(Block::Paragraph(inl));
                }
            }
            // Unknown block: keep any text it carries, else nothing.
            _ => {
                self.text_obj(&b.text);
                for f in &b.fields.0 {
                    self.text_obj(&f.text);
                }
            }
        }
    }

    fn image(&mut self, url: Option<&str>, file: &O<SlackFile<'_>>, alt: Option<&str>, title: Option<&str>) {
        let src = url.filter(|u| !u.is_empty()).or_else(|| file.0.as_ref().and_then(|f| f.url.nonempty()));
        let alt = alt.filter(|a| !a.is_empty()).map(str::to_string);
        let title = title.filter(|t| !t.is_empty()).map(str::to_string);
        match src {
            Some(src) => self.out.push(Block::Image { src: src.to_string(), alt, title }),
            // A Slack file by id only cannot be shown outside Slack: say what it was.
            None => {
                let id = file.0.as_ref().and_then(|f| f.id.nonempty()).map(|id| format!("Slack file {id}"));
                let what = alt.or(title).or(id).unwrap_or_else(|| "Slack file".to_string());
                self.out.push(Block::Paragraph(vec![Inline::plain(format!("[image: {what}]"))]));
            }
        }
    }

    fn accessory(&mut self, el: &El<'_>) {
        if el.ty.get() == Some("image") {
            self.image(el.m().image_url.get(), &el.m().slack_file, el.m().alt_text.get(), None);
        } else if let Some(inl) = self.summary(el) {
            self.out.push(Block::Paragraph(inl));
        }
    }

    /// A short readable stand-in for an interactive element, or None to drop it.
    fn summary(&self, el: &El<'_>) -> Option<Vec<Inline>> {
        let ty = el.ty.get().unwrap_or("");
        let label = el.text.text().filter(|t| !t.is_empty());
        let placeholder = el.m().placeholder.text().filter(|t| !t.is_empty());
        let text = match ty {
            "button" | "workflow_button" => format!("[{}]", label.unwrap_or("button")),
            t if t.ends_with("_select") => format!("[{} ▾]", placeholder.unwrap_or("Select")),
            "datepicker" => format!("[{}]", el.m().initial_date.nonempty().or(placeholder).unwrap_or("date")),
            "timepicker" => format!("[{}]", el.m().initial_time.nonempty().or(placeholder).unwrap_or("time")),
            "datetimepicker" => "[date and time]".to_string(),
            "plain_text_input" | "email_text_input" | "url_text_input" | "number_input"
            | "rich_text_input" => {
                format!("[{}]", placeholder.unwrap_or("text input"))
            }
            "checkboxes" => "[checkboxes]".to_string(),
            "radio_buttons" => "[options]".to_string(),
            "file_input" => "[file upload]".to_string(),
            "overflow" => return None,
            _ => format!("[{}]", label.or(placeholder)?),
        };
        let marks = Marks { link: el.url.nonempty().map(str::to_string), ..Marks::default() };
        Some(vec![Inline::text(decode(&text).into_owned(), marks)])
    }

    fn table(&mut self, rows: &[Vec<El<'_>>]) {
        let mut out_rows = Vec::with_capacity(rows.len());
        for (r, row) in rows.iter().enumerate() {
            let mut cells = Vec::with_capacity(row.len());
            for cell in row {
                let content = if cell.ty.get() == Some("rich_text") {
                    let saved = std::mem::take(&mut self.out);
                    self.rich_text(&cell.elements.0);
                    std::mem::replace(&mut self.out, saved)
                } else {
                    // raw_text and anything else with text: literal.
                    let mut blocks = Vec::new();
                    if let Some(t) = cell.text.text() {
                        plain_blocks(t, false, &mut blocks);
                    }
                    blocks
                };
                cells.push(Cell { header: r == 0, content });
            }
            out_rows.push(cells);
        }
        if !out_rows.is_empty() {
            self.out.push(Block::Table(out_rows));
        }
    }

    fn rich_text(&mut self, elements: &[El<'_>]) {
        let mut lists = ListFold::default();
        for el in elements {
            let ty = el.ty.get().unwrap_or("");
            if ty == "rich_text_list" {
                let items: Vec<ListItem> = el
                    .elements
                    .0
                    .iter()
                    .map(|section| {
                        let mut content = Vec::new();
                        self.section(&section.elements.0, &mut content);
                        ListItem { content }
                    })
                    .collect();
                lists.push(el, items, &mut self.out);
                continue;
            }
            lists.finish(&mut self.out);
            match ty {
                "rich_text_preformatted" => {
                    let mut text = String::new();
                    for e in &el.elements.0 {
                        let mut inl = Vec::new();
                        self.inline(e, &mut inl);
                        for i in inl {
                            match i {
                                Inline::Text { text: t, .. } => text.push_str(&t),
                                Inline::HardBreak => text.push('\n'),
                                Inline::Mention(m) => {
                                    text.push_str(m.kind.sigil());
                                    text.push_str(m.label.as_deref().unwrap_or(&m.id));
                                }
                            }
                        }
                    }
                    let text = text.strip_suffix('\n').unwrap_or(&text).to_string();
                    self.out.push(Block::CodeBlock { language: None, text });
                }
                "rich_text_quote" => {
                    let mut inner = Vec::new();
                    self.section(&el.elements.0, &mut inner);
                    self.out.push(Block::Blockquote(inner));
                }
                // rich_text_section and unknown containers: their inline elements.
                _ => {
                    if el.elements.0.is_empty() {
                        let mut inl = Vec::new();
                        self.inline(el, &mut inl);
                        if !inl.is_empty() {
                            self.out.push(Block::Paragraph(inl));
                        }
                    } else {
                        let mut blocks = std::mem::take(&mut self.out);
                        self.section(&el.elements.0, &mut blocks);
                        self.out = blocks;
                    }
                }
            }
        }
        lists.finish(&mut self.out);
    }

    /// Inline elements of a section: one newline is a hard break, a blank line starts a new
    /// paragraph, newlines at the start or end are dropped.
    fn section(&mut self, elements: &[El<'_>], out: &mut Vec<Block>) {
        let mut para: Vec<Inline> = Vec::with_capacity(elements.len());
        let mut pending_nl = 0usize;
        let mut scratch = std::mem::take(&mut self.scratch);
        for el in elements {
            scratch.clear();
            self.inline(el, &mut scratch);
            for inline in scratch.drain(..) {
                match inline {
                    Inline::HardBreak => pending_nl += 1,
                    other => {
                        if pending_nl > 0 && !para.is_empty() {
                            if pending_nl == 1 {
                                para.push(Inline::HardBreak);
                            } else {
                                out.push(Block::Paragraph(std::mem::take(&mut para)));
                            }
                        }
                        pending_nl = 0;
                        para.push(other);
                    }
                }
            }
        }
        self.scratch = scratch;
        if !para.is_empty() {
            out.push(Block::Paragraph(para));
        }
    }

    /// One inline rich text element; text newlines come out as `HardBreak`s.
    fn inline(&self, el: &El<'_>, out: &mut Vec<Inline>) {
        let ty = el.ty.get().unwrap_or("");
        match ty {
            "text" | "link" => {
                let mut marks = el.style.marks();
                let text = match (ty, el.text.text()) {
                    ("link", t) => {
                        let url = el.url.get().unwrap_or("");
                        marks.link = Some(url.to_string());
                        t.filter(|t| !t.is_empty()).unwrap_or(url)
                    }
                    (_, Some(t)) => t,
                    (_, None) => return,
                };
                push_lines(text, &marks, out);
            }
            "user" => out.push(self.mention(MentionKind::User, el.id.get())),
            "usergroup" => out.push(self.mention(MentionKind::Usergroup, el.id.get())),
            "channel" => out.push(self.mention(MentionKind::Channel, el.id.get())),
            "team" => out.push(self.mention(MentionKind::Team, el.id.get())),
            "broadcast" => {
                let range = el.m().range.nonempty().unwrap_or("here");
                out.push(Inline::Mention(Mention::new(MentionKind::Broadcast, range, None)));
            }
            "emoji" => {
                let name = el.name.get().unwrap_or("");
                let tone = el.m().skin_tone.0.map(|_| el.m().skin_tone.count() as u32);
                let text = emoji::render(name, el.m().unicode.get(), tone);
                out.push(Inline::text(text, el.style.marks()));
            }
            "date" => {
                let text = date::render(el.m().timestamp.0, el.m().format.get(), el.m().fallback.get());
                let marks = Marks { link: el.url.nonempty().map(str::to_string), ..el.style.marks() };
                out.push(Inline::text(text, marks));
            }
            "color" => {
                if let Some(v) = el.m().value.nonempty() {
                    out.push(Inline::text(v, el.style.marks()));
                }
            }
            // Unknown inline element: its text if it has one, else nothing.
            _ => {
                if let Some(t) = el.text.text() {
                    push_lines(t, &el.style.marks(), out);
                }
            }
        }
    }

    fn mention(&self, kind: MentionKind, id: Option<&str>) -> Inline {
        let id = id.unwrap_or("");
        let label = self.resolver.label(kind, id);
        Inline::Mention(Mention::new(kind, id, label))
    }
}

fn push_lines(text: &str, marks: &Marks, out: &mut Vec<Inline>) {
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push(Inline::HardBreak);
        }
        if !line.is_empty() {
            out.push(Inline::Text { text: line.to_string(), marks: marks.clone() });
        }
    }
}

/// Plain text as inline content: literal, newlines become hard breaks.
fn plain_inlines(s: &str) -> Vec<Inline> {
    let mut out = Vec::new();
    push_lines(s, &Marks::default(), &mut out);
    out
}

/// A `plain_text` object: literal (no markup), blank lines split paragraphs; with `emoji`
/// on (Slack's default) `:shortcodes:` still become emoji, as Slack shows them.
fn plain_blocks(s: &str, emoji_on: bool, out: &mut Vec<Block>) {
    let text: Cow<'_, str> =
        if emoji_on && s.contains(':') { Cow::Owned(replace_shortcodes(s)) } else { Cow::Borrowed(s) };
    for chunk in text.split("\n\n") {
        let chunk = chunk.trim_matches('\n');
        if !chunk.is_empty() {
            out.push(Block::Paragraph(plain_inlines(chunk)));
        }
    }
}

fn replace_shortcodes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(':') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || "_+-'".contains(c)));
        if let Some(e) = end
            && e > 0
            && after[e..].starts_with(':')
            && let Some(found) = emoji::lookup(&after[..e], None)
        {
            out.push_str(found);
            rest = &after[e + 1..];
            continue;
        }
        out.push(':');
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Folds Slack's flat lists into nested ones. Slack sends `[list(indent 0), list(indent 1),
/// list(indent 0, offset 2)]`; a list with a higher indent belongs inside the last item of
/// the shallower list before it, and a list at the same indent and style continues it.
#[derive(Default)]
struct ListFold {
    stack: Vec<OpenList>,
}

struct OpenList {
    indent: usize,
    ordered: bool,
    border: bool,
    start: u64,
    items: Vec<ListItem>,
}

impl OpenList {
    fn into_block(self) -> Block {
        if self.ordered {
            Block::OrderedList { start: self.start, items: self.items }
        } else {
            Block::BulletList(self.items)
        }
    }
}

impl ListFold {
    fn push(&mut self, el: &El<'_>, items: Vec<ListItem>, out: &mut Vec<Block>) {
        if items.is_empty() {
            return;
        }
        let indent = el.m().indent.count().min(MAX_LIST_INDENT);
        let ordered = el.style.name() == Some("ordered");
        let border = el.m().border.count() > 0;
        while let Some(top) = self.stack.last_mut()
            && top.indent > indent
        {
            // A list deeper than the new one but directly inside a shallower one: the new
            // list continues it at the new indent instead of becoming a sibling list.
            let parent_indent = self.stack.len().checked_sub(2).map(|i| self.stack[i].indent);
            let top = self.stack.last_mut().expect("checked above");
            if parent_indent.is_none_or(|p| p < indent) && top.ordered == ordered && top.border == border {
                top.indent = indent;
                break;
            }
            self.close_one(out);
        }
        if let Some(top) = self.stack.last_mut()
            && top.indent == indent
        {
            if top.ordered == ordered && top.border == border {
                top.items.extend(items);
                return;
            }
            self.close_one(out);
        }
        let start = el.m().offset.count() as u64 + 1;
        self.stack.push(OpenList { indent, ordered, border, start, items });
    }

    fn close_one(&mut self, out: &mut Vec<Block>) {
        let Some(list) = self.stack.pop() else { return };
        let border = list.border;
        let block = list.into_block();
        match self.stack.last_mut().and_then(|parent| parent.items.last_mut()) {
            Some(item) => item.content.push(block),
            None if border => out.push(Block::Blockquote(vec![block])),
            None => out.push(block),
        }
    }

    fn finish(&mut self, out: &mut Vec<Block>) {
        while !self.stack.is_empty() {
            self.close_one(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::richtext::{NoResolver, to_markdown};

    fn md(json: &str) -> String {
        to_markdown(&from_blockkit(json, &NoResolver).unwrap())
    }

    #[test]
    fn flat_lists_fold() {
        let json = r#"{"blocks":[{"type":"rich_text","elements":[
          {"type":"rich_text_list","style":"ordered","indent":0,"elements":[
            {"type":"rich_text_section","elements":[{"type":"text","text":"one"}]},
            {"type":"rich_text_section","elements":[{"type":"text","text":"two"}]}]},
          {"type":"rich_text_list","style":"bullet","indent":1,"elements":[
            {"type":"rich_text_section","elements":[{"type":"text","text":"two.a"}]}]},
          {"type":"rich_text_list","style":"ordered","indent":2,"elements":[
            {"type":"rich_text_section","elements":[{"type":"text","text":"deep"}]}]},
          {"type":"rich_text_list","style":"ordered","indent":0,"offset":2,"elements":[
            {"type":"rich_text_section","elements":[{"type":"text","text":"three"}]}]}
        ]}]}"#;
        assert_eq!(md(json), "1. one\n2. two\n   - two.a\n     1. deep\n3. three\n");
    }

    #[test]
    fn shapes_and_errors() {
        assert!(from_blockkit("42", &NoResolver).unwrap_err().to_string().contains("found a number"));
        assert!(from_blockkit("{}", &NoResolver).is_err());
        assert_eq!(md(r#"{"type":"divider"}"#), "---\n");
        assert_eq!(md(r#"[{"type":"header","text":{"type":"plain_text","text":"*Hi*"}}]"#), "## \\*Hi\\*\n");
        assert_eq!(md(r#"{"text":"*hi*","blocks":[]}"#), "**hi**\n");
        let e = from_blockkit(r#"{"blocks":[{"type":"section" "text":1}]}"#, &NoResolver).unwrap_err();
        assert!(e.path().is_some_and(|p| p.starts_with("$.blocks[0]")), "{e}");
    }

    #[test]
    fn accepts_text_bytes_and_values() {
        let json = r#"{"blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*hi*"}}]}"#;
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        let a = from_blockkit(json, &NoResolver).unwrap();
        assert_eq!(from_blockkit(&value, &NoResolver).unwrap(), a);
        assert_eq!(from_blockkit(json.as_bytes(), &NoResolver).unwrap(), a);
        assert_eq!(from_blockkit(&json.to_string(), &NoResolver).unwrap(), a);
        let bad: serde_json::Value = serde_json::json!({"blocks": [{"type": "divider"}], "attachments": 3});
        assert!(from_blockkit(&bad, &NoResolver).is_ok());
        assert!(from_blockkit(&serde_json::json!(7), &NoResolver).is_err());
    }

    /// Found by fuzzing: a repeated key in a text object failed the message when read from
    /// text but not from a parsed `Value` (where the last one wins). Now the last one wins in
    /// both, as it always did in blocks and elements.
    #[test]
    fn repeated_keys_win_everywhere() {
        let json = r#"[{"type":"header","text":{"type":"plain_text","text":"first","text":"second"}},
          {"type":"rich_text","elements":[{"type":"rich_text_section","elements":[
            {"type":"text","text":"x","style":{"bold":false,"bold":true}}]}]},
          {"type":"image","slack_file":{"url":"a","url":"https://b"},"alt_text":"i"}]"#;
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        let from_text = from_blockkit(json, &NoResolver).unwrap();
        assert_eq!(from_blockkit(&value, &NoResolver).unwrap(), from_text);
        assert_eq!(to_markdown(&from_text), "## second\n\n**x**\n\n![i](https://b)\n");
    }

    #[test]
    fn wrong_types_are_tolerated() {
        let json = r#"{"blocks":[{"type":"rich_text","elements":5},{"type":"section","text":[1,2],"fields":"x"},
          {"type":"rich_text","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":{"a":1},"style":7}]}]}]}"#;
        assert!(from_blockkit(json, &NoResolver).is_ok());
    }
}
