//! Output formatting shared by the subcommands: `--json` (stable snake_case), `--ndjson`
//! for lists, aligned tables with colour on a terminal, tab-separated values when piped.
//!
//! Everything that came from the server passes [`clean`] before it is printed, so a ticket
//! subject cannot move the cursor or recolour the terminal.

use std::io::{IsTerminal, Write};

use anstyle::{AnsiColor, Style};
use serde::Serialize;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::{CliError, ColorChoice, Exit};

/// `--json` / `--ndjson` on commands that print data.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct OutputArgs {
    /// Print JSON (stable snake_case keys) instead of text.
    #[arg(long, conflicts_with = "ndjson")]
    pub json: bool,
    /// Print one JSON object per line (lists only).
    #[arg(long)]
    pub ndjson: bool,
}

/// How data is printed, decided once per command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Ndjson,
    /// Aligned columns fitted to the terminal, with colour.
    Table,
    /// Tab-separated, no header, no colour, no truncation (for pipes).
    Tsv,
}

#[derive(Debug, Clone, Copy)]
pub struct Out {
    pub format: Format,
    pub color: bool,
    /// Terminal width in columns (tables only).
    pub width: usize,
    pub tty: bool,
}

impl Out {
    pub fn new(args: OutputArgs, choice: ColorChoice) -> Out {
        let tty = std::io::stdout().is_terminal();
        let format = if args.json {
            Format::Json
        } else if args.ndjson {
            Format::Ndjson
        } else if tty {
            Format::Table
        } else {
            Format::Tsv
        };
        Out { format, color: color_enabled(choice, tty), width: terminal_width(tty), tty }
    }

    pub fn human(&self) -> bool {
        matches!(self.format, Format::Table | Format::Tsv)
    }

    /// The style, or no style when colour is off.
    pub fn paint(&self, style: Style, text: &str) -> String {
        if self.color && style != Style::new() && !text.is_empty() {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }
}

/// Colour when asked for, or on a terminal unless `NO_COLOR` is set (any non-empty value).
pub fn color_enabled(choice: ColorChoice, tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

fn terminal_width(tty: bool) -> usize {
    if let Some(cols) = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<usize>().ok()).filter(|c| *c > 0)
    {
        return cols;
    }
    if tty && let Ok((cols, _)) = crossterm::terminal::size() {
        return usize::from(cols).max(20);
    }
    100
}

pub mod style {
    use super::*;
    pub const HEADER: Style = Style::new().bold();
    pub const MUTED: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::BrightBlack)));
    pub const ID: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Cyan)));
    pub const URGENT: Style = Style::new().bold().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
    pub const HIGH: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));
    pub const OK: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
    pub const WARN: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));
    pub const BAD: Style = Style::new().bold().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
    pub const NOTE: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Magenta)));
}

/// Makes untrusted text safe for a terminal: drops C0 controls (tabs and newlines become
/// spaces when `single_line`), DEL, C1 controls, ESC and bidi overrides. Covers the same
/// ground as `richtext::sanitize`, which lives on a module the CLI may not need to load.
pub fn clean(text: &str, single_line: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' if !single_line => out.push('\n'),
            '\t' | '\n' | '\r' => out.push(' '),
            '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => {}
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Truncates to `width` display columns, ending with `…` when cut.
pub fn truncate(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// A column of a table: its header, the least width it may shrink to, and whether it
/// takes the space left over (one flexible column, e.g. the subject).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub header: &'static str,
    pub min: usize,
    pub flex: bool,
    /// Widest this column gets on a terminal (the flexible column has none).
    pub max: usize,
}

impl Column {
    pub const fn new(header: &'static str, min: usize) -> Column {
        Column { header, min, flex: false, max: usize::MAX }
    }

    pub const fn max(self, max: usize) -> Column {
        Column { max, ..self }
    }

    pub const fn flex(self) -> Column {
        Column { flex: true, ..self }
    }
}

/// One cell: the plain text (already [`clean`]ed) and its style.
pub type Cell = (String, Style);

/// Renders rows as aligned columns no wider than `width` (the flexible column shrinks
/// first, then the others down to their minimums), or as TSV.
pub fn render_table(out: &Out, columns: &[Column], rows: &[Vec<Cell>]) -> String {
    let mut s = String::new();
    if out.format == Format::Tsv {
        for row in rows {
            let line: Vec<&str> = row.iter().map(|(t, _)| t.as_str()).collect();
            s.push_str(&line.join("\t"));
            s.push('\n');
        }
        return s;
    }
    let widths = fit_widths(columns, rows, out.width);
    let line = |cells: Vec<(String, Style)>| {
        let mut l = String::new();
        let last = cells.len().saturating_sub(1);
        for (i, ((text, st), w)) in cells.into_iter().zip(&widths).enumerate() {
            let t = truncate(&text, *w);
            let pad = w.saturating_sub(t.width());
            l.push_str(&out.paint(st, &t));
            if i != last {
                l.push_str(&" ".repeat(pad + 2));
            }
        }
        l.trim_end().to_owned() + "\n"
    };
    s.push_str(&line(columns.iter().map(|c| (c.header.to_owned(), style::HEADER)).collect()));
    for row in rows {
        s.push_str(&line(row.clone()));
    }
    s
}

/// Column widths that fit `total` columns including two spaces between columns.
pub fn fit_widths(columns: &[Column], rows: &[Vec<Cell>], total: usize) -> Vec<usize> {
    let mut widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let natural = rows.iter().map(|r| r.get(i).map_or(0, |(t, _)| t.width())).max().unwrap_or(0);
            natural.max(c.header.len())
        })
        .collect();
    let gaps = 2 * columns.len().saturating_sub(1);
    let sum = |w: &[usize]| w.iter().sum::<usize>() + gaps;
    // Shrink long columns to their cap first, then the flexible column, then every column
    // in turn, each to its minimum.
    for (i, c) in columns.iter().enumerate() {
        let over = sum(&widths).saturating_sub(total);
        if over > 0 && widths[i] > c.max.max(c.min) {
            widths[i] -= over.min(widths[i] - c.max.max(c.min));
        }
    }
    let order: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.flex)
        .map(|(i, _)| i)
        .chain(columns.iter().enumerate().filter(|(_, c)| !c.flex).map(|(i, _)| i).rev())
        .collect();
    for i in order {
        let over = sum(&widths).saturating_sub(total);
        if over == 0 {
            break;
        }
        let floor = columns[i].min.min(widths[i]);
        widths[i] -= over.min(widths[i] - floor);
    }
    widths
}

/// Prints a value as pretty JSON.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::new(Exit::Error, format!("cannot encode JSON: {e}")))?;
    write_stdout(&format!("{text}\n"))
}

/// Prints one compact JSON object per line.
pub fn print_ndjson<T: Serialize>(items: &[T]) -> Result<(), CliError> {
    let mut s = String::new();
    for item in items {
        s.push_str(
            &serde_json::to_string(item)
                .map_err(|e| CliError::new(Exit::Error, format!("cannot encode JSON: {e}")))?,
        );
        s.push('\n');
    }
    write_stdout(&s)
}

/// Writes to stdout; a closed pipe (`desk ... | head`) is a normal end, not an error.
pub fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(CliError::new(Exit::Error, format!("cannot write to stdout: {e}"))),
    }
}

/// A message for people, on stderr.
pub fn note(text: &str) {
    eprintln!("{text}");
}

/// `5m`, `1h05`, `3d` for a number of minutes (negative: overdue, `-5m`).
pub fn short_minutes(min: i64) -> String {
    let sign = if min < 0 { "-" } else { "" };
    let m = min.unsigned_abs();
    if m < 60 {
        format!("{sign}{m}m")
    } else if m < 24 * 60 {
        format!("{sign}{}h{:02}", m / 60, m % 60)
    } else {
        format!("{sign}{}d", m / (24 * 60))
    }
}

/// `5m ago`, `3h ago`, `2d ago` (`now` injected for tests).
pub fn ago(at: jiff::Timestamp, now: jiff::Timestamp) -> String {
    let min = (now.as_second() - at.as_second()) / 60;
    if min < 1 {
        "just now".into()
    } else if min < 60 {
        format!("{min}m ago")
    } else if min < 48 * 60 {
        format!("{}h ago", min / 60)
    } else {
        format!("{}d ago", min / (24 * 60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(format: Format, width: usize) -> Out {
        Out { format, color: false, width, tty: format == Format::Table }
    }

    const COLS: [Column; 3] =
        [Column::new("ID", 3), Column::new("SUBJECT", 8).flex(), Column::new("STATUS", 4)];

    fn rows() -> Vec<Vec<Cell>> {
        vec![
            vec![
                ("#1".into(), Style::new()),
                ("A rather long subject that will not fit".into(), Style::new()),
                ("open".into(), Style::new()),
            ],
            vec![
                ("#22".into(), Style::new()),
                ("Short".into(), Style::new()),
                ("pending".into(), Style::new()),
            ],
        ]
    }

    #[test]
    fn tables_fit_the_width_and_tsv_keeps_everything() {
        let table = render_table(&out(Format::Table, 30), &COLS, &rows());
        for line in table.lines() {
            assert!(line.width() <= 30, "{line:?} is {} wide", line.width());
        }
        insta::assert_snapshot!(table, @r"
        ID   SUBJECT           STATUS
        #1   A rather long s…  open
        #22  Short             pending
        ");
        let wide = render_table(&out(Format::Table, 200), &COLS, &rows());
        assert!(wide.contains("A rather long subject that will not fit"));
        let tsv = render_table(&out(Format::Tsv, 10), &COLS, &rows());
        assert_eq!(tsv, "#1\tA rather long subject that will not fit\topen\n#22\tShort\tpending\n");
    }

    #[test]
    fn very_narrow_terminals_shrink_every_column_to_its_minimum() {
        let w = fit_widths(&COLS, &rows(), 10);
        assert_eq!(w, vec![3, 8, 4]);
    }

    #[test]
    fn capped_columns_give_way_before_the_flexible_one() {
        let cols = [Column::new("WHO", 4).max(6), Column::new("SUBJECT", 5).flex()];
        let rows =
            vec![vec![("Somebody Long".to_string(), Style::new()), ("A subject".to_string(), Style::new())]];
        assert_eq!(fit_widths(&cols, &rows, 100), vec![13, 9], "room enough: nothing shrinks");
        assert_eq!(fit_widths(&cols, &rows, 20), vec![9, 9], "the capped column gives way first");
        assert_eq!(fit_widths(&cols, &rows, 15), vec![6, 7], "then the flexible one");
    }

    #[test]
    fn clean_strips_terminal_escapes() {
        assert_eq!(clean("a\u{1b}[31mred\u{7}\tb\u{202e}c\u{9b}d", true), "a[31mred bcd");
        assert_eq!(clean("line1\nline2\r", false), "line1\nline2 ");
    }

    #[test]
    fn truncation_counts_display_width() {
        assert_eq!(truncate("日本語テキスト", 7), "日本語…");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 1), "…");
    }

    #[test]
    fn short_times() {
        assert_eq!(short_minutes(12), "12m");
        assert_eq!(short_minutes(65), "1h05");
        assert_eq!(short_minutes(-5), "-5m");
        assert_eq!(short_minutes(3 * 24 * 60 + 7), "3d");
        let now: jiff::Timestamp = "2026-01-03T00:00:00Z".parse().unwrap();
        assert_eq!(ago("2026-01-02T23:55:00Z".parse().unwrap(), now), "5m ago");
        assert_eq!(ago("2026-01-01T00:00:00Z".parse().unwrap(), now), "2d ago");
    }

    #[test]
    fn color_choice() {
        assert!(color_enabled(ColorChoice::Always, false));
        assert!(!color_enabled(ColorChoice::Never, true));
        assert!(!color_enabled(ColorChoice::Auto, false));
    }
}
