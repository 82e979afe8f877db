//! The contact pane: who is asking, their account (tier, ARR, health), their other tickets
//! (Enter jumps to one), recent activities and open tasks.

use super::{clean, fit, pane_block};
use crate::model::Health;
use crate::tui::app::{App, Pane};
use crate::tui::badge::short_duration;
use crate::tui::keymap::Action;
use crate::tui::theme::{Role, Theme};
use crate::tui::when;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Paragraph, Widget, Wrap};

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let block = pane_block(app, Pane::Contact, "Contact".into(), theme);
    let inner = block.inner(area);
    block.render(area, frame.buffer_mut());
    let Some(open) = &app.open else { return };
    let Some(ctx) = app.contexts.get(&open.ticket.requester_id) else {
        Paragraph::new(Span::styled("Loading contact…", theme.style(Role::Muted)))
            .render(inner, frame.buffer_mut());
        return;
    };
    let muted = theme.style(Role::Muted);
    let text = theme.style(Role::Text);
    let heading = |s: &str| Line::from(Span::styled(s.to_string(), theme.style(Role::Accent)));
    let c = &ctx.contact;
    let mut lines = vec![Line::from(Span::styled(clean(&c.name), theme.style(Role::Title)))];
    if let Some(title) = &c.title {
        lines.push(Line::from(Span::styled(clean(title), muted)));
    }
    if let Some(email) = &c.email {
        lines.push(Line::from(Span::styled(clean(email), text)));
    }
    if let Some(a) = &ctx.account {
        lines.push(Line::default());
        lines.push(heading("Account"));
        lines.push(Line::from(vec![
            Span::styled(clean(&a.name), theme.style(Role::Title)),
            Span::styled(format!("  {}", a.tier), muted),
        ]));
        let health_role = match a.health {
            Health::Good => Role::SlaOk,
            Health::Watch => Role::SlaAtRisk,
            Health::AtRisk => Role::SlaBreached,
        };
        lines.push(Line::from(vec![
            Span::styled(format!("ARR {}  ", money(a.arr)), text),
            Span::styled(format!("health {}", a.health.as_str().replace('_', " ")), theme.style(health_role)),
        ]));
    }
    let focused = app.focus == Pane::Contact;
    lines.push(Line::default());
    lines.push(heading("Recent tickets"));
    if ctx.recent_tickets.is_empty() {
        lines.push(Line::from(Span::styled("none", muted)));
    }
    let w = inner.width as usize;
    for (i, t) in ctx.recent_tickets.iter().enumerate() {
        let sel = focused && i == app.contact_cursor;
        let line = format!("{} #{} {}", if sel { "▶" } else { " " }, t.id, t.subject);
        let style = if sel { theme.style(Role::Selection) } else { text };
        lines.push(Line::from(vec![
            Span::styled(fit(&line, w.saturating_sub(8)), style),
            Span::styled(format!(" {}", t.status.as_str().replace('_', " ")), muted),
        ]));
    }
    lines.push(Line::default());
    lines.push(heading(&format!("Activities ({} logs)", app.keymap.label(Action::LogActivity))));
    if ctx.activities.is_empty() {
        lines.push(Line::from(Span::styled("none", muted)));
    }
    for a in ctx.activities.iter().take(5) {
        lines.push(Line::from(vec![
            Span::styled(format!("{} {} ago ", a.kind, when::age(a.at, app.now)), muted),
            Span::styled(clean(&a.summary), text),
        ]));
    }
    lines.push(Line::default());
    lines.push(heading(&format!("Open tasks ({} adds)", app.keymap.label(Action::FollowUp))));
    if ctx.open_tasks.is_empty() {
        lines.push(Line::from(Span::styled("none", muted)));
    }
    for t in &ctx.open_tasks {
        let due = match t.due_at {
            Some(d) => {
                let secs = d.duration_since(app.now).as_secs();
                let role = if secs < 0 { Role::SlaBreached } else { Role::Muted };
                Span::styled(format!(" due {}", short_duration(secs)), theme.style(role))
            }
            None => Span::raw(""),
        };
        lines.push(Line::from(vec![Span::styled(format!("☐ {}", clean(&t.title)), text), due]));
    }
    Paragraph::new(Text::from(lines)).wrap(Wrap { trim: false }).render(inner, frame.buffer_mut());
}

/// `$120k`, `$1.2M`, `$950`.
fn money(v: i64) -> String {
    match v {
        v if v >= 1_000_000 => format!("${:.1}M", v as f64 / 1e6),
        v if v >= 1_000 => format!("${}k", v / 1000),
        v => format!("${v}"),
    }
}
