//! `--filter` for `du` and `prune`, read as buildx reads it and turned into the containerd filter
//! BuildKit receives: `key=value` (docker's filter flag: the key lowercased, both sides trimmed),
//! `key!=value` and `key~=value` (newer buildx's operators), `id=` as a regexp (`id~=`),
//! `until`/`unused-for` as the keep duration rather than a filter, one value per key, and every
//! key ANDed. Unlike buildx, an unknown key or a string BuildKit cannot parse is refused here,
//! before anything is sent: BuildKit would select nothing, or fail.

use crate::buildkit::filters::Filter;
use crate::go_text::time::parse_duration;

/// The keys BuildKit's cache records answer to, `until` and its old name `unused-for` included.
pub const KEYS: [&str; 11] = [
    "until",
    "unused-for",
    "id",
    "parents",
    "description",
    "inuse",
    "mutable",
    "immutable",
    "shared",
    "private",
    "type",
];

/// Keys whose field BuildKit reports present or absent, never with a value.
const YES_NO_KEYS: [&str; 5] = ["inuse", "mutable", "immutable", "shared", "private"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equal,
    NotEqual,
    Matches,
}

/// One `--filter` as given, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterFlag {
    pub key: String,
    pub operator: Operator,
    pub value: String,
}

/// A set of `--filter` flags, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheFilters {
    /// `until` / `unused-for`: records used more recently than this are kept (nanoseconds; 0 = none).
    pub keep_duration_ns: i64,
    /// The other flags, in the order given.
    pub flags: Vec<FilterFlag>,
}

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("bad format of filter \"{0}\" (expected name=value)")]
    Malformed(String),
    #[error("filter \"{0}\" has no value")]
    MissingValue(String),
    #[error("unknown filter key \"{key}\": cache records are filtered by {}", KEYS.join(", "))]
    UnknownKey { key: String },
    #[error("\"{0}\" filter expects only one value")]
    SeveralValues(String),
    #[error("conflicting filters \"until\" and \"unused-for\"")]
    ConflictingUntil,
    #[error("\"{key}\" filter expects a duration (e.g., '24h'), as key=value: {reason}")]
    Duration { key: String, reason: String },
    #[error("filter \"{filter}\" cannot be read by BuildKit: {reason}")]
    Syntax { filter: String, reason: String },
}

impl CacheFilters {
    /// Reads `--filter` values as `docker buildx du/prune` does, and refuses what BuildKit
    /// would not take or could never match by key.
    pub fn parse<S: AsRef<str>>(given: &[S]) -> Result<Self, FilterError> {
        let mut out = CacheFilters::default();
        let mut until: Option<(String, String)> = None;
        for raw in given.iter().map(AsRef::as_ref) {
            // docker's filter flag ignores an empty value.
            if raw.is_empty() {
                continue;
            }
            let (name, value) = raw.split_once('=').ok_or_else(|| FilterError::Malformed(raw.to_owned()))?;
            let (name, value) = (name.trim().to_lowercase(), value.trim().to_owned());
            let (key, operator) = match (name.strip_suffix('!'), name.strip_suffix('~')) {
                (Some(key), _) => (key.to_owned(), Operator::NotEqual),
                (_, Some(key)) => (key.to_owned(), Operator::Matches),
                _ => (name.clone(), Operator::Equal),
            };
            if !KEYS.contains(&key.as_str()) {
                return Err(FilterError::UnknownKey { key });
            }
            if value.is_empty() {
                return Err(FilterError::MissingValue(raw.to_owned()));
            }
            if key == "until" || key == "unused-for" {
                if operator != Operator::Equal {
                    return Err(FilterError::Duration { key, reason: format!("\"{raw}\" has another operator") });
                }
                match &until {
                    Some((k, _)) if *k != key => return Err(FilterError::ConflictingUntil),
                    Some((_, v)) if *v != value => return Err(FilterError::SeveralValues(key)),
                    _ => until = Some((key, value)),
                }
                continue;
            }
            let flag = FilterFlag { key, operator, value };
            // docker's filter set keeps one of each key and value; a second value is buildx's error.
            if let Some(same) = out.flags.iter().find(|f| f.key == flag.key && f.operator == flag.operator) {
                if same.value != flag.value {
                    return Err(FilterError::SeveralValues(name));
                }
                continue;
            }
            let selector = flag.selector();
            let quote_hint = "BuildKit reads a space or a comma as the end of the value: put it in double quotes";
            let parsed = Filter::parse_all(std::slice::from_ref(&selector)).map_err(|e| {
                let hint = if flag.value.contains([' ', ',']) { format!(" ({quote_hint})") } else { String::new() };
                FilterError::Syntax { filter: raw.to_owned(), reason: format!("{e}{hint}") }
            })?;
            if parsed.selector_count() != 1 {
                return Err(FilterError::Syntax { filter: raw.to_owned(), reason: quote_hint.into() });
            }
            out.flags.push(flag);
        }
        if let Some((key, value)) = until {
            out.keep_duration_ns =
                parse_duration(&value).map_err(|e| FilterError::Duration { key, reason: e.to_string() })?;
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.keep_duration_ns == 0 && self.flags.is_empty()
    }

    /// What BuildKit receives, as buildx sends it: one filter string, its selectors ANDed.
    pub fn buildkit_filter(&self) -> Vec<String> {
        vec![self.flags.iter().map(FilterFlag::selector).collect::<Vec<_>>().join(",")]
    }

    /// The filter as BuildKit will judge it.
    pub fn compiled(&self) -> Filter {
        Filter::parse_all(&self.buildkit_filter()).expect("each selector was parsed when read")
    }

    /// The flags as `--filter` values, for a command line.
    pub fn flag_values(&self) -> Vec<String> {
        self.flags.iter().map(FilterFlag::to_string).collect()
    }

    /// What a user would not guess about how BuildKit judges these filters; `prune_sees` says
    /// whether it is for a prune, and whether that prune sees descriptions (BuildKit 0.14+).
    pub fn notes(&self, prune_sees_description: Option<bool>) -> Vec<String> {
        let mut notes = Vec::new();
        for flag in &self.flags {
            let shown = flag.to_string();
            if YES_NO_KEYS.contains(&flag.key.as_str()) && flag.operator != Operator::Matches {
                let selects = if flag.operator == Operator::Equal { "nothing" } else { "every record" };
                notes.push(format!(
                    "BuildKit gives `{}` no value, only presence: --filter {shown} selects {selects}",
                    flag.key
                ));
            }
            if let Some(sees_description) = prune_sees_description {
                if flag.key == "parents" || flag.key == "inuse" || (flag.key == "description" && !sees_description) {
                    let why = if flag.key == "description" {
                        "BuildKit before 0.14 does not show a record's description to prune filters"
                    } else if flag.key == "parents" {
                        "BuildKit's prune does not show a record's parents to its filters"
                    } else {
                        "BuildKit never prunes a record in use, and shows none as in use to prune filters"
                    };
                    let selects =
                        if flag.operator == Operator::Equal { "nothing" } else { "as if the field were empty" };
                    notes.push(format!("{why}: --filter {shown} selects {selects}"));
                }
            }
        }
        notes
    }
}

impl FilterFlag {
    /// The containerd selector buildx makes of it.
    pub fn selector(&self) -> String {
        match (self.key.as_str(), self.operator) {
            ("id", Operator::Equal) | (_, Operator::Matches) => format!("{}~={}", self.key, self.value),
            (_, Operator::NotEqual) => format!("{}!={}", self.key, self.value),
            (_, Operator::Equal) => format!("{}=={}", self.key, self.value),
        }
    }
}

impl std::fmt::Display for FilterFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.operator {
            Operator::Equal => "=",
            Operator::NotEqual => "!=",
            Operator::Matches => "~=",
        };
        write!(f, "{}{op}{}", self.key, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(flags: &[&str]) -> String {
        CacheFilters::parse(flags).unwrap().buildkit_filter().remove(0)
    }

    #[test]
    fn flags_become_the_filter_buildx_sends() {
        assert_eq!(sent(&[]), "");
        assert_eq!(sent(&["type=exec.cachemount"]), "type==exec.cachemount");
        assert_eq!(sent(&["id=abc"]), "id~=abc");
        assert_eq!(sent(&["type!=regular", "description~=\"go build\""]), "type!=regular,description~=\"go build\"");
        assert_eq!(sent(&[" Type = regular "]), "type==regular");
        assert_eq!(sent(&["type=regular", "type=regular"]), "type==regular");
        assert_eq!(sent(&["description=\"a, b\""]), "description==\"a, b\"");
    }

    #[test]
    fn until_is_the_keep_duration_not_a_filter() {
        let f = CacheFilters::parse(&["until=24h", "type=regular"]).unwrap();
        assert_eq!(f.keep_duration_ns, 24 * 3_600_000_000_000);
        assert_eq!(f.buildkit_filter(), ["type==regular"]);
        assert_eq!(CacheFilters::parse(&["unused-for=90m"]).unwrap().keep_duration_ns, 90 * 60_000_000_000);
    }

    #[test]
    fn mistakes_are_refused_before_anything_is_sent() {
        let error = |flags: &[&str]| CacheFilters::parse(flags).unwrap_err().to_string();
        assert_eq!(error(&["type"]), "bad format of filter \"type\" (expected name=value)");
        assert!(error(&["colour=red"]).starts_with("unknown filter key \"colour\""), "{}", error(&["colour=red"]));
        assert_eq!(error(&["type="]), "filter \"type=\" has no value");
        assert_eq!(error(&["type=regular", "type=frontend"]), "\"type\" filter expects only one value");
        assert_eq!(error(&["until=1h", "unused-for=2h"]), "conflicting filters \"until\" and \"unused-for\"");
        assert!(error(&["until=tomorrow"]).starts_with("\"until\" filter expects a duration (e.g., '24h')"));
        assert!(error(&["description~=["]).contains("invalid regular expression"));
        assert!(error(&["description=a,b"]).contains("put it in double quotes"));
        assert!(error(&["description~=go build"]).contains("put it in double quotes"));
        assert!(error(&["type==regular"]).contains("cannot be read by BuildKit"), "{}", error(&["type==regular"]));
    }

    #[test]
    fn filters_that_cannot_work_as_written_say_so() {
        let f = CacheFilters::parse(&["mutable=true", "parents=abc", "description=x"]).unwrap();
        let notes = f.notes(Some(false));
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].contains("--filter mutable=true selects nothing"));
        assert!(notes[1].contains("parents"));
        assert!(notes[2].contains("before 0.14"));
        assert_eq!(f.notes(None).len(), 1, "disk usage sees parents and descriptions");
    }
}
