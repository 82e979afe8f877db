//! Auto-responder conditions and reply templates. Pure.

use jiff::Timestamp;

use crate::model::{AutoResponder, AutoResponderConditions, Channel, MetricStatus, Priority, SlaReport};
use crate::sla::Calendar;

/// What a rule's conditions look at.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub channel: Option<Channel>,
    pub slack_channel: Option<&'a str>,
    pub team_id: i64,
    pub priority: Priority,
    pub text: &'a str,
    pub first_message: bool,
    /// None when the ticket has no SLA policy (no calendar: never "outside hours").
    pub in_business_hours: Option<bool>,
}

/// True when `at` lies inside the calendar's business hours.
pub fn in_business_hours(cal: &Calendar, at: Timestamp) -> bool {
    let next = at + jiff::SignedDuration::from_secs(1);
    cal.business_seconds_between(at, next) > 0
}

pub fn matches(c: &AutoResponderConditions, f: &Facts<'_>) -> bool {
    if c.first_message_only && !f.first_message {
        return false;
    }
    if !c.channels.is_empty() && !f.channel.is_some_and(|ch| c.channels.contains(&ch)) {
        return false;
    }
    if !c.slack_channels.is_empty()
        && !f.slack_channel.is_some_and(|ch| c.slack_channels.iter().any(|x| x == ch))
    {
        return false;
    }
    if !c.team_ids.is_empty() && !c.team_ids.iter().any(|t| t.0 == f.team_id) {
        return false;
    }
    if !c.priorities.is_empty() && !c.priorities.contains(&f.priority) {
        return false;
    }
    if !c.keywords.is_empty() {
        let text = f.text.to_lowercase();
        if !c.keywords.iter().any(|k| !k.trim().is_empty() && text.contains(&k.trim().to_lowercase())) {
            return false;
        }
    }
    if c.outside_business_hours && f.in_business_hours != Some(false) {
        return false;
    }
    true
}

/// Values for the placeholders of a reply template.
#[derive(Debug, Clone)]
pub struct Vars {
    pub contact_name: String,
    pub ticket_id: i64,
    pub ticket_subject: String,
    pub report: SlaReport,
}

pub const PLACEHOLDERS: &[&str] = &[
    "contact.name",
    "contact.first_name",
    "ticket.id",
    "ticket.subject",
    "sla.first_response.due_at",
    "sla.next_response.due_at",
    "sla.resolution.due_at",
];

fn due(m: &Option<MetricStatus>) -> String {
    m.as_ref()
        .and_then(|m| m.due_at)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "soon".to_owned())
}

fn value(name: &str, v: &Vars) -> Option<String> {
    Some(match name {
        "contact.name" => v.contact_name.clone(),
        "contact.first_name" => v.contact_name.split_whitespace().next().unwrap_or("there").to_owned(),
        "ticket.id" => v.ticket_id.to_string(),
        "ticket.subject" => v.ticket_subject.clone(),
        "sla.first_response.due_at" => due(&v.report.first_response),
        "sla.next_response.due_at" => due(&v.report.next_response),
        "sla.resolution.due_at" => due(&v.report.resolution),
        _ => return None,
    })
}

/// The placeholder names used in a template (`{{ name }}`, spaces allowed).
fn placeholders(template: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = template[from..].find("{{").map(|i| i + from) {
        let Some(close) = template[open + 2..].find("}}").map(|i| i + open + 2) else { break };
        out.push((open, close + 2, template[open + 2..close].trim().to_owned()));
        from = close + 2;
    }
    out
}

/// Fills the placeholders; an unknown one stays as written (PUT rejects those up front).
pub fn render(template: &str, v: &Vars) -> String {
    let mut out = String::with_capacity(template.len());
    let mut last = 0;
    for (start, end, name) in placeholders(template) {
        out.push_str(&template[last..start]);
        match value(&name, v) {
            Some(x) => out.push_str(&x),
            None => out.push_str(&template[start..end]),
        }
        last = end;
    }
    out.push_str(&template[last..]);
    out
}

/// Checks a rule before it is stored: `(field, message)` on error.
pub fn validate(r: &AutoResponder) -> Result<(), (String, String)> {
    if r.name.trim().is_empty() {
        return Err(("name".into(), "a rule needs a name".into()));
    }
    if let Some(t) = &r.actions.reply_markdown {
        if t.trim().is_empty() {
            return Err(("actions.reply_markdown".into(), "the reply is empty".into()));
        }
        for (_, _, name) in placeholders(t) {
            if !PLACEHOLDERS.contains(&name.as_str()) {
                return Err((
                    "actions.reply_markdown".into(),
                    format!("unknown placeholder {{{{{name}}}}}; known: {}", PLACEHOLDERS.join(", ")),
                ));
            }
        }
    }
    if r.actions.reply_markdown.is_none() && r.actions.set_priority.is_none() && r.actions.add_tags.is_empty()
    {
        return Err(("actions".into(), "a rule needs at least one action".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AutoResponderActions, TeamId};

    fn facts(text: &str) -> Facts<'_> {
        Facts {
            channel: Some(Channel::Slack),
            slack_channel: Some("C1"),
            team_id: 2,
            priority: Priority::Normal,
            text,
            first_message: true,
            in_business_hours: Some(true),
        }
    }

    #[test]
    fn each_condition_filters() {
        let any = AutoResponderConditions { first_message_only: true, ..Default::default() };
        assert!(matches(&any, &facts("hi")));
        assert!(!matches(&any, &Facts { first_message: false, ..facts("hi") }));
        let c = AutoResponderConditions { channels: vec![Channel::Email], ..any.clone() };
        assert!(!matches(&c, &facts("hi")));
        let c = AutoResponderConditions { slack_channels: vec!["C9".into()], ..any.clone() };
        assert!(!matches(&c, &facts("hi")));
        let c = AutoResponderConditions { team_ids: vec![TeamId(2)], ..any.clone() };
        assert!(matches(&c, &facts("hi")));
        let c = AutoResponderConditions { priorities: vec![Priority::Urgent], ..any.clone() };
        assert!(!matches(&c, &facts("hi")));
        let c = AutoResponderConditions { keywords: vec!["Refund".into()], ..any.clone() };
        assert!(matches(&c, &facts("I want a REFUND now")));
        assert!(!matches(&c, &facts("hello")));
        let c = AutoResponderConditions { outside_business_hours: true, ..any.clone() };
        assert!(!matches(&c, &facts("hi")));
        assert!(matches(&c, &Facts { in_business_hours: Some(false), ..facts("hi") }));
        assert!(!matches(&c, &Facts { in_business_hours: None, ..facts("hi") }));
    }

    #[test]
    fn templates_render_and_validate() {
        let v = Vars {
            contact_name: "Ana Lopez".into(),
            ticket_id: 42,
            ticket_subject: "Printer".into(),
            report: SlaReport::default(),
        };
        assert_eq!(render("Hi {{contact.first_name}}, #{{ ticket.id }} ({{x}})", &v), "Hi Ana, #42 ({{x}})");
        let rule = |t: &str| AutoResponder {
            id: None,
            name: "r".into(),
            enabled: true,
            conditions: Default::default(),
            actions: AutoResponderActions { reply_markdown: Some(t.into()), ..Default::default() },
            counts_as_first_response: false,
        };
        assert!(validate(&rule("Hi {{contact.name}}")).is_ok());
        assert_eq!(validate(&rule("{{nope}}")).map_err(|e| e.0), Err("actions.reply_markdown".into()));
    }

    #[test]
    fn business_hours_follow_the_calendar() {
        assert!(in_business_hours(&Calendar::always_open(), Timestamp::UNIX_EPOCH));
    }
}
