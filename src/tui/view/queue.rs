//! The tab bar of views and the queue list. The list is virtualised: only the rows on screen
//! are formatted, from the filtered index list computed at filter time, so drawing costs the
//! same for 100 tickets as for 100,000.

use super::{fit, pane_block};
use crate::model::{Priority, Status, Ticket};
use crate::tui::app::{App, Pane};
use crate::tui::badge::{BadgeState, badge};
use crate::tui::theme::{Role, Theme};
use crate::tui::when;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

pub fn draw_tabs(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut spans = Vec::new();
    for (i, v) in app.views.iter().enumerate().take(9) {
        let count = v.count.map(|c| format!(" {c}")).unwrap_or_default();
        let style = if i == app.view_idx { theme.style(Role::TabActive) } else { theme.style(Role::Tab) };
        spans.push(Span::styled(format!(" {} {}{} ", i + 1, super::clean(&v.name), count), style));
        spans.push(Span::raw(" "));
    }
    if app.views.is_empty() {
        spans.push(Span::styled(" loading views… ", theme.style(Role::Muted)));
    }
    Paragraph::new(Line::from(spans)).render(area, frame.buffer_mut());
    if let Some(label) = &app.workspace_label {
        let text = format!(" {label} ");
        let w = text.chars().count() as u16;
        if area.width > w + 20 {
            let r = Rect { x: area.x + area.width - w, width: w, ..area };
            Paragraph::new(Span::styled(text, theme.style(Role::Demo))).render(r, frame.buffer_mut());
        }
    }
}

pub fn draw_filter(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut spans = vec![
        Span::styled("/ ", theme.style(Role::Key)),
        Span::styled(app.filter_text.clone(), theme.style(Role::Text)),
    ];
    if app.filter_editing {
        spans.push(Span::styled("▏", theme.style(Role::Accent)));
    }
    match &app.filter_error {
        Some(e) => spans.push(Span::styled(format!("  {e}"), theme.style(Role::Error))),
        None => spans.push(Span::styled(
            format!("  {} of {}", app.visible.len(), app.tickets.len()),
            theme.style(Role::Muted),
        )),
    }
    if app.filter_editing {
        spans.push(Span::styled(
            "  (status: priority: tag: assignee:; enter keep, esc clear)",
            theme.style(Role::Muted),
        ));
    }
    Paragraph::new(Line::from(spans)).render(area, frame.buffer_mut());
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let name = app.current_view().map(|v| v.name.clone()).unwrap_or_else(|| "Queue".into());
    let loading = if app.loading { " (loading…)" } else { "" };
    let marked = if app.marks.is_empty() { String::new() } else { format!(" · {} marked", app.marks.len()) };
    let block = pane_block(app, Pane::Queue, format!("{name}{loading}{marked}"), theme);
    let inner = block.inner(area);
    block.render(area, frame.buffer_mut());
    render_queue_rows(inner, frame.buffer_mut(), app, theme);
}

struct Columns {
    /// The status badge: full words (`on hold`) when there is room, four letters otherwise.
    status: usize,
    requester: usize,
    assignee: usize,
    age: usize,
    subject: usize,
}

fn columns(width: usize) -> Columns {
    // mark 2, id 6, badge 10 (`RES -13d04`), priority 5 and the status are always there.
    let status = if width >= 80 { 8 } else { 5 };
    let fixed = 2 + 6 + 10 + 5 + status;
    let (requester, assignee, age) = match width {
        w if w >= 110 => (24, 14, 5),
        w if w >= 80 => (20, 0, 5),
        w if w >= 60 => (16, 0, 0),
        _ => (0, 0, 0),
    };
    let subject = width.saturating_sub(fixed + requester + assignee + age);
    Columns { status, requester, assignee, age, subject }
}

/// Draws the header and the visible rows into `area` straight into the buffer.
pub fn render_queue_rows(area: Rect, buf: &mut Buffer, app: &App, theme: &Theme) {
    if area.height == 0 {
        return;
    }
    let cols = columns(area.width as usize);
    let mut header = format!(
        "{}{}{}{}{}",
        fit("", 2),
        fit("id", 6),
        fit("sla", 10),
        fit("pri", 5),
        fit(if cols.status > 5 { "status" } else { "st" }, cols.status)
    );
    if cols.requester > 0 {
        header.push_str(&fit("requester · account", cols.requester));
    }
    header.push_str(&fit("subject", cols.subject));
    if cols.assignee > 0 {
        header.push_str(&fit("assignee", cols.assignee));
    }
    if cols.age > 0 {
        header.push_str(&fit("age", cols.age));
    }
    buf.set_stringn(area.x, area.y, header, area.width as usize, theme.style(Role::Muted));
    let rows = (area.height - 1) as usize;
    if app.visible.is_empty() {
        let msg = if app.loading {
            "Loading tickets…"
        } else if app.filter_text.is_empty() {
            "Nothing here. Inbox zero!"
        } else {
            "No ticket matches the filter (esc clears it)"
        };
        buf.set_stringn(
            area.x + 2,
            area.y + 2.min(area.height - 1),
            msg,
            area.width as usize,
            theme.style(Role::Muted),
        );
        return;
    }
    for (row, &idx) in app.visible.iter().skip(app.offset).take(rows).enumerate() {
        let pos = app.offset + row;
        let t = &app.tickets[idx];
        let y = area.y + 1 + row as u16;
        let selected = pos == app.cursor;
        let line = row_line(app, t, &cols, selected, theme);
        let r = Rect { x: area.x, y, width: area.width, height: 1 };
        buf.set_line(r.x, r.y, &line, r.width);
        if selected {
            let sel = theme.style(Role::Selection);
            let sel = if app.focus == Pane::Queue {
                sel
            } else {
                sel.remove_modifier(ratatui::style::Modifier::BOLD)
            };
            buf.set_style(r, sel);
        }
    }
}

/// The status in its own column, so it never reads as part of the subject. `new` (waiting
/// for a first answer) takes the accent, `open` plain text, the waiting states recede, solved
/// reads as done.
fn status_badge<'a>(status: Status, width: usize, theme: &Theme) -> Span<'a> {
    let (long, short, role) = match status {
        Status::New => ("new", "new", Role::Accent),
        Status::Open => ("open", "open", Role::Text),
        Status::Pending => ("pending", "pend", Role::Muted),
        Status::OnHold => ("on hold", "hold", Role::Muted),
        Status::Solved => ("solved", "solv", Role::Success),
        Status::Closed => ("closed", "clsd", Role::Muted),
    };
    let text = if width > 5 { long } else { short };
    Span::styled(fit(text, width), theme.style(role))
}

fn row_line<'a>(app: &App, t: &Ticket, cols: &Columns, selected: bool, theme: &Theme) -> Line<'a> {
    let marked = app.marks.contains(&t.id);
    let mark = match (marked, selected) {
        (true, _) => Span::styled("● ", theme.style(Role::Marked)),
        (false, true) => Span::styled("▶ ", theme.style(Role::Accent)),
        _ => Span::raw("  "),
    };
    let (badge_text, badge_style) = match badge(&t.sla, app.now) {
        Some(b) => {
            let role = match b.state {
                BadgeState::Ok => Role::SlaOk,
                BadgeState::AtRisk => Role::SlaAtRisk,
                BadgeState::Breached => Role::SlaBreached,
                BadgeState::Paused => Role::SlaPaused,
            };
            (b.text, theme.style(role))
        }
        None => ("—".to_string(), theme.style(Role::Muted)),
    };
    let (pri, pri_role) = match t.priority {
        Priority::Urgent => ("urg", Role::PriorityUrgent),
        Priority::High => ("high", Role::PriorityHigh),
        Priority::Normal => ("norm", Role::PriorityNormal),
        Priority::Low => ("low", Role::PriorityLow),
    };
    let mut spans = vec![
        mark,
        Span::styled(fit(&format!("#{}", t.id), 6), theme.style(Role::Muted)),
        Span::styled(fit(&badge_text, 9), badge_style),
        Span::raw(" "),
        Span::styled(fit(pri, 5), theme.style(pri_role)),
        status_badge(t.status, cols.status, theme),
    ];
    if cols.requester > 0 {
        let who = match (&t.requester_name, &t.account_name) {
            (Some(n), Some(a)) => format!("{n} · {a}"),
            (Some(n), None) => n.clone(),
            _ => format!("contact {}", t.requester_id),
        };
        spans.push(Span::styled(fit(&who, cols.requester - 1) + " ", theme.style(Role::Text)));
    }
    spans.push(Span::styled(fit(&t.subject, cols.subject.saturating_sub(1)) + " ", theme.style(Role::Text)));
    if cols.assignee > 0 {
        let who = match t.assignee_id {
            Some(id) if Some(id) == app.my_id() => "me".to_string(),
            Some(id) => app.agent_name(id).unwrap_or_else(|| format!("agent {id}")),
            None => "—".into(),
        };
        spans.push(Span::styled(fit(&who, cols.assignee), theme.style(Role::Muted)));
    }
    if cols.age > 0 {
        spans.push(Span::styled(fit(&when::age(t.created_at, app.now), cols.age), theme.style(Role::Muted)));
    }
    Line::from(spans)
}
