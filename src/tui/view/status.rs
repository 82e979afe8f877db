//! The status bar: connection state, unread notifications, undo window, key hints for the
//! focused pane, and toasts (which take the hints' place while they last).

use crate::tui::app::{App, Conn, ToastLevel, UNDO_WINDOW};
use crate::tui::keymap::Action;
use crate::tui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let bar = theme.style(Role::StatusBar);
    let (conn, role) = match app.conn {
        Conn::Connecting => ("… connecting", Role::Muted),
        Conn::Live => ("● live", Role::Live),
        Conn::Reconnecting => ("◌ reconnecting", Role::SlaAtRisk),
        Conn::Offline => ("○ offline", Role::Offline),
    };
    let mut spans = vec![Span::styled(format!(" {conn} "), bar.patch(theme.style(role)))];
    let notif_role = if app.unread > 0 { Role::Accent } else { Role::Muted };
    spans.push(Span::styled(
        format!(" ✉ {} ({}) ", app.unread, app.keymap.label(Action::Notifications)),
        bar.patch(theme.style(notif_role)),
    ));
    if let Some(u) = &app.undo {
        let left = (UNDO_WINDOW - app.now.duration_since(u.at)).as_secs().max(0);
        spans.push(Span::styled(
            format!(" {} undo {} ({left}s) ", app.keymap.label(Action::Undo), u.label.to_lowercase()),
            bar.patch(theme.style(Role::Accent)),
        ));
    }
    spans.push(Span::styled("│ ", bar.patch(theme.style(Role::Muted))));
    if let Some(t) = app.toasts.back() {
        let role = if t.level == ToastLevel::Error { Role::Error } else { Role::Success };
        spans.push(Span::styled(super::clean(&t.text), bar.patch(theme.style(role))));
    } else {
        for a in app.hints() {
            spans.push(Span::styled(app.keymap.label(a), bar.patch(theme.style(Role::Key))));
            spans.push(Span::styled(format!(" {}  ", short(a)), bar));
        }
    }
    let line = Line::from(spans);
    frame.buffer_mut().set_style(area, bar);
    Paragraph::new(line).render(area, frame.buffer_mut());
}

/// The few words a hint needs.
fn short(a: Action) -> &'static str {
    match a {
        Action::Open => "open",
        Action::Filter => "filter",
        Action::AssignMe => "assign me",
        Action::SetStatus => "status",
        Action::Snooze => "snooze",
        Action::Reply => "reply",
        Action::Note => "note",
        Action::Mark => "mark",
        Action::Help => "help",
        Action::ApplyMacro => "macro",
        Action::Back => "back",
        Action::LogActivity => "log activity",
        Action::FollowUp => "follow-up",
        Action::Send => "send",
        Action::ToggleVisibility => "reply/note",
        Action::TogglePreview => "preview",
        Action::ExternalEditor => "$EDITOR",
        Action::InsertMacro => "insert macro",
        Action::CloseEditor => "close",
        other => other.name(),
    }
}
