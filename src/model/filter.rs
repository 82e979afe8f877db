//! The filter language in its two spellings, so every client parses the same words:
//! query parameters (`?status=open,pending&assignee=me`) and text
//! (`status:open,pending priority:urgent tag:billing assignee:me printer on fire`).
//! Values of one field are alternatives (OR); fields combine with AND; words that are not
//! `field:value` become the free-text query `q`.

use super::{AgentId, AssigneeFilter, Priority, Status, TeamId, TicketFilter};

/// A filter that does not parse; `field` names the parameter or text key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FilterError {}

/// The parameter names of the filter (what `set_param` understands).
pub const FILTER_PARAMS: &[&str] =
    &["status", "priority", "assignee", "team", "tag", "q", "breaching_within"];

fn err(field: &str, message: impl Into<String>) -> FilterError {
    FilterError { field: field.to_owned(), message: message.into() }
}

fn list<T: std::str::FromStr<Err = String>>(field: &str, value: &str) -> Result<Vec<T>, FilterError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.parse().map_err(|e| err(field, e)))
        .collect()
}

impl AssigneeFilter {
    pub fn parse(value: &str) -> Result<AssigneeFilter, FilterError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "me" => Ok(AssigneeFilter::Me),
            "none" | "unassigned" => Ok(AssigneeFilter::None),
            other => other
                .parse::<i64>()
                .map(|id| AssigneeFilter::Agent(AgentId(id)))
                .map_err(|_| err("assignee", format!("`{other}` is not me, none or an agent id"))),
        }
    }

    pub fn as_param(&self) -> String {
        match self {
            AssigneeFilter::Me => "me".into(),
            AssigneeFilter::None => "none".into(),
            AssigneeFilter::Agent(a) => a.0.to_string(),
        }
    }
}

impl TicketFilter {
    /// Applies one query parameter. Returns `Ok(false)` for a name that is not a filter field.
    /// Repeating a list parameter adds alternatives.
    pub fn set_param(&mut self, key: &str, value: &str) -> Result<bool, FilterError> {
        match key {
            "status" => self.status.extend(list::<Status>("status", value)?),
            "priority" => self.priority.extend(list::<Priority>("priority", value)?),
            "assignee" => self.assignee = Some(AssigneeFilter::parse(value)?),
            "team" => {
                for v in value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                    let id = v.parse::<i64>().map_err(|_| err("team", format!("`{v}` is not a team id")))?;
                    self.team.push(TeamId(id));
                }
            }
            "tag" => {
                self.tag.extend(value.split(',').map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()))
            }
            "q" => {
                if value.chars().count() > 200 {
                    return Err(err("q", "the text query is limited to 200 characters"));
                }
                let v = value.trim();
                self.q = (!v.is_empty()).then(|| v.to_owned());
            }
            "breaching_within" => {
                let m = value
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|m| (0..=525_600).contains(m))
                    .ok_or_else(|| err("breaching_within", "minutes from 0 to 525600"))?;
                self.breaching_within = Some(m);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The filter as query parameters (the inverse of [`set_param`](Self::set_param)).
    pub fn to_query_pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let join = |v: Vec<String>| v.join(",");
        if !self.status.is_empty() {
            out.push(("status".into(), join(self.status.iter().map(|s| s.to_string()).collect())));
        }
        if !self.priority.is_empty() {
            out.push(("priority".into(), join(self.priority.iter().map(|s| s.to_string()).collect())));
        }
        if let Some(a) = &self.assignee {
            out.push(("assignee".into(), a.as_param()));
        }
        if !self.team.is_empty() {
            out.push(("team".into(), join(self.team.iter().map(|s| s.to_string()).collect())));
        }
        if !self.tag.is_empty() {
            out.push(("tag".into(), self.tag.join(",")));
        }
        if let Some(q) = &self.q {
            out.push(("q".into(), q.clone()));
        }
        if let Some(m) = self.breaching_within {
            out.push(("breaching_within".into(), m.to_string()));
        }
        out
    }

    /// Parses the text spelling: `status:open priority:urgent,high tag:x assignee:me team:2
    /// breaching:60 free words "quoted words"`. `breaching` is short for `breaching_within`.
    pub fn parse_text(text: &str) -> Result<TicketFilter, FilterError> {
        let mut f = TicketFilter::default();
        let mut words: Vec<String> = Vec::new();
        for token in tokens(text) {
            if let Some((k, v)) = token.split_once(':')
                && !token.starts_with('"')
            {
                let key = match k.to_ascii_lowercase().as_str() {
                    "breaching" | "breaching_within" => "breaching_within".to_owned(),
                    "is" => "status".to_owned(),
                    other => other.to_owned(),
                };
                if key != "q" && f.set_param(&key, v)? {
                    continue;
                }
            }
            words.push(token.trim_matches('"').to_owned());
        }
        let q = words.join(" ");
        if !q.trim().is_empty() {
            f.set_param("q", &q)?;
        }
        Ok(f)
    }

    /// The text spelling of the filter (parses back to the same filter).
    pub fn to_text(&self) -> String {
        let mut parts: Vec<String> = self
            .to_query_pairs()
            .into_iter()
            .filter(|(k, _)| k != "q")
            .map(|(k, v)| if k == "breaching_within" { format!("breaching:{v}") } else { format!("{k}:{v}") })
            .collect();
        if let Some(q) = &self.q {
            parts.push(q.clone());
        }
        parts.join(" ")
    }
}

/// Splits on whitespace, keeping `"quoted words"` together.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in text.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                cur.push(ch);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_filter_parses_fields_and_free_text() {
        let f = TicketFilter::parse_text(
            "status:open,pending priority:urgent tag:Billing assignee:me printer on fire",
        )
        .expect("valid");
        assert_eq!(f.status, vec![Status::Open, Status::Pending]);
        assert_eq!(f.priority, vec![Priority::Urgent]);
        assert_eq!(f.tag, vec!["billing"]);
        assert_eq!(f.assignee, Some(AssigneeFilter::Me));
        assert_eq!(f.q.as_deref(), Some("printer on fire"));
    }

    #[test]
    fn unknown_keys_are_free_text_and_bad_values_name_the_field() {
        let f = TicketFilter::parse_text("error:42 \"exact phrase\"").expect("valid");
        assert_eq!(f.q.as_deref(), Some("error:42 exact phrase"));
        let e = TicketFilter::parse_text("status:nope").expect_err("bad status");
        assert_eq!(e.field, "status");
        let e = TicketFilter::parse_text("assignee:bob").expect_err("bad assignee");
        assert_eq!(e.field, "assignee");
    }

    #[test]
    fn text_and_params_round_trip() {
        let f = TicketFilter::parse_text("status:open team:2,3 breaching:30 assignee:none hello world")
            .expect("valid");
        assert_eq!(TicketFilter::parse_text(&f.to_text()).expect("round trip"), f);
        let mut g = TicketFilter::default();
        for (k, v) in f.to_query_pairs() {
            assert!(g.set_param(&k, &v).expect("valid param"));
        }
        assert_eq!(g, f);
    }

    #[test]
    fn params_reject_out_of_range() {
        let mut f = TicketFilter::default();
        assert!(f.set_param("breaching_within", "-1").is_err());
        assert!(f.set_param("team", "1;DROP TABLE tickets").is_err());
        assert_eq!(f.set_param("sort", "sla"), Ok(false));
    }
}
