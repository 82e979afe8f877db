//! The open ticket: header, banners (someone else is here; the ticket changed), the
//! conversation with internal notes visibly set apart, and the reply editor.

use super::body;
use super::{clean, pane_block};
use crate::model::{AuthorKind, PresenceState, Visibility};
use crate::tui::app::{App, Pane};
use crate::tui::theme::{Role, Theme};
use crate::tui::when;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, Widget, Wrap};

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let Some(open) = &app.open else {
        let block = pane_block(app, Pane::Conversation, "Conversation".into(), theme);
        let hint = format!(
            "Select a ticket and press {} to open it",
            app.keymap.label(crate::tui::keymap::Action::Open)
        );
        Paragraph::new(Span::styled(hint, theme.style(Role::Muted)))
            .block(block)
            .render(area, frame.buffer_mut());
        return;
    };
    let t = &open.ticket;
    let (conv_area, editor_area) = match &app.editor {
        Some(_) => {
            let h = (area.height * 2 / 5).max(8).min(area.height.saturating_sub(6));
            let [a, b] = Layout::vertical([Constraint::Min(5), Constraint::Length(h)]).areas(area);
            (a, Some(b))
        }
        None => (area, None),
    };
    let block = pane_block(app, Pane::Conversation, format!("#{} {}", t.id, clean(&t.subject)), theme);
    let inner = block.inner(conv_area);
    block.render(conv_area, frame.buffer_mut());

    let mut lines: Vec<Line> = Vec::new();
    let assignee = match t.assignee_id {
        Some(id) if Some(id) == app.my_id() => "me".to_string(),
        Some(id) => app.agent_name(id).unwrap_or_else(|| format!("agent {id}")),
        None => "unassigned".into(),
    };
    let mut meta = vec![
        Span::styled(t.status.as_str().replace('_', " "), theme.style(Role::Accent)),
        Span::styled(" · ", theme.style(Role::Muted)),
        Span::styled(t.priority.as_str(), theme.style(Role::Text)),
        Span::styled(" · ", theme.style(Role::Muted)),
        Span::styled(assignee, theme.style(Role::Text)),
        Span::styled(format!(" · {} · ", t.channel), theme.style(Role::Muted)),
        Span::styled(clean(t.requester_name.as_deref().unwrap_or_default()), theme.style(Role::Text)),
    ];
    if !t.tags.is_empty() {
        meta.push(Span::styled(format!("  #{}", clean(&t.tags.join(" #"))), theme.style(Role::Muted)));
    }
    if let Some(s) = t.snoozed_until.filter(|s| *s > app.now) {
        meta.push(Span::styled(
            format!("  snoozed until {}", when::describe(s, &app.tz)),
            theme.style(Role::Muted),
        ));
    }
    lines.push(Line::from(meta));
    for p in &open.others {
        let doing = match p.state {
            PresenceState::Viewing => "is viewing this ticket",
            PresenceState::Replying => "is replying to this ticket",
        };
        lines.push(Line::from(Span::styled(
            format!(" ⚠ {} {doing} ", clean(&p.agent_name)),
            theme.style(Role::Banner),
        )));
    }
    if open.changed {
        let key = app.keymap.label(crate::tui::keymap::Action::Refresh);
        lines.push(Line::from(Span::styled(
            format!(" ↻ This ticket changed since you opened it ({key} reloads) "),
            theme.style(Role::Banner),
        )));
    }
    lines.push(Line::default());
    match &open.messages {
        None => lines.push(Line::from(Span::styled("Loading conversation…", theme.style(Role::Muted)))),
        Some(list) if list.is_empty() => {
            lines.push(Line::from(Span::styled("No messages yet.", theme.style(Role::Muted))))
        }
        Some(list) => {
            for m in list {
                let internal = m.visibility == Visibility::Internal;
                let author_role = match m.author.kind {
                    AuthorKind::Agent => Role::AuthorAgent,
                    AuthorKind::Contact => Role::AuthorContact,
                    AuthorKind::System => Role::AuthorSystem,
                };
                let mut head = vec![Span::styled(clean(&m.author.name), theme.style(author_role))];
                head.push(Span::styled(
                    format!(" · {} ago", when::age(m.created_at, app.now)),
                    theme.style(Role::Muted),
                ));
                if internal {
                    head.insert(0, Span::styled("▍INTERNAL NOTE ", theme.style(Role::NoteLabel)));
                }
                lines.push(Line::from(head));
                let note_bg = theme.style(Role::NoteBg);
                for l in body::message_lines(m, open.docs.get(&m.id), theme, &app.labels) {
                    let mut spans = vec![Span::raw(if internal { "▍ " } else { "  " })];
                    if internal {
                        spans[0] = Span::styled("▍ ", theme.style(Role::NoteLabel));
                    }
                    spans.extend(l.spans);
                    let mut line = Line::from(spans);
                    if internal {
                        line = line.patch_style(note_bg);
                    }
                    lines.push(line);
                }
                lines.push(Line::default());
            }
        }
    }
    Paragraph::new(Text::from(lines))
        .wrap(Wrap { trim: false })
        .scroll((open.scroll, 0))
        .render(inner, frame.buffer_mut());

    if let (Some(area), Some(ed)) = (editor_area, &app.editor) {
        draw_editor(frame, area, app, ed, theme);
    }
}

fn draw_editor(frame: &mut Frame, area: Rect, app: &App, ed: &crate::tui::app::Editor, theme: &Theme) {
    let focused = app.focus == Pane::Editor;
    let (title, role) = match ed.visibility {
        Visibility::Public => {
            let to =
                clean(app.open.as_ref().and_then(|o| o.ticket.requester_name.as_deref()).unwrap_or_default());
            (format!(" PUBLIC REPLY to {to} "), Role::Accent)
        }
        Visibility::Internal => (" INTERNAL NOTE (only agents see it) ".to_string(), Role::NoteLabel),
    };
    let mode = if ed.preview { "preview" } else { "markdown" };
    let keys = |a| app.keymap.label(a);
    use crate::tui::keymap::Action as A;
    let help = format!(
        " {} send · {} reply/note · {} {} · {} $EDITOR · {} insert macro · {} close ",
        keys(A::Send),
        keys(A::ToggleVisibility),
        keys(A::TogglePreview),
        if ed.preview { "edit" } else { "preview" },
        keys(A::ExternalEditor),
        keys(A::InsertMacro),
        keys(A::CloseEditor)
    );
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(theme.style(if focused { role } else { Role::Border }))
        .title(Line::from(vec![
            Span::styled(title, theme.style(role)),
            Span::styled(format!("[{mode}] "), theme.style(Role::Muted)),
        ]))
        .title_bottom(Line::from(Span::styled(help, theme.style(Role::Muted))));
    if ed.visibility == Visibility::Internal {
        block = block.style(theme.style(Role::NoteBg));
    }
    let inner = block.inner(area);
    block.render(area, frame.buffer_mut());
    if ed.preview {
        let lines = body::markdown_lines(&ed.text(), theme, &app.labels);
        Paragraph::new(Text::from(lines)).wrap(Wrap { trim: false }).render(inner, frame.buffer_mut());
    } else {
        let mut ta = ed.textarea.clone();
        ta.set_cursor_line_style(ratatui::style::Style::default());
        ta.set_style(theme.style(Role::Text).patch(if ed.visibility == Visibility::Internal {
            theme.style(Role::NoteBg)
        } else {
            ratatui::style::Style::default()
        }));
        ta.set_placeholder_text("Write in Markdown…");
        ta.set_placeholder_style(theme.style(Role::Muted));
        ta.set_cursor_style(if focused {
            theme.style(Role::Selection).add_modifier(ratatui::style::Modifier::REVERSED)
        } else {
            ratatui::style::Style::default()
        });
        frame.render_widget(&ta, inner);
    }
}
