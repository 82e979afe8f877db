//! Overlays: pickers (assign, status, priority, macros, palette, notifications), one-line
//! inputs (tags, snooze with a live preview of the time, activity, follow-up), the macro
//! preview and the searchable help.

use super::{centered, clean, fit};
use crate::tui::app::{App, Conflict, InputKind, Modal, PickValue, conflict_rows};
use crate::tui::filter;
use crate::tui::keymap::{Action, Context};
use crate::tui::theme::{Role, Theme};
use crate::tui::when;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Widget, Wrap};

fn frame_block<'a>(title: &str, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.style(Role::BorderFocused))
        .title(Span::styled(format!(" {title} "), theme.style(Role::Title)))
        .style(theme.style(Role::Text))
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, modal: &Modal, theme: &Theme) {
    match modal {
        Modal::Picker { title, query, selected, .. } => {
            let items = modal.visible_items();
            let h = (items.len() as u16 + 4).clamp(6, 20);
            let r = centered(area, 64, h);
            Clear.render(r, frame.buffer_mut());
            let block = frame_block(title, theme);
            let inner = block.inner(r);
            block.render(r, frame.buffer_mut());
            let mut lines = vec![Line::from(vec![
                Span::styled("› ", theme.style(Role::Key)),
                Span::styled(query.clone(), theme.style(Role::Text)),
                Span::styled("▏", theme.style(Role::Accent)),
            ])];
            let rows = inner.height.saturating_sub(1) as usize;
            let start = selected.saturating_sub(rows.saturating_sub(1));
            let w = inner.width as usize;
            for (i, it) in items.iter().enumerate().skip(start).take(rows) {
                // A link's address matters more than its text: give it the wider column.
                let share = if matches!(it.value, PickValue::Link(_)) { 2 } else { 3 };
                let label_w = (w * share / 5).max(10);
                let mut line = Line::from(vec![
                    Span::styled(fit(&it.label, label_w), theme.style(Role::Text)),
                    Span::styled(fit(&it.detail, w.saturating_sub(label_w)), theme.style(Role::Muted)),
                ]);
                if i == *selected {
                    line = line.patch_style(theme.style(Role::Selection));
                }
                lines.push(line);
            }
            if items.is_empty() {
                lines.push(Line::from(Span::styled("no match", theme.style(Role::Muted))));
            }
            Paragraph::new(Text::from(lines)).render(inner, frame.buffer_mut());
        }
        Modal::Input { kind, text, error } => {
            let (title, hint) = match kind {
                InputKind::Tags => ("Tags", "billing +vip -spam   (enter apply, esc cancel)".to_string()),
                InputKind::Snooze => {
                    ("Snooze until", "2h · tomorrow 9am · fri 14:00 · next week".to_string())
                }
                InputKind::Activity(k) => ("Log activity", format!("{k}: a one-line summary")),
                InputKind::FollowUp => {
                    ("Follow-up task", "Send quote @ fri 10am   (due after @)".to_string())
                }
            };
            let r = centered(area, 64, 6);
            Clear.render(r, frame.buffer_mut());
            let block = frame_block(title, theme);
            let inner = block.inner(r);
            block.render(r, frame.buffer_mut());
            let mut lines = vec![Line::from(vec![
                Span::styled("› ", theme.style(Role::Key)),
                Span::styled(text.clone(), theme.style(Role::Text)),
                Span::styled("▏", theme.style(Role::Accent)),
            ])];
            // Live preview of the time being typed, so "fri" is never a surprise.
            let preview = match kind {
                InputKind::Snooze if !text.trim().is_empty() => Some(when::parse(text, app.now, &app.tz)),
                InputKind::FollowUp => text
                    .rsplit_once('@')
                    .filter(|(_, d)| !d.trim().is_empty())
                    .map(|(_, d)| when::parse(d, app.now, &app.tz)),
                _ => None,
            };
            let targets = app.targets().len();
            if let Some(err) = error {
                lines.push(Line::from(Span::styled(err.clone(), theme.style(Role::Error))));
            } else if let Some(p) = preview {
                lines.push(match p {
                    Ok(at) => Line::from(Span::styled(
                        format!("→ {}", when::describe(at, &app.tz)),
                        theme.style(Role::Success),
                    )),
                    Err(e) => Line::from(Span::styled(e, theme.style(Role::Muted))),
                });
            } else {
                lines.push(Line::default());
            }
            let mut foot = hint;
            if matches!(kind, InputKind::Tags | InputKind::Snooze) && targets > 1 {
                foot = format!("{foot}   · {targets} tickets");
            }
            lines.push(Line::from(Span::styled(foot, theme.style(Role::Muted))));
            Paragraph::new(Text::from(lines)).render(inner, frame.buffer_mut());
        }
        Modal::MacroPreview { name, targets, outcome, .. } => {
            let r = centered(area, 72, 16);
            Clear.render(r, frame.buffer_mut());
            let block = frame_block(&format!("Macro: {}", clean(name)), theme);
            let inner = block.inner(r);
            block.render(r, frame.buffer_mut());
            let mut lines = Vec::new();
            let ids: Vec<String> = targets.iter().map(|t| format!("#{t}")).collect();
            lines.push(Line::from(Span::styled(format!("On {}", ids.join(", ")), theme.style(Role::Muted))));
            match outcome {
                None => lines.push(Line::from(Span::styled("Previewing…", theme.style(Role::Muted)))),
                Some(o) => {
                    lines.push(Line::from(Span::styled("Changes", theme.style(Role::Accent))));
                    if o.changes.is_empty() {
                        lines.push(Line::from(Span::styled("  no field changes", theme.style(Role::Muted))));
                    }
                    for c in &o.changes {
                        lines.push(Line::from(Span::styled(
                            format!("  • {}", clean(c)),
                            theme.style(Role::Text),
                        )));
                    }
                    if let Some(reply) = &o.reply_markdown {
                        lines.push(Line::from(Span::styled("Reply", theme.style(Role::Accent))));
                        for l in super::body::markdown_lines(reply, theme, &app.labels) {
                            let mut spans = vec![Span::raw("  ")];
                            spans.extend(l.spans);
                            lines.push(Line::from(spans));
                        }
                    }
                    lines.push(Line::default());
                    lines.push(Line::from(Span::styled("enter apply · esc cancel", theme.style(Role::Key))));
                }
            }
            Paragraph::new(Text::from(lines)).wrap(Wrap { trim: false }).render(inner, frame.buffer_mut());
        }
        Modal::Help { query, scroll } => draw_help(frame, area, app, query, *scroll, theme),
        Modal::Conflict(c) => draw_conflict(frame, area, app, c, theme),
    }
}

/// Both versions side by side: the fields as they were when we started, our change, and the
/// server's version now, with what someone else changed marked.
fn draw_conflict(frame: &mut Frame, area: Rect, app: &App, c: &Conflict, theme: &Theme) {
    let rows = conflict_rows(app, c);
    let r = centered(area, 100, rows.len() as u16 + 9);
    Clear.render(r, frame.buffer_mut());
    let block = frame_block(&format!("#{} changed while you worked on it", c.id), theme);
    let inner = block.inner(r);
    block.render(r, frame.buffer_mut());
    let w = inner.width as usize;
    let col = (w.saturating_sub(10) / 3).max(8);
    let mut lines = vec![
        Line::from(Span::styled(
            format!("{} was refused: someone else changed the ticket first.", clean(&c.label)),
            theme.style(Role::Text),
        )),
        Line::default(),
        Line::from(vec![
            Span::styled(fit("", 10), theme.style(Role::Muted)),
            Span::styled(fit("when you started", col), theme.style(Role::Muted)),
            Span::styled(fit("your change", col), theme.style(Role::Muted)),
            Span::styled(fit("now on the server", col), theme.style(Role::Muted)),
        ]),
    ];
    for row in &rows {
        let mine_style = if row.ours { theme.style(Role::Success) } else { theme.style(Role::Muted) };
        let theirs = match &row.theirs {
            Some(t) => {
                let style = if row.changed { theme.style(Role::SlaAtRisk) } else { theme.style(Role::Text) };
                Span::styled(fit(&format!("{}{t}", if row.changed { "● " } else { "" }), col), style)
            }
            None => Span::styled(fit("loading…", col), theme.style(Role::Muted)),
        };
        lines.push(Line::from(vec![
            Span::styled(fit(row.field, 10), theme.style(Role::Title)),
            Span::styled(fit(&row.base, col), theme.style(Role::Muted)),
            Span::styled(fit(&row.mine, col), mine_style),
            theirs,
        ]));
    }
    lines.push(Line::default());
    let (mine_key, theirs_key) =
        (app.keymap.label(Action::ConflictReapply), app.keymap.label(Action::ConflictKeepTheirs));
    let how = match &c.theirs {
        Some(t) => format!("● changed by someone else · server version {}", t.version),
        None => "Loading the server's version…".to_string(),
    };
    lines.push(Line::from(Span::styled(how, theme.style(Role::Muted))));
    lines.push(Line::from(vec![
        Span::styled(mine_key, theme.style(Role::Key)),
        Span::styled(" apply my change on top of theirs   ", theme.style(Role::Text)),
        Span::styled(format!("{theirs_key}/esc"), theme.style(Role::Key)),
        Span::styled(" keep theirs, drop mine", theme.style(Role::Text)),
    ]));
    Paragraph::new(Text::from(lines)).render(inner, frame.buffer_mut());
}

fn draw_help(frame: &mut Frame, area: Rect, app: &App, query: &str, scroll: usize, theme: &Theme) {
    let r = centered(area, 96, area.height.saturating_sub(4).max(10));
    Clear.render(r, frame.buffer_mut());
    let block = frame_block("Keys in force (type to search, esc closes)", theme);
    let inner = block.inner(r);
    block.render(r, frame.buffer_mut());
    let ranked = filter::rank(query, Action::ALL, |a| {
        format!("{} {} {} {}", a.name(), a.description(), app.keymap.label(*a), a.context().label())
    });
    let mut lines = vec![Line::from(vec![
        Span::styled("› ", theme.style(Role::Key)),
        Span::styled(query.to_string(), theme.style(Role::Text)),
        Span::styled("▏", theme.style(Role::Accent)),
    ])];
    let w = inner.width as usize;
    let mut rows: Vec<Line> = Vec::new();
    let mut last_ctx: Option<Context> = None;
    for a in ranked {
        if query.is_empty() && last_ctx != Some(a.context()) {
            last_ctx = Some(a.context());
            rows.push(Line::from(Span::styled(
                a.context().label().to_uppercase(),
                theme.style(Role::Accent),
            )));
        }
        rows.push(Line::from(vec![
            Span::styled(fit(&app.keymap.label(*a), 18), theme.style(Role::Key)),
            Span::styled(fit(a.name(), 20), theme.style(Role::Muted)),
            Span::styled(fit(a.description(), w.saturating_sub(38)), theme.style(Role::Text)),
        ]));
    }
    let visible = inner.height.saturating_sub(1) as usize;
    let scroll = scroll.min(rows.len().saturating_sub(visible));
    lines.extend(rows.into_iter().skip(scroll).take(visible));
    Paragraph::new(Text::from(lines)).render(inner, frame.buffer_mut());
}
