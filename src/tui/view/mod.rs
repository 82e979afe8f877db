//! Drawing: from state only, never touching the network or the clock (the time shown is
//! `app.now`, set by the last tick). Layout: tab bar, panes, filter line, status bar; below
//! 100 columns one pane at a time.

mod body;
mod contact;
mod conversation;
mod modal;
mod queue;
mod status;

use crate::tui::app::{App, Pane};
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};
use unicode_width::UnicodeWidthStr;

pub use body::parse as parse_body;
pub use queue::render_queue_rows;

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    let filter_bar = app.filter_editing || !app.filter_text.is_empty();
    let [tabs, main, filter_area, status_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(u16::from(filter_bar)),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.buffer_mut().set_style(area, theme.style(Role::Text));
    queue::draw_tabs(frame, tabs, app, theme);
    if app.narrow() {
        draw_narrow(frame, main, app, theme);
    } else {
        draw_wide(frame, main, app, theme);
    }
    if filter_bar {
        queue::draw_filter(frame, filter_area, app, theme);
    }
    status::draw(frame, status_area, app, theme);
    if let Some(m) = &app.modal {
        modal::draw(frame, area, app, m, theme);
    }
}

fn draw_wide(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if app.open.is_none() {
        queue::draw(frame, area, app, theme);
        return;
    }
    let contact_w = if app.show_contact { 34 } else { 0 };
    let queue_w = (area.width.saturating_sub(contact_w) * 2 / 5).max(40);
    let [q, c, k] =
        Layout::horizontal([Constraint::Length(queue_w), Constraint::Min(30), Constraint::Length(contact_w)])
            .areas(area);
    queue::draw(frame, q, app, theme);
    conversation::draw(frame, c, app, theme);
    if app.show_contact {
        contact::draw(frame, k, app, theme);
    }
}

fn draw_narrow(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    match app.focus {
        Pane::Queue => queue::draw(frame, area, app, theme),
        Pane::Conversation | Pane::Editor => conversation::draw(frame, area, app, theme),
        Pane::Contact => contact::draw(frame, area, app, theme),
    }
}

/// A pane's frame: focused panes get the accent border. In the narrow layout the title says
/// which pane this is of how many, so one-at-a-time never gets lost.
fn pane_block<'a>(app: &App, pane: Pane, title: String, theme: &Theme) -> Block<'a> {
    let focused = app.focus == pane || (pane == Pane::Conversation && app.focus == Pane::Editor);
    let border = if focused { theme.style(Role::BorderFocused) } else { theme.style(Role::Border) };
    let mut title_spans = vec![Span::styled(format!(" {title} "), theme.style(Role::Title))];
    if app.narrow() {
        let panes = app.panes();
        if panes.len() > 1 {
            let pos =
                panes.iter().position(|p| *p == pane || (*p == Pane::Editor && pane == Pane::Conversation));
            let names: Vec<&str> = panes
                .iter()
                .filter(|p| **p != Pane::Editor)
                .map(|p| match p {
                    Pane::Queue => "queue",
                    Pane::Conversation | Pane::Editor => "conversation",
                    Pane::Contact => "contact",
                })
                .collect();
            let _ = pos;
            title_spans.push(Span::styled(
                format!("[{}] tab: next, q: back ", names.join(" › ")),
                theme.style(Role::Muted),
            ));
        }
    }
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(border)
        .title(Line::from(title_spans))
}

/// Pads or truncates (with `…`) to exactly `width` display columns.
/// Strips control and escape sequences from text that came from outside (DESIGN §4).
pub fn clean(s: &str) -> String {
    crate::richtext::sanitize(s).into_owned()
}

/// Text from outside is sanitised here, since every cell goes through `fit`.
pub fn fit(s: &str, width: usize) -> String {
    let clean = crate::richtext::sanitize(s);
    let s: &str = &clean;
    let w = s.width();
    if w <= width {
        let mut out = String::with_capacity(s.len() + width - w);
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', width - w));
        return out;
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + cw > width - 1 {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push('…');
    used += 1;
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2));
    let h = h.min(area.height.saturating_sub(2));
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

#[cfg(test)]
mod tests;
