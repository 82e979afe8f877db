//! The one error type of the converters: it always says where the input went wrong.

use std::fmt;

/// Why an input could not be converted. `Display` names the JSON path (`blocks[3].elements[0]`)
/// and, for JSON syntax errors, also the line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConvertError {
    /// The input is not valid JSON (or is too deeply nested for the JSON parser).
    Syntax { path: String, line: usize, column: usize, message: String },
    /// Valid JSON that is not of the expected shape.
    Shape { path: String, message: String },
    /// The input is larger than [`super::MAX_INPUT_BYTES`].
    TooLarge { bytes: usize, limit: usize },
    /// Nesting deeper than [`super::MAX_DEPTH`].
    TooDeep { path: String, limit: usize },
}

impl ConvertError {
    pub(crate) fn shape(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConvertError::Shape { path: path.into(), message: message.into() }
    }

    /// A serde_json error on `input`, with the JSON path and position of the failure.
    pub fn from_json_error(input: &str, err: &serde_json::Error) -> Self {
        from_serde(input, err)
    }

    /// The JSON path the error points at (`$` for the root), when there is one.
    pub fn path(&self) -> Option<&str> {
        match self {
            ConvertError::Syntax { path, .. }
            | ConvertError::Shape { path, .. }
            | ConvertError::TooDeep { path, .. } => Some(path),
            ConvertError::TooLarge { .. } => None,
        }
    }
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConvertError::Syntax { path, line, column, message } => {
                write!(f, "invalid JSON at line {line}, column {column} (at {path}): {message}")
            }
            ConvertError::Shape { path, message } => write!(f, "at {path}: {message}"),
            ConvertError::TooLarge { bytes, limit } => {
                write!(f, "input is {bytes} bytes, more than the limit of {limit} bytes")
            }
            ConvertError::TooDeep { path, limit } => {
                write!(f, "at {path}: nested deeper than the limit of {limit} levels")
            }
        }
    }
}

impl std::error::Error for ConvertError {}

/// Turns a serde_json error on `input` into a [`ConvertError`] that names the JSON path of the
/// failing position as well as its line and column.
pub(crate) fn from_serde(input: &str, err: &serde_json::Error) -> ConvertError {
    let (line, column) = (err.line(), err.column());
    let message = strip_position(&err.to_string());
    let path = path_at(input, line, column);
    if message.contains("recursion limit") {
        return ConvertError::TooDeep { path, limit: 128 };
    }
    ConvertError::Syntax { path, line, column, message }
}

/// serde_json appends " at line L column C"; we print the position ourselves.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// The JSON path (`$.blocks[3].elements[0]`) of the value being read at `line:column` (both
/// 1-based, as serde_json reports them). A small tolerant scanner: it only tracks containers,
/// keys and array indices, so it works on the broken input that caused the error.
pub(crate) fn path_at(input: &str, line: usize, column: usize) -> String {
    let end = byte_offset(input, line, column).min(input.len());
    let bytes = &input.as_bytes()[..end];
    // Each frame: Some(key) for an object (key once read), or an array index.
    enum Frame {
        Obj(Option<String>),
        Arr(usize),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    let mut expect_key = false;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => {
                stack.push(Frame::Obj(None));
                expect_key = true;
            }
            b'[' => {
                stack.push(Frame::Arr(0));
                expect_key = false;
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
            }
            b',' => match stack.last_mut() {
                Some(Frame::Arr(n)) => *n += 1,
                Some(Frame::Obj(k)) => {
                    *k = None;
                    expect_key = true;
                }
                None => {}
            },
            b':' => expect_key = false,
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if expect_key && let Some(Frame::Obj(k)) = stack.last_mut() {
                    let raw = &bytes[start..i.min(bytes.len())];
                    *k = Some(String::from_utf8_lossy(raw).into_owned());
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::from("$");
    // Very deep input: show the first and last levels only.
    let skip = if stack.len() > 16 { (8, stack.len() - 8) } else { (usize::MAX, 0) };
    for (depth, frame) in stack.iter().enumerate() {
        if depth == skip.0 {
            path.push_str(&format!("…({} levels)…", skip.1 - skip.0));
        }
        if depth >= skip.0 && depth < skip.1 {
            continue;
        }
        match frame {
            Frame::Obj(Some(k)) => {
                path.push('.');
                path.push_str(k);
            }
            Frame::Obj(None) => {}
            Frame::Arr(n) => {
                path.push('[');
                path.push_str(&n.to_string());
                path.push(']');
            }
        }
    }
    path
}

fn byte_offset(input: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (n, l) in input.split_inclusive('\n').enumerate() {
        if n + 1 == line {
            return offset + column.saturating_sub(1).min(l.len());
        }
        offset += l.len();
    }
    input.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_of_a_syntax_error_names_blocks_and_elements() {
        let input = r#"{"blocks":[{"type":"divider"},{"type":"rich_text","elements":[{"type":"x",}]}]}"#;
        let err = serde_json::from_str::<serde_json::Value>(input).unwrap_err();
        let e = from_serde(input, &err);
        let shown = e.to_string();
        assert!(shown.contains("$.blocks[1].elements[0]"), "{shown}");
        assert!(shown.contains("line 1"), "{shown}");
    }

    #[test]
    fn path_on_later_lines() {
        let input = "{\n \"a\": [1,\n 2,\n {\"b\": tru}]}";
        let err = serde_json::from_str::<serde_json::Value>(input).unwrap_err();
        let e = from_serde(input, &err);
        assert_eq!(e.path(), Some("$.a[2].b"));
    }
}
