//! The `/` filter: `status:`, `priority:`, `tag:` and `assignee:` terms (the filter language of
//! DESIGN §3; comma for alternatives) plus free text matched fuzzily with nucleo against the
//! ticket's id, subject, requester and account. Runs over the loaded tickets; the result is an
//! index list computed once per filter change, never per frame.

use crate::model::{AgentId, Priority, Status, Ticket, TicketId};
use nucleo_matcher::pattern::{AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str, Utf32String};

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

/// What the filter reads of one ticket, prepared once when the ticket arrives (not per
/// keystroke): the enums and assignee the terms compare, and the fuzzy haystack
/// `#id subject requester account` already in nucleo's UTF-32 form (ASCII stays bytes).
#[derive(Debug, Clone)]
struct Entry {
    id: TicketId,
    version: i64,
    status: Status,
    priority: Priority,
    assignee: Option<AgentId>,
    hay: Utf32String,
}

impl Entry {
    fn new(t: &Ticket) -> Entry {
        let hay = format!(
            "#{} {} {} {}",
            t.id,
            t.subject,
            t.requester_name.as_deref().unwrap_or(""),
            t.account_name.as_deref().unwrap_or("")
        );
        Entry {
            id: t.id,
            version: t.version,
            status: t.status,
            priority: t.priority,
            assignee: t.assignee_id,
            hay: Utf32String::from(hay),
        }
    }

    /// Same ticket and same content as when the entry was built. The console changes a
    /// ticket locally only through patches (status, priority, assignee, tags), so those are
    /// compared too; everything in the haystack changes only with a new server version.
    fn fresh(&self, t: &Ticket) -> bool {
        self.id == t.id
            && self.version == t.version
            && self.status == t.status
            && self.priority == t.priority
            && self.assignee == t.assignee_id
    }
}

/// The `/` filter over a ticket list: per-ticket entries kept in step with the list, and the
/// last answer so that a query extending the previous one (typing one more character) only
/// re-checks the rows that matched before.
#[derive(Debug, Default, Clone)]
pub struct Index {
    entries: Vec<Entry>,
    /// Bumped whenever an entry changed: a remembered answer of an older generation is void.
    generation: u64,
    last: Option<(Query, u64, Vec<usize>)>,
    /// How the last `apply` ran, for tests and benches: rows examined.
    pub last_examined: usize,
}

impl Index {
    pub fn new() -> Index {
        Index::default()
    }

    /// Brings the entries in step with `tickets`. Walking the list and comparing a few
    /// integers per row costs well under a millisecond for 100,000 tickets; only rows that
    /// changed (or moved) are rebuilt.
    pub fn sync(&mut self, tickets: &[Ticket]) {
        let same_shape = self.entries.len() == tickets.len();
        if same_shape {
            let mut changed = false;
            for (e, t) in self.entries.iter_mut().zip(tickets) {
                if !e.fresh(t) {
                    *e = Entry::new(t);
                    changed = true;
                }
            }
            if changed {
                self.generation += 1;
            }
            return;
        }
        // Rows were inserted or removed: reuse the entries of tickets still there.
        let mut old: std::collections::HashMap<TicketId, Entry> =
            self.entries.drain(..).map(|e| (e.id, e)).collect();
        self.entries = tickets
            .iter()
            .map(|t| match old.remove(&t.id) {
                Some(e) if e.fresh(t) => e,
                _ => Entry::new(t),
            })
            .collect();
        self.generation += 1;
    }

    /// Computes the visible rows: indices into `tickets` that pass the terms and fuzzy-match
    /// the text, in the view's order (a queue keeps its SLA order while you narrow it).
    /// `agent_name` maps an assignee id to a name for `assignee:<name>`.
    pub fn apply(
        &mut self,
        query: &Query,
        tickets: &[Ticket],
        me: Option<AgentId>,
        agent_name: &(dyn Fn(AgentId) -> Option<String> + Sync),
    ) -> Vec<usize> {
        self.sync(tickets);
        let narrowing = match &self.last {
            Some((prev, generation, rows)) if *generation == self.generation && query.narrows(prev) => {
                Some(rows.clone())
            }
            _ => None,
        };
        let out = match narrowing {
            Some(rows) => {
                self.last_examined = rows.len();
                run(query, &self.entries, tickets, Some(&rows), me, agent_name)
            }
            None => {
                self.last_examined = tickets.len();
                run(query, &self.entries, tickets, None, me, agent_name)
            }
        };
        self.last = Some((query.clone(), self.generation, out.clone()));
        out
    }
}

impl Query {
    /// Every ticket matching `self` also matches `prev`: the same terms, and text that only
    /// adds characters. (A fuzzy match of a word is a fuzzy match of each of its prefixes,
    /// and an added word only removes matches. A backslash escapes a space for nucleo, so
    /// text with one is never narrowed.)
    fn narrows(&self, prev: &Query) -> bool {
        self.status == prev.status
            && self.priority == prev.priority
            && self.tags == prev.tags
            && self.assignee == prev.assignee
            && self.text.starts_with(&prev.text)
            && !self.text.contains('\\')
    }
}

/// One-shot filter without a kept index (builds the entries every call): for callers that
/// filter a list once. The console keeps an [`Index`].
pub fn apply(
    query: &Query,
    tickets: &[Ticket],
    me: Option<AgentId>,
    agent_name: &(dyn Fn(AgentId) -> Option<String> + Sync),
) -> Vec<usize> {
    Index::new().apply(query, tickets, me, agent_name)
}

/// Large candidate lists are split across the cores (each chunk keeps its order), since this
/// runs on the keystroke that changed the filter.
fn run(
    query: &Query,
    entries: &[Entry],
    tickets: &[Ticket],
    candidates: Option<&[usize]>,
    me: Option<AgentId>,
    agent_name: &(dyn Fn(AgentId) -> Option<String> + Sync),
) -> Vec<usize> {
    const PARALLEL_FROM: usize = 20_000;
    // `assignee:<name>` is decided once per agent, not once per ticket.
    let named: Vec<AgentId> = match &query.assignee {
        AssigneeTerm::Named(n) => {
            let mut ids: Vec<AgentId> = entries.iter().filter_map(|e| e.assignee).collect();
            ids.sort();
            ids.dedup();
            ids.retain(|id| {
                id.0.to_string() == *n
                    || agent_name(*id).is_some_and(|name| name.to_lowercase().contains(n.as_str()))
            });
            ids
        }
        _ => Vec::new(),
    };
    let needles = Needle::parse(&query.text);
    let pattern = (!needles.is_empty()).then_some(needles.as_slice());
    let ctx = Ctx { query, entries, tickets, me, named: &named, pattern };
    let len = candidates.map_or(entries.len(), <[usize]>::len);
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    if len < PARALLEL_FROM || threads < 2 || pattern.is_none() {
        return match candidates {
            Some(rows) => ctx.check(rows.iter().copied()),
            None => ctx.check(0..entries.len()),
        };
    }
    let chunk = len.div_ceil(threads);
    std::thread::scope(|scope| {
        let ctx = &ctx;
        let parts: Vec<_> = (0..len)
            .step_by(chunk)
            .map(|from| {
                let to = (from + chunk).min(len);
                scope.spawn(move || match candidates {
                    Some(rows) => ctx.check(rows[from..to].iter().copied()),
                    None => ctx.check(from..to),
                })
            })
            .collect();
        let mut out = Vec::with_capacity(len);
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

/// One word of the free text, as nucleo prepares it (`Pattern::new`, smart case, smart
/// normalisation), matched yes/no. The queue keeps the view's order, so the filter needs
/// only whether a fuzzy match exists, not its score: that is "the needle's characters
/// appear in order", one linear scan, where nucleo's scorer runs a dynamic programme over
/// needle and haystack for every candidate. A property test holds it to nucleo's answer.
#[derive(Debug, Clone)]
struct Needle {
    chars: Vec<char>,
    /// The needle when it is ASCII (the common case): compared byte by byte.
    ascii: Option<Vec<u8>>,
    ignore_case: bool,
    normalize: bool,
}

impl Needle {
    fn parse(text: &str) -> Vec<Needle> {
        if text.is_empty() {
            return Vec::new();
        }
        let pattern = Pattern::new(text, CaseMatching::Smart, Normalization::Smart, AtomKind::Fuzzy);
        pattern
            .atoms
            .iter()
            .map(|atom| {
                let chars: Vec<char> = atom.needle_text().chars().collect();
                // The same rules as nucleo's `Atom::new`: any upper-case letter makes the
                // word case-sensitive; a character that normalisation would change (é)
                // turns normalisation off for it.
                let ignore_case = !chars.iter().any(|c| nucleo_matcher::chars::is_upper_case(*c));
                let normalize = chars.iter().all(|c| nucleo_matcher::chars::normalize(*c) == *c);
                let ascii =
                    chars.iter().all(char::is_ascii).then(|| chars.iter().map(|c| *c as u8).collect());
                Needle { chars, ascii, ignore_case, normalize }
            })
            .collect()
    }

    fn is_in(&self, hay: Utf32Str<'_>) -> bool {
        match (hay, &self.ascii) {
            (Utf32Str::Ascii(h), Some(n)) => {
                let mut want = n.iter();
                let Some(mut next) = want.next() else { return true };
                for b in h {
                    let b = if self.ignore_case { b.to_ascii_lowercase() } else { *b };
                    if b == *next {
                        match want.next() {
                            Some(n) => next = n,
                            None => return true,
                        }
                    }
                }
                false
            }
            // A non-ASCII character of the needle cannot occur in an ASCII haystack.
            (Utf32Str::Ascii(_), None) => false,
            (Utf32Str::Unicode(h), _) => {
                let mut want = self.chars.iter();
                let Some(mut next) = want.next() else { return true };
                for c in h {
                    let mut c = *c;
                    if self.normalize {
                        c = nucleo_matcher::chars::normalize(c);
                    }
                    if self.ignore_case {
                        c = nucleo_matcher::chars::to_lower_case(c);
                    }
                    if c == *next {
                        match want.next() {
                            Some(n) => next = n,
                            None => return true,
                        }
                    }
                }
                false
            }
        }
    }
}

struct Ctx<'a> {
    query: &'a Query,
    entries: &'a [Entry],
    tickets: &'a [Ticket],
    me: Option<AgentId>,
    named: &'a [AgentId],
    pattern: Option<&'a [Needle]>,
}

impl Ctx<'_> {
    /// The rows of `rows` that pass: the cheap comparisons on the prepared entry first, the
    /// ticket's tags only when a `tag:` term asks, the fuzzy matcher last.
    fn check(&self, rows: impl Iterator<Item = usize>) -> Vec<usize> {
        let q = self.query;
        let mut out = Vec::new();
        for i in rows {
            let Some(e) = self.entries.get(i) else { continue };
            if !q.status.is_empty() && !q.status.contains(&e.status) {
                continue;
            }
            if !q.priority.is_empty() && !q.priority.contains(&e.priority) {
                continue;
            }
            let assignee_ok = match &q.assignee {
                AssigneeTerm::Any => true,
                AssigneeTerm::Me => self.me.is_some() && e.assignee == self.me,
                AssigneeTerm::None => e.assignee.is_none(),
                AssigneeTerm::Named(_) => e.assignee.is_some_and(|id| self.named.contains(&id)),
            };
            if !assignee_ok {
                continue;
            }
            if !q.tags.is_empty() {
                let Some(t) = self.tickets.get(i) else { continue };
                if !q.tags.iter().all(|tag| t.tags.iter().any(|x| x.eq_ignore_ascii_case(tag))) {
                    continue;
                }
            }
            if let Some(needles) = self.pattern
                && !needles.iter().all(|n| n.is_in(e.hay.slice(..)))
            {
                continue;
            }
            out.push(i);
        }
        out
    }
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
        let index = {
            let mut i = Index::new();
            i.sync(&tickets);
            i
        };
        let ctx = Ctx {
            query: &q,
            entries: &index.entries,
            tickets: &tickets,
            me: None,
            named: &[],
            pattern: None,
        };
        let needles = Needle::parse(&q.text);
        let one_thread = Ctx { pattern: Some(&needles), ..ctx }.check(0..tickets.len());
        assert_eq!(all, one_thread);
        assert!(!all.is_empty() && all.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn typing_narrows_the_previous_answer_and_matches_a_full_pass() {
        let tickets = fixtures::tickets(3_000);
        let name = |_: AgentId| None;
        let mut index = Index::new();
        let mut typed = String::new();
        let mut previous = tickets.len();
        for c in "status:open,new refund ca".chars() {
            typed.push(c);
            let Ok(q) = Query::parse(&typed) else { continue };
            let rows = index.apply(&q, &tickets, None, &name);
            // The same answer as a fresh index computing from scratch.
            assert_eq!(rows, apply(&q, &tickets, None, &name), "query {typed:?}");
            if typed.len() > "status:open,new r".len() {
                assert_eq!(index.last_examined, previous, "narrowed from the last answer at {typed:?}");
            }
            previous = rows.len();
        }
        assert!(previous > 0 && previous < tickets.len());
        // Deleting a character is a full pass again.
        let q = Query::parse("status:open,new refund c").unwrap();
        index.apply(&q, &tickets, None, &name);
        assert_eq!(index.last_examined, tickets.len());
    }

    #[test]
    fn a_changed_ticket_voids_the_narrowing_and_is_found_by_its_new_subject() {
        let mut tickets = fixtures::tickets(200);
        let name = |_: AgentId| None;
        let mut index = Index::new();
        let q1 = Query::parse("zebr").unwrap();
        assert!(index.apply(&q1, &tickets, None, &name).is_empty());
        tickets[17].subject = "Zebra crossing".into();
        tickets[17].version += 1;
        let q2 = Query::parse("zebra").unwrap();
        assert_eq!(index.apply(&q2, &tickets, None, &name), vec![17]);
        assert_eq!(index.last_examined, tickets.len());
        // A removed row shifts the rest; indices follow the list.
        tickets.remove(3);
        assert_eq!(index.apply(&q2, &tickets, None, &name), vec![16]);
        // A local status change (an optimistic patch) is seen by the terms.
        let q3 = Query::parse("status:closed zebra").unwrap();
        assert!(index.apply(&q3, &tickets, None, &name).is_empty());
        tickets[16].status = Status::Closed;
        assert_eq!(index.apply(&q3, &tickets, None, &name), vec![16]);
    }

    proptest::proptest! {
        /// The yes/no scan agrees with nucleo's scorer on every haystack and query, with
        /// upper case, accents and non-Latin letters in both.
        #[test]
        fn needle_scan_agrees_with_nucleo(
            hay in "[a-cA-Cé É日ß#0-9 ]{0,24}",
            query in "[a-cA-Cé É日ß#0-9]{1,4}( [a-cA-Céß]{1,3})?",
        ) {
            let pattern = Pattern::new(&query, CaseMatching::Smart, Normalization::Smart, AtomKind::Fuzzy);
            let mut matcher = Matcher::new(Config::DEFAULT);
            let mut buf = Vec::new();
            let nucleo = pattern.score(Utf32Str::new(&hay, &mut buf), &mut matcher).is_some();
            let hay32 = Utf32String::from(hay.as_str());
            let ours = Needle::parse(&query).iter().all(|n| n.is_in(hay32.slice(..)));
            proptest::prop_assert_eq!(ours, nucleo, "hay {:?} query {:?}", hay, query);
        }
    }

    #[test]
    fn rank_puts_best_match_first() {
        let items = ["assign_me", "assign", "snooze", "status"];
        let r = rank("snz", &items, |s| s.to_string());
        assert_eq!(r.first().map(|s| **s), Some("snooze"));
        assert_eq!(rank("", &items, |s| s.to_string()).len(), 4);
    }
}
