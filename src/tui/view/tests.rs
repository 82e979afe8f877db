//! Screen tests: the app fed with fixtures, drawn on a `TestBackend` at fixed sizes with the
//! clock frozen, and snapshotted with insta.

use super::*;
use crate::model::*;
use crate::tui::app::{App, Msg, update};
use crate::tui::fixtures;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::{Terminal, backend::TestBackend};

fn render(app: &App, theme: &Theme) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    term.draw(|f| draw(f, app, theme)).unwrap();
    term
}

fn screen(app: &App) -> String {
    render(app, &Theme::dark()).backend().to_string()
}

fn keys(app: &mut App, keys: &str) {
    for k in keys.split(' ') {
        let code = match k {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "space" => KeyCode::Char(' '),
            k if k.starts_with("ctrl-") => {
                let c = k.chars().last().unwrap_or('x');
                update(app, Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)));
                continue;
            }
            k => KeyCode::Char(k.chars().next().unwrap_or(' ')),
        };
        update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::empty())));
    }
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        update(app, Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::empty())));
    }
}

fn sized(w: u16, h: u16) -> App {
    let mut app = fixtures::app(40);
    app.workspace_label = Some("demo workspace".into());
    update(&mut app, Msg::Resize(w, h));
    app
}

/// A ticket open with its conversation and contact loaded (as after the requests answer).
fn opened(w: u16, h: u16) -> App {
    let mut app = sized(w, h);
    keys(&mut app, "enter");
    update(&mut app, Msg::Messages(TicketId(1000), Ok(fixtures::messages(TicketId(1000)))));
    update(
        &mut app,
        Msg::Resolved(Ok(vec![ResolvedEntity {
            kind: RefKind::SlackUser,
            id: "U024BE7LH".into(),
            label: Some("Ada Lovelace".into()),
            desk_id: None,
        }])),
    );
    update(&mut app, Msg::Context(ContactId(1), Ok(fixtures::context(ContactId(1)))));
    app
}

#[test]
fn main_screen_wide() {
    let mut app = sized(160, 45);
    keys(&mut app, "j space j");
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn main_screen_open_ticket_wide() {
    let mut app = opened(160, 45);
    update(
        &mut app,
        Msg::Presence(
            TicketId(1000),
            Ok(vec![Presence {
                agent_id: AgentId(2),
                agent_name: "Grace Hopper".into(),
                state: PresenceState::Replying,
                expires_at: fixtures::now(),
            }]),
        ),
    );
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn main_screen_narrow() {
    let app = sized(90, 30);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn narrow_conversation_and_contact() {
    let mut app = opened(90, 30);
    insta::assert_snapshot!("narrow_conversation", screen(&app));
    keys(&mut app, "tab");
    insta::assert_snapshot!("narrow_contact", screen(&app));
}

#[test]
fn badges_tick_without_refetching() {
    let mut app = sized(100, 12);
    let before = screen(&app);
    update(&mut app, Msg::Tick(fixtures::now() + jiff::SignedDuration::from_secs(13 * 60)));
    let after = screen(&app);
    assert!(before.contains("FR 12m") && after.contains("FR -1m"), "{after}");
}

#[test]
fn filter_bar() {
    let mut app = sized(120, 16);
    keys(&mut app, "/");
    type_text(&mut app, "priority:urgent,high refund");
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn modals() {
    let mut app = sized(120, 30);
    keys(&mut app, "s");
    insta::assert_snapshot!("modal_status", screen(&app));
    keys(&mut app, "esc A");
    insta::assert_snapshot!("modal_assign", screen(&app));
    keys(&mut app, "esc p");
    insta::assert_snapshot!("modal_priority", screen(&app));
    keys(&mut app, "esc z");
    type_text(&mut app, "tomorrow 9am");
    insta::assert_snapshot!("modal_snooze", screen(&app));
    keys(&mut app, "esc t");
    type_text(&mut app, "+billing -vip");
    insta::assert_snapshot!("modal_tags", screen(&app));
    keys(&mut app, "esc :");
    type_text(&mut app, "snz");
    insta::assert_snapshot!("modal_palette", screen(&app));
    keys(&mut app, "esc N");
    insta::assert_snapshot!("modal_notifications", screen(&app));
    keys(&mut app, "esc m");
    update(&mut app, Msg::Macros(Ok(fixtures::macros())));
    insta::assert_snapshot!("modal_macros", screen(&app));
    keys(&mut app, "enter");
    let mut after = fixtures::ticket(0);
    after.status = Status::Solved;
    update(
        &mut app,
        Msg::MacroPreview {
            ticket: TicketId(1000),
            macro_id: MacroId(1),
            result: Ok(MacroOutcome {
                dry_run: true,
                ticket: after,
                reply_markdown: Some("Hi! We've refunded the charge; it shows in 5-10 days.".into()),
                changes: vec!["status: open -> solved".into(), "tags: +refund".into()],
            }),
        },
    );
    insta::assert_snapshot!("modal_macro_preview", screen(&app));
}

#[test]
fn contact_modals() {
    let mut app = opened(120, 30);
    keys(&mut app, "tab l");
    keys(&mut app, "enter");
    type_text(&mut app, "Walked through the refund");
    insta::assert_snapshot!("modal_activity", screen(&app));
    keys(&mut app, "esc f");
    type_text(&mut app, "Send renewal quote @ fri 10am");
    insta::assert_snapshot!("modal_follow_up", screen(&app));
}

#[test]
fn help_overlay() {
    let mut app = sized(120, 40);
    keys(&mut app, "?");
    insta::assert_snapshot!("help", screen(&app));
    type_text(&mut app, "snooze");
    insta::assert_snapshot!("help_search", screen(&app));
}

#[test]
fn editor_reply_note_and_preview() {
    let mut app = opened(160, 45);
    keys(&mut app, "r");
    type_text(&mut app, "Thanks **Maya**, the refund is on its way.");
    insta::assert_snapshot!("editor_reply", screen(&app));
    keys(&mut app, "ctrl-n");
    insta::assert_snapshot!("editor_note", screen(&app));
    keys(&mut app, "ctrl-p");
    insta::assert_snapshot!("editor_preview", screen(&app));
}

#[test]
fn changed_banner_and_toast() {
    let mut app = opened(120, 30);
    let mut t = fixtures::ticket(0);
    t.version = 9;
    update(&mut app, Msg::Ticket(TicketId(1000), Ok(t)));
    app.toast_error("Assign to me on #1000 failed: version mismatch; change undone");
    insta::assert_snapshot!(screen(&app));
}

/// Theme snapshots keep the styles: the buffer's Debug lists every style run.
#[test]
fn themes() {
    let app = opened(110, 24);
    for (name, _) in crate::tui::theme::BUILTIN {
        let theme = Theme::load(name, None).unwrap();
        let term = render(&app, &theme);
        insta::assert_snapshot!(format!("theme_{name}"), format!("{:?}", term.backend().buffer()));
    }
    let term = render(&app, &Theme::monochrome());
    insta::assert_snapshot!("theme_monochrome", format!("{:?}", term.backend().buffer()));
}

#[test]
fn fit_pads_and_truncates_by_display_width() {
    assert_eq!(fit("abc", 5), "abc  ");
    assert_eq!(fit("abcdef", 4), "abc…");
    assert_eq!(fit("日本語", 5), "日本…");
    assert_eq!(fit("x", 0), "");
}

/// The conflict dialog at 160x45: a status change refused with a 412 after someone else
/// assigned the ticket and changed its status.
#[test]
fn conflict_dialog() {
    let mut app = opened(160, 45);
    keys(&mut app, "s");
    type_text(&mut app, "pending");
    let fx = update(&mut app, Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::empty())));
    let Some(crate::tui::app::Effect::UpdateTicket { req, .. }) = fx.into_iter().next() else { panic!() };
    let mut theirs = fixtures::ticket(0);
    theirs.status = Status::OnHold;
    theirs.assignee_id = Some(AgentId(2));
    theirs.version = 5;
    let failure = crate::tui::app::Failure {
        message: "version mismatch".into(),
        kind: crate::tui::app::FailureKind::Conflict,
        current: None,
    };
    update(&mut app, Msg::Patched { req, id: TicketId(1000), result: Err(failure) });
    insta::assert_snapshot!("conflict_loading", screen(&app));
    update(&mut app, Msg::Ticket(TicketId(1000), Ok(theirs)));
    insta::assert_snapshot!("conflict_dialog", screen(&app));
}

/// `o` with several links in the conversation: the numbered picker.
#[test]
fn link_picker() {
    let mut app = opened(120, 30);
    let mut m = fixtures::messages(TicketId(1000)).remove(0);
    m.id = MessageId(9);
    m.body.tiptap = serde_json::json!({"type":"doc","content":[{"type":"paragraph","content":[
        {"type":"text","text":"see the "},
        {"type":"text","text":"invoice","marks":[{"type":"link","attrs":{"href":"https://billing.example.com/inv/42"}}]},
        {"type":"text","text":" or "},
        {"type":"text","text":"mail billing","marks":[{"type":"link","attrs":{"href":"mailto:billing@example.com"}}]}]}]});
    let mut list = fixtures::messages(TicketId(1000));
    list.push(m);
    update(&mut app, Msg::Messages(TicketId(1000), Ok(list)));
    keys(&mut app, "o");
    insta::assert_snapshot!(screen(&app));
}
