//! State tests: drive the app with keys and results, assert state and the requests it emits.

use super::*;
use crate::tui::fixtures;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn key_event(s: &str) -> KeyEvent {
    let chord = Chord::parse(s).unwrap();
    use crate::tui::keymap::KeyCodeOrd as K;
    let code = match chord.code {
        K::Char(c) => KeyCode::Char(c),
        K::Enter => KeyCode::Enter,
        K::Esc => KeyCode::Esc,
        K::Tab => KeyCode::Tab,
        K::BackTab => KeyCode::BackTab,
        K::Backspace => KeyCode::Backspace,
        K::Up => KeyCode::Up,
        K::Down => KeyCode::Down,
        K::Left => KeyCode::Left,
        K::Right => KeyCode::Right,
        K::Home => KeyCode::Home,
        K::End => KeyCode::End,
        K::PageUp => KeyCode::PageUp,
        K::PageDown => KeyCode::PageDown,
        K::Delete => KeyCode::Delete,
        K::F(n) => KeyCode::F(n),
    };
    let mut mods = KeyModifiers::empty();
    if chord.ctrl {
        mods |= KeyModifiers::CONTROL;
    }
    if chord.alt {
        mods |= KeyModifiers::ALT;
    }
    KeyEvent::new(code, mods)
}

fn press(app: &mut App, keys: &str) -> Vec<Effect> {
    let mut fx = Vec::new();
    for k in keys.split(' ') {
        fx.extend(update(app, Msg::Key(key_event(k))));
    }
    fx
}

fn type_text(app: &mut App, text: &str) -> Vec<Effect> {
    let mut fx = Vec::new();
    for c in text.chars() {
        fx.extend(update(app, Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::empty()))));
    }
    fx
}

fn selected_id(app: &App) -> TicketId {
    app.selected().map(|t| t.id).unwrap()
}

fn ticket(app: &App, id: i64) -> Ticket {
    app.tickets.iter().find(|t| t.id == TicketId(id)).cloned().unwrap()
}

#[test]
fn start_loads_views_then_the_first_view() {
    let mut app = App::new(fixtures::now(), TimeZone::UTC, Keymap::default());
    let fx = app.start();
    assert!(fx.contains(&Effect::LoadMe) && fx.contains(&Effect::LoadViews));
    let fx = update(&mut app, Msg::Views(Ok(fixtures::views())));
    assert_eq!(fx, vec![Effect::LoadTickets { view: ViewId(1), after: None, generation: 1 }]);
    // Pages keep coming until `next` is null; the first paints at once.
    let fx = update(
        &mut app,
        Msg::Tickets {
            view: ViewId(1),
            generation: 1,
            first: true,
            result: Ok(Page { items: fixtures::tickets(3), next: Some("c1".into()) }),
        },
    );
    assert_eq!(fx, vec![Effect::LoadTickets { view: ViewId(1), after: Some("c1".into()), generation: 1 }]);
    assert_eq!(app.visible.len(), 3);
    assert!(app.loading);
    // A stale answer (older generation) is ignored.
    update(
        &mut app,
        Msg::Tickets {
            view: ViewId(1),
            generation: 0,
            first: true,
            result: Ok(Page { items: vec![], next: None }),
        },
    );
    assert_eq!(app.visible.len(), 3);
}

#[test]
fn navigation_and_view_switching() {
    let mut app = fixtures::app(40);
    app.size = (160, 20);
    assert_eq!(selected_id(&app), TicketId(1000));
    press(&mut app, "j j down");
    assert_eq!(app.cursor, 3);
    press(&mut app, "k");
    assert_eq!(app.cursor, 2);
    press(&mut app, "G");
    assert_eq!(app.cursor, 39);
    assert!(app.offset > 0 && app.cursor < app.offset + app.queue_height());
    press(&mut app, "g");
    assert_eq!((app.cursor, app.offset), (0, 0));
    press(&mut app, "pagedown");
    assert_eq!(app.cursor, app.queue_height());
    let fx = press(&mut app, "2");
    assert_eq!(app.view_idx, 1);
    assert!(matches!(fx.as_slice(), [Effect::LoadTickets { view: ViewId(2), .. }]));
    assert!(app.tickets.is_empty());
}

#[test]
fn filter_with_terms_and_fuzzy_text() {
    let mut app = fixtures::app(40);
    press(&mut app, "/");
    assert!(app.filter_editing);
    type_text(&mut app, "priority:urgent refund");
    assert!(!app.visible.is_empty());
    for &i in &app.visible {
        assert_eq!(app.tickets[i].priority, Priority::Urgent);
        assert!(app.tickets[i].subject.to_lowercase().contains("refund"));
    }
    press(&mut app, "enter");
    assert!(!app.filter_editing);
    let n = app.visible.len();
    press(&mut app, "j");
    assert_eq!(app.visible.len(), n, "keys act on the filtered list after enter");
    press(&mut app, "/ esc");
    assert_eq!(app.visible.len(), 40);
    press(&mut app, "/");
    type_text(&mut app, "status:opne");
    assert!(app.filter_error.as_deref().unwrap_or("").contains("opne"));
}

#[test]
fn assign_to_me_is_optimistic_and_rolls_back_with_a_toast() {
    let mut app = fixtures::app(40);
    press(&mut app, "j"); // #1001 is unassigned
    let fx = press(&mut app, "a");
    let [Effect::UpdateTicket { req, id, patch, version }] = fx.as_slice() else { panic!("{fx:?}") };
    assert_eq!(*id, TicketId(1001));
    assert_eq!(patch.assignee_id, Some(Some(AgentId(1))));
    assert_eq!(*version, Some(1));
    assert_eq!(ticket(&app, 1001).assignee_id, Some(AgentId(1)));
    let fx = update(
        &mut app,
        Msg::Patched {
            req: *req,
            id: TicketId(1001),
            result: Err(Failure {
                message: "version mismatch".into(),
                kind: FailureKind::Other,
                current: None,
            }),
        },
    );
    assert_eq!(ticket(&app, 1001).assignee_id, None);
    assert_eq!(fx, vec![Effect::LoadTicket(TicketId(1001))]);
    let toast = app.toasts.back().unwrap();
    assert_eq!(toast.level, ToastLevel::Error);
    assert!(toast.text.contains("#1001") && toast.text.contains("undone"), "{}", toast.text);
}

#[test]
fn solving_moves_to_the_next_ticket_and_undo_brings_it_back() {
    let mut app = fixtures::app(40);
    press(&mut app, "j j");
    assert_eq!(selected_id(&app), TicketId(1002));
    press(&mut app, "s");
    assert!(matches!(app.modal, Some(Modal::Picker { .. })));
    type_text(&mut app, "solved");
    let fx = press(&mut app, "enter");
    assert!(
        matches!(&fx[..], [Effect::UpdateTicket { id: TicketId(1002), patch, .. }] if patch.status == Some(Status::Solved))
    );
    assert_eq!(selected_id(&app), TicketId(1003), "cursor moved on to the next ticket");
    assert_eq!(app.visible.len(), 39);
    // Undo within the window: back in the list and a request that reverts it, without If-Match.
    update(&mut app, Msg::Tick(fixtures::now() + SignedDuration::from_secs(4)));
    let fx = press(&mut app, "u");
    assert!(matches!(&fx[..], [Effect::UpdateTicket { id: TicketId(1002), patch, version: None, .. }]
        if patch.status == Some(Status::Open)));
    assert_eq!(app.visible.len(), 40);
    assert_eq!(ticket(&app, 1002).status, Status::Open);
    // After the window, nothing to undo.
    press(&mut app, "s");
    type_text(&mut app, "pending");
    press(&mut app, "enter");
    update(&mut app, Msg::Tick(fixtures::now() + SignedDuration::from_secs(30)));
    assert!(app.undo.is_none());
    assert!(press(&mut app, "u").is_empty());
}

#[test]
fn marks_and_bulk_with_partial_failure() {
    let mut app = fixtures::app(40);
    press(&mut app, "space space");
    assert_eq!(app.marks.len(), 2);
    press(&mut app, "p");
    type_text(&mut app, "urgent");
    let fx = press(&mut app, "enter");
    let [Effect::BulkUpdate { req, ids, patch }] = fx.as_slice() else { panic!("{fx:?}") };
    assert_eq!(ids, &vec![TicketId(1000), TicketId(1001)]);
    assert_eq!(patch.priority, Some(Priority::Urgent));
    assert!(app.marks.is_empty());
    let mut ok = ticket(&app, 1000);
    ok.version = 2;
    let result = BulkResult {
        results: vec![
            BulkItemResult { id: TicketId(1000), ok: true, ticket: Some(ok), error: None },
            BulkItemResult { id: TicketId(1001), ok: false, ticket: None, error: None },
        ],
    };
    update(&mut app, Msg::Bulk { req: *req, result: Ok(result) });
    assert_eq!(ticket(&app, 1000).priority, Priority::Urgent);
    assert_eq!(ticket(&app, 1001).priority, Priority::High, "the refused one is rolled back");
    assert!(app.toasts.back().unwrap().text.contains("#1001"));
    press(&mut app, "V");
    assert_eq!(app.marks.len(), 40);
    press(&mut app, "V");
    assert!(app.marks.is_empty());
}

#[test]
fn snooze_with_natural_time_and_tags() {
    let mut app = fixtures::app(40);
    press(&mut app, "z");
    type_text(&mut app, "whenever");
    press(&mut app, "enter");
    assert!(matches!(&app.modal, Some(Modal::Input { error: Some(_), .. })));
    press(&mut app, "ctrl-u");
    type_text(&mut app, "tomorrow 9am");
    let fx = press(&mut app, "enter");
    let want: Timestamp = "2026-11-26T09:00:00Z".parse().unwrap();
    assert!(matches!(&fx[..], [Effect::UpdateTicket { id: TicketId(1000), patch, .. }]
        if patch.snoozed_until == Some(Some(want))));
    assert_eq!(selected_id(&app), TicketId(1001));
    let fx = press(&mut app, "t");
    assert!(fx.is_empty());
    type_text(&mut app, "+Urgent-Fix -vip");
    let fx = press(&mut app, "enter");
    assert!(matches!(&fx[..], [Effect::UpdateTicket { id: TicketId(1001), patch, .. }]
        if patch.add_tags == vec!["urgent-fix".to_string()] && patch.remove_tags == vec!["vip".to_string()]));
    assert!(ticket(&app, 1001).tags.contains(&"urgent-fix".to_string()));
}

#[test]
fn macro_is_previewed_before_it_is_applied() {
    let mut app = fixtures::app(40);
    assert_eq!(press(&mut app, "m"), vec![Effect::LoadMacros]);
    update(&mut app, Msg::Macros(Ok(fixtures::macros())));
    assert!(matches!(&app.modal, Some(Modal::Picker { title, .. }) if title == "Apply macro"));
    let fx = press(&mut app, "enter");
    assert_eq!(fx, vec![Effect::PreviewMacro { ticket: TicketId(1000), macro_id: MacroId(1) }]);
    // Enter does nothing until the preview is there.
    assert!(press(&mut app, "enter").is_empty());
    let mut after = ticket(&app, 1000);
    after.status = Status::Solved;
    let outcome = MacroOutcome {
        dry_run: true,
        ticket: after.clone(),
        reply_markdown: Some("Hi!".into()),
        changes: vec!["status: open -> solved".into()],
    };
    update(
        &mut app,
        Msg::MacroPreview { ticket: TicketId(1000), macro_id: MacroId(1), result: Ok(outcome.clone()) },
    );
    let fx = press(&mut app, "enter");
    assert_eq!(fx, vec![Effect::ApplyMacro { ticket: TicketId(1000), macro_id: MacroId(1) }]);
    update(
        &mut app,
        Msg::MacroApplied { ticket: TicketId(1000), result: Ok(MacroOutcome { dry_run: false, ..outcome }) },
    );
    assert!(app.tickets.iter().all(|t| t.id != TicketId(1000)), "a solved ticket leaves the open view");
}

#[test]
fn open_reply_autosave_switch_to_note_and_send() {
    let mut app = fixtures::app(40);
    let fx = press(&mut app, "enter");
    assert!(fx.contains(&Effect::LoadMessages(TicketId(1000))));
    assert!(fx.contains(&Effect::LoadContext(ContactId(1))));
    assert!(fx.contains(&Effect::SetPresence { ticket: TicketId(1000), state: PresenceState::Viewing }));
    assert_eq!(app.focus, Pane::Conversation);
    let fx = update(&mut app, Msg::Messages(TicketId(1000), Ok(fixtures::messages(TicketId(1000)))));
    // Mentions are resolved in one batched call, then cached.
    assert_eq!(
        fx,
        vec![Effect::Resolve(vec![EntityRef { kind: RefKind::SlackUser, id: "U024BE7LH".into() }])]
    );
    update(
        &mut app,
        Msg::Resolved(Ok(vec![ResolvedEntity {
            kind: RefKind::SlackUser,
            id: "U024BE7LH".into(),
            label: Some("Ada Lovelace".into()),
            desk_id: Some(1),
        }])),
    );
    assert!(
        update(&mut app, Msg::Messages(TicketId(1000), Ok(fixtures::messages(TicketId(1000))))).is_empty()
    );

    let fx = press(&mut app, "r");
    assert!(fx.contains(&Effect::LoadDraft(TicketId(1000))));
    assert!(fx.contains(&Effect::SetPresence { ticket: TicketId(1000), state: PresenceState::Replying }));
    assert_eq!(app.focus, Pane::Editor);
    type_text(&mut app, "Hello q"); // `q` is text here, not "back"
    let fx = update(&mut app, Msg::Tick(fixtures::now() + SignedDuration::from_secs(1)));
    assert!(fx.contains(&Effect::SaveDraft {
        ticket: TicketId(1000),
        visibility: Visibility::Public,
        text: "Hello q".into()
    }));
    press(&mut app, "ctrl-n");
    assert_eq!(app.editor.as_ref().unwrap().visibility, Visibility::Internal);
    let fx = press(&mut app, "ctrl-s");
    assert_eq!(
        fx,
        vec![Effect::SendMessage {
            ticket: TicketId(1000),
            visibility: Visibility::Internal,
            markdown: "Hello q".into()
        }]
    );
    assert!(app.editor.is_none());
    let mut sent = fixtures::messages(TicketId(1000)).remove(2);
    sent.id = MessageId(99);
    update(
        &mut app,
        Msg::Sent { ticket: TicketId(1000), visibility: Visibility::Internal, result: Ok(sent) },
    );
    assert_eq!(app.open.as_ref().unwrap().messages.as_ref().unwrap().len(), 4);
}

#[test]
fn drafts_are_restored_and_editor_hands_off_to_external_editor() {
    let mut app = fixtures::app(40);
    press(&mut app, "enter n");
    assert_eq!(app.editor.as_ref().unwrap().visibility, Visibility::Internal);
    update(
        &mut app,
        Msg::Draft { ticket: TicketId(1000), draft: Some((Visibility::Public, "half a reply".into())) },
    );
    let ed = app.editor.as_ref().unwrap();
    assert_eq!((ed.text(), ed.visibility), ("half a reply".to_string(), Visibility::Public));
    let fx = press(&mut app, "ctrl-e");
    assert_eq!(fx, vec![Effect::ExternalEditor("half a reply".into())]);
    update(&mut app, Msg::EditorText(Ok("from vim\nline two".into())));
    assert_eq!(app.editor.as_ref().unwrap().text(), "from vim\nline two");
    press(&mut app, "ctrl-p");
    assert!(app.editor.as_ref().unwrap().preview);
    let fx = press(&mut app, "esc");
    assert!(matches!(&fx[..], [Effect::SaveDraft { text, .. }] if text == "from vim\nline two"));
    assert!(app.editor.is_none());
}

#[test]
fn live_events_insert_tickets_keep_selection_and_count_notifications() {
    let mut app = fixtures::app(10);
    app.bell = true;
    press(&mut app, "j j j");
    let before = selected_id(&app);
    let ev = |kind: &str, id: Option<i64>| Event {
        id: 7,
        kind: kind.into(),
        ticket_id: id.map(TicketId),
        team_id: Some(TeamId(1)),
        at: fixtures::now(),
        data: serde_json::json!({}),
    };
    let fx = update(&mut app, Msg::Event(ev("ticket.created", Some(5000))));
    assert_eq!(fx, vec![Effect::LoadTicket(TicketId(5000))]);
    let mut t = fixtures::ticket(2); // breached: sorts first under "sla"
    t.id = TicketId(5000);
    update(&mut app, Msg::Ticket(TicketId(5000), Ok(t)));
    assert_eq!(app.tickets.len(), 11);
    assert_eq!(selected_id(&app), before, "selection stays on the same ticket");
    let fx = update(&mut app, Msg::Tick(fixtures::now()));
    assert!(fx.contains(&Effect::LoadViews), "counts refresh once per tick, not per event");
    let mut note = ev("notification.created", None);
    note.data = serde_json::json!({"kind": "mention", "summary": "Grace mentioned you on #1003"});
    let fx = update(&mut app, Msg::Event(note.clone()));
    assert!(fx.contains(&Effect::Bell));
    assert_eq!(app.unread, 3);
    assert!(app.toasts.back().unwrap().text.contains("Grace mentioned you"));
    // Kinds left out of `[notifications] kinds` count, but neither toast nor ring.
    app.notify_kinds = vec![NotificationKind::Assignment];
    app.toasts.clear();
    let fx = update(&mut app, Msg::Event(note));
    assert!(!fx.contains(&Effect::Bell) && app.toasts.is_empty());
    assert_eq!(app.unread, 4);
    // An update that moves a ticket out of the view removes it.
    let mut gone = ticket(&app, 1001);
    gone.status = Status::Closed;
    update(&mut app, Msg::Event(ev("ticket.updated", Some(1001))));
    update(&mut app, Msg::Ticket(TicketId(1001), Ok(gone)));
    assert!(app.tickets.iter().all(|t| t.id != TicketId(1001)));
    assert_eq!(selected_id(&app), before);
}

#[test]
fn banners_for_changes_and_other_agents() {
    let mut app = fixtures::app(10);
    press(&mut app, "enter");
    let mut t = ticket(&app, 1000);
    t.version = 5;
    t.priority = Priority::Urgent;
    update(&mut app, Msg::Ticket(TicketId(1000), Ok(t)));
    assert!(app.open.as_ref().unwrap().changed);
    let others = vec![
        Presence {
            agent_id: AgentId(2),
            agent_name: "Grace Hopper".into(),
            state: PresenceState::Replying,
            expires_at: fixtures::now(),
        },
        Presence {
            agent_id: AgentId(1),
            agent_name: "Ada".into(),
            state: PresenceState::Viewing,
            expires_at: fixtures::now(),
        },
    ];
    update(&mut app, Msg::Presence(TicketId(1000), Ok(others)));
    assert_eq!(app.open.as_ref().unwrap().others.len(), 1, "I am not a collision with myself");
}

#[test]
fn contact_pane_logs_activity_follow_up_and_jumps() {
    let mut app = fixtures::app(10);
    press(&mut app, "enter");
    update(&mut app, Msg::Context(ContactId(1), Ok(fixtures::context(ContactId(1)))));
    press(&mut app, "tab");
    assert_eq!(app.focus, Pane::Contact);
    press(&mut app, "l");
    type_text(&mut app, "call");
    press(&mut app, "enter");
    type_text(&mut app, "Walked through the refund");
    let fx = press(&mut app, "enter");
    assert!(matches!(&fx[..], [Effect::LogActivity(a)] if a.kind == ActivityKind::Call
        && a.contact_id == Some(ContactId(1)) && a.account_id == Some(AccountId(1))));
    press(&mut app, "f");
    type_text(&mut app, "Send renewal quote @ fri 10am");
    let fx = press(&mut app, "enter");
    let due: Timestamp = "2026-11-27T10:00:00Z".parse().unwrap();
    assert!(matches!(&fx[..], [Effect::CreateTask(t)] if t.title == "Send renewal quote"
        && t.due_at == Some(due) && t.ticket_id == Some(TicketId(1000))));
    let fx = update(&mut app, Msg::CrmSaved { what: "task".into(), contact: ContactId(1), result: Ok(()) });
    assert_eq!(fx, vec![Effect::LoadContext(ContactId(1))]);
    press(&mut app, "j");
    let fx = press(&mut app, "enter");
    let other = fixtures::context(ContactId(1)).recent_tickets[1].id;
    assert_eq!(app.open.as_ref().unwrap().ticket.id, other);
    assert!(fx.contains(&Effect::LoadMessages(other)));
}

#[test]
fn palette_help_assign_picker_copy_link_and_quit() {
    let mut app = fixtures::app(10);
    press(&mut app, ":");
    type_text(&mut app, "snooze");
    press(&mut app, "enter");
    assert!(matches!(app.modal, Some(Modal::Input { kind: InputKind::Snooze, .. })));
    press(&mut app, "esc ?");
    assert!(matches!(app.modal, Some(Modal::Help { .. })));
    press(&mut app, "esc A");
    type_text(&mut app, "grace");
    let fx = press(&mut app, "enter");
    assert!(
        matches!(&fx[..], [Effect::UpdateTicket { patch, .. }] if patch.assignee_id == Some(Some(AgentId(2))))
    );
    assert_eq!(press(&mut app, "y"), vec![Effect::Copy("#1000".into())]);
    assert!(matches!(&press(&mut app, "o")[..], [Effect::OpenUrl(u)] if u.starts_with("https://")));
    press(&mut app, "j");
    assert!(press(&mut app, "o").is_empty(), "no link: a toast, not a request");
    assert_eq!(press(&mut app, "R")[0], Effect::LoadViews);
    assert_eq!(press(&mut app, "ctrl-z"), vec![Effect::Suspend]);
    assert_eq!(press(&mut app, "q"), vec![Effect::Quit]);
    assert!(app.quit);
}

#[test]
fn notifications_list_opens_tickets_and_marks_read() {
    let mut app = fixtures::app(10);
    assert_eq!(app.unread, 2);
    press(&mut app, "N");
    let fx = press(&mut app, "enter");
    assert!(fx.contains(&Effect::MarkNotificationRead(NotificationId(1))));
    assert_eq!(app.unread, 1);
    assert_eq!(app.open.as_ref().unwrap().ticket.id, TicketId(1003));
}

#[test]
fn narrow_layout_cycles_one_pane_at_a_time() {
    let mut app = fixtures::app(10);
    update(&mut app, Msg::Resize(90, 30));
    assert!(app.narrow());
    press(&mut app, "enter");
    assert_eq!(app.panes(), vec![Pane::Queue, Pane::Conversation, Pane::Contact]);
    press(&mut app, "tab");
    assert_eq!(app.focus, Pane::Contact);
    press(&mut app, "tab");
    assert_eq!(app.focus, Pane::Queue);
    press(&mut app, "shift-tab");
    assert_eq!(app.focus, Pane::Contact);
    press(&mut app, "q q");
    assert_eq!(app.focus, Pane::Queue);
    assert!(app.open.is_none());
}

#[test]
fn keymap_overrides_apply() {
    let mut o = std::collections::BTreeMap::new();
    o.insert("assign_me".to_string(), vec!["x".to_string()]);
    let (km, problems) = Keymap::with_overrides(&o, "config.toml");
    assert!(problems.is_empty());
    let mut app = fixtures::app(10);
    app.keymap = km;
    assert!(press(&mut app, "a").is_empty());
    assert!(matches!(&press(&mut app, "x")[..], [Effect::UpdateTicket { .. }]));
}

#[test]
fn view_membership() {
    let me = Some(AgentId(1));
    let now = fixtures::now();
    let views = fixtures::views();
    let t = fixtures::ticket(0); // assigned to me, open, FR due in 12m
    assert!(view_matches(&views[0].filter, &t, me, now));
    assert!(!view_matches(&views[1].filter, &t, me, now));
    assert!(view_matches(&views[3].filter, &t, me, now));
    let far = fixtures::ticket(5); // due in 26h
    assert!(!view_matches(&views[3].filter, &far, me, now));
    let mut snoozed = t.clone();
    snoozed.snoozed_until = Some(now + SignedDuration::from_hours(1));
    assert!(!view_matches(&views[0].filter, &snoozed, me, now));
}

#[test]
fn inverse_patch_restores_every_field() {
    let before = fixtures::ticket(1);
    let patch = TicketPatch {
        status: Some(Status::Solved),
        priority: Some(Priority::Low),
        assignee_id: Some(Some(AgentId(3))),
        add_tags: vec!["new".into(), "vip".into()],
        remove_tags: vec!["login".into()],
        snoozed_until: Some(Some(fixtures::now())),
        ..TicketPatch::default()
    };
    let mut t = before.clone();
    apply_patch(&mut t, &patch);
    apply_patch(&mut t, &inverse_patch(&before, &patch));
    let mut tags = t.tags.clone();
    tags.sort();
    let mut want = before.tags.clone();
    want.sort();
    assert_eq!(tags, want);
    t.tags = before.tags.clone();
    assert_eq!(t, before);
}

/// A 412 on a change: the dialog shows what we started from, our change and the server's
/// version (from the answer, and fetched again); `m` re-applies on top of the new version
/// with its version in If-Match, `t`/esc keeps theirs.
#[test]
fn a_conflict_shows_both_versions_and_lets_the_agent_choose() {
    let mut app = fixtures::app(40);
    update(&mut app, Msg::Agents(Ok(fixtures::agents())));
    press(&mut app, "j"); // #1001, unassigned, version 1
    let fx = press(&mut app, "a");
    let [Effect::UpdateTicket { req, .. }] = fx.as_slice() else { panic!("{fx:?}") };
    // Meanwhile Grace took it and raised the priority.
    let mut theirs = ticket(&app, 1001);
    theirs.assignee_id = Some(AgentId(2));
    theirs.priority = Priority::Urgent;
    theirs.version = 3;
    theirs.assignee_id = Some(AgentId(2));
    let fx = update(
        &mut app,
        Msg::Patched {
            req: *req,
            id: TicketId(1001),
            result: Err(Failure {
                message: "precondition failed".into(),
                kind: FailureKind::Conflict,
                current: Some(serde_json::to_value(&theirs).unwrap()),
            }),
        },
    );
    assert!(fx.contains(&Effect::LoadTicket(TicketId(1001))), "the current version is fetched: {fx:?}");
    let Some(Modal::Conflict(c)) = app.modal.clone() else { panic!("{:?}", app.modal) };
    assert_eq!(c.theirs.as_ref().map(|t| t.version), Some(3));
    // The list shows the server's version, not our refused change.
    assert_eq!(ticket(&app, 1001).assignee_id, Some(AgentId(2)));
    let rows = conflict_rows(&app, &c);
    let assignee = rows.iter().find(|r| r.field == "assignee").unwrap();
    assert_eq!(
        (assignee.base.as_str(), assignee.mine.as_str(), assignee.theirs.as_deref()),
        ("unassigned", "me", Some("Grace Hopper"))
    );
    assert!(assignee.ours && assignee.changed);
    let priority = rows.iter().find(|r| r.field == "priority").unwrap();
    assert!(!priority.ours && priority.changed, "what the other agent changed is shown too");
    assert!(rows.iter().all(|r| r.field != "status"), "untouched fields stay out: {rows:?}");
    // Other keys do nothing while the dialog is up.
    assert!(press(&mut app, "j").is_empty());
    assert!(matches!(app.modal, Some(Modal::Conflict(_))));
    // A fresher copy arrives (the re-fetch): the dialog follows it.
    theirs.version = 4;
    update(&mut app, Msg::Ticket(TicketId(1001), Ok(theirs.clone())));
    let Some(Modal::Conflict(c)) = app.modal.as_ref() else { panic!() };
    assert_eq!(c.theirs.as_ref().map(|t| t.version), Some(4));
    // Mine on top of theirs: the same patch, If-Match on the version we were shown.
    let fx = press(&mut app, "m");
    let [Effect::UpdateTicket { id, patch, version, .. }] = fx.as_slice() else { panic!("{fx:?}") };
    assert_eq!((*id, *version), (TicketId(1001), Some(4)));
    assert_eq!(patch.assignee_id, Some(Some(AgentId(1))));
    assert!(app.modal.is_none());
    assert_eq!(ticket(&app, 1001).assignee_id, Some(AgentId(1)));
    assert_eq!(ticket(&app, 1001).priority, Priority::Urgent, "their priority is kept");

    // Keep theirs: nothing is sent, their version stays.
    let mut app = fixtures::app(40);
    press(&mut app, "j");
    let fx = press(&mut app, "a");
    let [Effect::UpdateTicket { req, .. }] = fx.as_slice() else { panic!("{fx:?}") };
    let conflict = Failure { message: "conflict".into(), kind: FailureKind::Conflict, current: None };
    update(&mut app, Msg::Patched { req: *req, id: TicketId(1001), result: Err(conflict) });
    let Some(Modal::Conflict(c)) = app.modal.as_ref() else { panic!() };
    assert!(c.theirs.is_none(), "a 409 without a body waits for the re-fetch");
    assert!(press(&mut app, "m").is_empty(), "nothing to apply on until the current version is in");
    assert!(app.toasts.back().unwrap().text.contains("loading"));
    update(&mut app, Msg::Ticket(TicketId(1001), Ok(theirs.clone())));
    assert!(press(&mut app, "esc").is_empty());
    assert!(app.modal.is_none());
    assert!(app.open.is_none(), "nothing was open; the banner logic only touches an open ticket");
    assert_eq!(ticket(&app, 1001).assignee_id, Some(AgentId(2)));
    assert!(app.toasts.back().unwrap().text.contains("dropped"));
}

fn link_message(id: i64, tiptap: serde_json::Value) -> Message {
    let mut m = fixtures::messages(TicketId(1000)).remove(0);
    m.id = MessageId(id);
    m.body = MessageBody { tiptap, markdown: String::new(), source: None };
    m
}

#[test]
fn open_link_offers_the_conversation_links_in_a_numbered_picker() {
    let mut app = fixtures::app(40);
    // #1001 has no link of its own and is not open: nothing to open.
    press(&mut app, "j");
    assert!(press(&mut app, "o").is_empty());
    assert!(app.toasts.back().unwrap().text.contains("No link"));
    // #1000 has its Slack thread link; from the queue that is the one link: opened at once.
    press(&mut app, "k");
    let fx = press(&mut app, "o");
    assert_eq!(fx, vec![Effect::OpenUrl("https://example.slack.com/archives/C024BE91L/p1700000000".into())]);
    // Open, with messages carrying links (one unsafe): a picker, numbered, in reading order.
    press(&mut app, "enter");
    let link = |text: &str, href: &str| serde_json::json!({"type":"text","text":text,"marks":[{"type":"link","attrs":{"href":href}}]});
    let messages = vec![
        link_message(
            1,
            serde_json::json!({"type":"doc","content":[{"type":"paragraph","content":[
            link("invoice", "https://billing.example.com/inv/42"), link("x", "javascript:alert(1)")]}]}),
        ),
        link_message(
            2,
            serde_json::json!({"type":"doc","content":[{"type":"paragraph","content":[
            link("write us", "mailto:billing@example.com")]}]}),
        ),
    ];
    update(&mut app, Msg::Messages(TicketId(1000), Ok(messages)));
    assert!(press(&mut app, "o").is_empty());
    let Some(Modal::Picker { title, items, .. }) = app.modal.as_ref() else { panic!("{:?}", app.modal) };
    assert_eq!(title, "Links in #1000");
    let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
    assert_eq!(labels, ["1 this ticket", "2 invoice", "3 write us"]);
    // A number picks that link, though `2` also occurs in other URLs' digits.
    type_text(&mut app, "3");
    let visible: Vec<String> =
        app.modal.as_ref().unwrap().visible_items().iter().map(|i| i.label.clone()).collect();
    assert_eq!(visible, ["3 write us"]);
    press(&mut app, "backspace");
    // Typing narrows (fuzzy); enter opens the chosen one.
    type_text(&mut app, "inv");
    let fx = press(&mut app, "enter");
    assert_eq!(fx, vec![Effect::OpenUrl("https://billing.example.com/inv/42".into())]);
    assert!(app.modal.is_none());
}

#[test]
fn mentions_resolve_once_with_their_own_kind() {
    let mut app = fixtures::app(40);
    press(&mut app, "enter");
    let mention = |id: &str, ch: &str| serde_json::json!({"type":"mention","attrs":{"id":id,"label":null,"mentionSuggestionChar":ch}});
    let messages = vec![link_message(
        1,
        serde_json::json!({"type":"doc","content":[{"type":"paragraph","content":[
            mention("U1", "@"), mention("C7", "#"), mention("S0614TZR7", "@"), mention("U1", "@")]}]}),
    )];
    let fx = update(&mut app, Msg::Messages(TicketId(1000), Ok(messages.clone())));
    assert_eq!(
        fx,
        vec![Effect::Resolve(vec![
            EntityRef { kind: RefKind::SlackUser, id: "U1".into() },
            EntityRef { kind: RefKind::SlackChannel, id: "C7".into() },
        ])]
    );
    update(
        &mut app,
        Msg::Resolved(Ok(vec![
            ResolvedEntity {
                kind: RefKind::SlackUser,
                id: "U1".into(),
                label: Some("Ada".into()),
                desk_id: Some(1),
            },
            ResolvedEntity { kind: RefKind::SlackChannel, id: "C7".into(), label: None, desk_id: None },
        ])),
    );
    assert_eq!(app.labels.get(crate::richtext::MentionKind::User, "U1").as_deref(), Some("Ada"));
    // Reloading the conversation asks for nothing: known and unknown answers are cached.
    let fx = update(&mut app, Msg::Messages(TicketId(1000), Ok(messages)));
    assert!(fx.is_empty(), "{fx:?}");
}

#[test]
fn resolving_a_conflict_on_the_open_ticket_clears_the_changed_banner() {
    let mut app = fixtures::app(40);
    press(&mut app, "enter"); // #1000 open
    let fx = press(&mut app, "p");
    assert!(fx.is_empty());
    type_text(&mut app, "low");
    let fx = press(&mut app, "enter");
    let [Effect::UpdateTicket { req, .. }, ..] = fx.as_slice() else { panic!("{fx:?}") };
    let mut theirs = ticket(&app, 1000);
    theirs.version = 7;
    theirs.status = Status::Pending;
    let failure = Failure { message: "412".into(), kind: FailureKind::Conflict, current: None };
    update(&mut app, Msg::Patched { req: *req, id: TicketId(1000), result: Err(failure) });
    update(&mut app, Msg::Ticket(TicketId(1000), Ok(theirs)));
    assert!(app.open.as_ref().unwrap().changed, "the banner says it changed");
    press(&mut app, "t");
    let open = app.open.as_ref().unwrap();
    assert!(!open.changed && open.seen_version == 7, "seen in the dialog");
    assert_eq!(open.ticket.status, Status::Pending);
}

#[test]
fn leaving_a_ticket_clears_presence_at_once() {
    let mut app = fixtures::app(10);
    press(&mut app, "enter");
    assert_eq!(app.open.as_ref().map(|o| o.ticket.id), Some(TicketId(1000)));
    let fx = press(&mut app, "esc");
    assert_eq!(fx, vec![Effect::ClearPresence(TicketId(1000))]);
    assert!(app.open.is_none());
    // Nothing open, nothing to clear.
    assert!(!press(&mut app, "esc").contains(&Effect::ClearPresence(TicketId(1000))));
}
