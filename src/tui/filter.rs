//! The `/` filter: `status:`, `priority:`, `tag:` and `assignee:` terms (the filter language of
//! DESIGN §3; comma for alternatives) plus free text matched fuzzily with nucleo against the
//! ticket's id, subject, requester and account. Runs over the loaded tickets; the result is an
//! index list computed once per filter change, never per frame.

use crate::model::{AgentId, Priority, Status, Ticket};
use nucleo_matcher::pattern::{AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

#[derive(Debug, Clone, PartialEq, Default)]
pub enum AssigneeTerm {
    #[default]
    Any,
    Me,
    None,
    /// Matched against agent names (case-insensitive substring) or an id.
    Named(String),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    pub status: Vec<Status>,
    pub priority: Vec<Priority>,
    pub tags: Vec<String>,
    pub assignee: AssigneeTerm,
    pub text: String,
}

impl Query {
    /// Parses the filter line. Unknown values are reported, not silently dropped, so a typo
    /// like `status:opne` says why nothing matches.
    pub fn parse(input: &str) -> Result<Query, String> {
        let mut q = Query::default();
        let mut text = Vec::new();
        for word in input.split_whitespace() {
            let (key, value) = match word.split_once(':') {
                Some((k, v)) if !v.is_empty() => (k.to_ascii_lowercase(), v),
                _ => {
                    text.push(word);
                    continue;
                }
            };
            match key.as_str() {
                "status" | "is" => {
                    for v in value.split(',') {
                        q.status.push(v.parse()?);
                    }
                }
                "priority" | "pri" => {
                    for v in value.split(',') {
                        q.priority.push(v.parse()?);
                    }
                }
                "tag" => q.tags.extend(value.split(',').map(|t| t.to_lowercase())),
                "assignee" | "to" => {
                    q.assignee = match value.to_ascii_lowercase().as_str() {
                        "me" => AssigneeTerm::Me,
                        "none" | "nobody" | "unassigned" => AssigneeTerm::None,
                        other => AssigneeTerm::Named(other.to_string()),
                    }
                }
                _ => text.push(word),
            }
        }
        q.text = text.join(" ");
        Ok(q)
    }

    pub fn is_empty(&self) -> bool {
        *self == Query::default()
    }
}

/// Computes the visible rows: indices into `tickets` that pass the terms and fuzzy-match the
/// text, in the view's order (a queue keeps its SLA order while you narrow it).
/// `agent_name` maps an assignee id to a name for `assignee:<name>`.
/// Large lists are split across the cores (each chunk keeps its order), since this runs on
/// the keystroke that changed the filter.
pub fn apply(
    query: &Query,
    tickets: &[Ticket],
    me: Option<AgentId>,
    agent_name: &(dyn Fn(AgentId) -> Option<String> + Sync),
) -> Vec<usize> {
    const PARALLEL_FROM: usize = 20_000;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    if tickets.len() < PARALLEL_FROM || threads < 2 || query.text.is_empty() {
        return apply_range(query, tickets, 0, me, agent_name);
    }
    let chunk = tickets.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = tickets
            .chunks(chunk)
            .enumerate()
            .map(|(n, part)| scope.spawn(move || apply_range(query, part, n * chunk, me, agent_name)))
            .collect();
        let mut out = Vec::new();
        for p in parts {
            // A panic in a worker is a bug in the matcher; show everything rather than nothing.
            match p.join() {
                Ok(v) => out.extend(v),
                Err(_) => return (0..tickets.len()).collect(),
            }
        }
        out
    })
}

fn apply_range(
    query: &Query,
    tickets: &[Ticket],
    base: usize,
    me: Option<AgentId>,
    agent_name: &(dyn Fn(AgentId) -> Option<String> + Sync),
) -> Vec<usize> {
    let pattern = (!query.text.is_empty())
        .then(|| Pattern::new(&query.text, CaseMatching::Smart, Normalization::Smart, AtomKind::Fuzzy));
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    let mut hay = String::new();
    let mut out = Vec::with_capacity(tickets.len());
    for (i, t) in tickets.iter().enumerate() {
        if !query.status.is_empty() && !query.status.contains(&t.status) {
            continue;
        }
        if !query.priority.is_empty() && !query.priority.contains(&t.priority) {
            continue;
        }
        if !query.tags.iter().all(|tag| t.tags.iter().any(|x| x.eq_ignore_ascii_case(tag))) {
            continue;
        }
        let assignee_ok = match &query.assignee {
            AssigneeTerm::Any => true,
            AssigneeTerm::Me => me.is_some() && t.assignee_id == me,
            AssigneeTerm::None => t.assignee_id.is_none(),
            AssigneeTerm::Named(n) => t.assignee_id.is_some_and(|id| {
                id.0.to_string() == *n
                    || agent_name(id).is_some_and(|name| name.to_lowercase().contains(n.as_str()))
            }),
        };
        if !assignee_ok {
            continue;
        }
        if let Some(p) = &pattern {
            hay.clear();
            use std::fmt::Write;
            let _ = write!(
                hay,
                "#{} {} {} {}",
                t.id,
                t.subject,
                t.requester_name.as_deref().unwrap_or(""),
                t.account_name.as_deref().unwrap_or("")
            );
            if p.score(Utf32Str::new(&hay, &mut buf), &mut matcher).is_none() {
                continue;
            }
        }
        out.push(base + i);
    }
    out
}

/// Fuzzy-ranks `items` (best first) for pickers, the palette and the help search.
pub fn rank<'a, T>(query: &str, items: &'a [T], key: impl Fn(&T) -> String) -> Vec<&'a T> {
    if query.trim().is_empty() {
        return items.iter().collect();
    }
    let pattern = Pattern::new(query, CaseMatching::Smart, Normalization::Smart, AtomKind::Fuzzy);
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    let mut scored: Vec<(u32, usize, &T)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, it)| {
            let k = key(it);
            pattern.score(Utf32Str::new(&k, &mut buf), &mut matcher).map(|s| (s, i, it))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, _, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures;

    #[test]
    fn parses_terms_and_text() {
        let q =
            Query::parse("status:open,pending priority:urgent tag:Billing assignee:me refund card").unwrap();
        assert_eq!(q.status, vec![Status::Open, Status::Pending]);
        assert_eq!(q.priority, vec![Priority::Urgent]);
        assert_eq!(q.tags, vec!["billing"]);
        assert_eq!(q.assignee, AssigneeTerm::Me);
        assert_eq!(q.text, "refund card");
        assert!(Query::parse("status:opne").unwrap_err().contains("opne"));
        assert!(Query::parse("").unwrap().is_empty());
        // A bare `word:` is text, so typing a term half-way never errors.
        assert_eq!(Query::parse("status:").unwrap().text, "status:");
    }

    #[test]
    fn filters_by_terms_and_fuzzy_text_keeping_order() {
        let tickets = fixtures::tickets(40);
        let name = |id: AgentId| Some(fixtures::agent_name(id));
        let all = apply(&Query::default(), &tickets, Some(AgentId(1)), &name);
        assert_eq!(all.len(), 40);
        let urgent = apply(&Query::parse("priority:urgent").unwrap(), &tickets, None, &name);
        assert!(!urgent.is_empty());
        assert!(urgent.iter().all(|&i| tickets[i].priority == Priority::Urgent));
        let mine = apply(&Query::parse("assignee:me").unwrap(), &tickets, Some(AgentId(1)), &name);
        assert!(mine.iter().all(|&i| tickets[i].assignee_id == Some(AgentId(1))));
        let by_name = apply(&Query::parse("assignee:ada").unwrap(), &tickets, None, &name);
        assert_eq!(mine, by_name);
        let exact = apply(&Query::parse("refund").unwrap(), &tickets, None, &name);
        assert!(!exact.is_empty());
        assert!(exact.iter().all(|&i| tickets[i].subject.to_lowercase().contains("refund")));
        assert!(exact.windows(2).all(|w| w[0] < w[1]));
        // Fuzzy: letters in order, gaps allowed, so a typo still finds every refund.
        let fuzzy = apply(&Query::parse("rfnd").unwrap(), &tickets, None, &name);
        assert!(exact.iter().all(|i| fuzzy.contains(i)));
        let by_id = apply(&Query::parse("#1007").unwrap(), &tickets, None, &name);
        assert!(by_id.contains(&7));
    }

    #[test]
    fn parallel_split_keeps_order_and_matches_single_thread() {
        let tickets = fixtures::tickets(45_000);
        let q = Query::parse("refund card").unwrap();
        let name = |_: AgentId| None;
        let all = apply(&q, &tickets, None, &name);
        assert_eq!(all, apply_range(&q, &tickets, 0, None, &name));
        assert!(!all.is_empty() && all.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn rank_puts_best_match_first() {
        let items = ["assign_me", "assign", "snooze", "status"];
        let r = rank("snz", &items, |s| s.to_string());
        assert_eq!(r.first().map(|s| **s), Some("snooze"));
        assert_eq!(rank("", &items, |s| s.to_string()).len(), 4);
    }
}
