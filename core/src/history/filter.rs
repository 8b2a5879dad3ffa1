//! `docker buildx history ls --filter` (buildx 0.20+): `ref`, `repository` and `status` with `=` or
//! `!=`, `startedAt`, `completedAt` and `duration` with `<`, `<=`, `>`, `>=`; several filters all
//! apply. BuildKit before 0.20 ignores filters, so they are matched here, as buildx matches them for
//! such daemons (commands/history/utils.go).

use chrono::{DateTime, Utc};

use super::entry::{HistoryEntry, HistoryStatus};
use super::HistoryError;
use crate::go_text::time::parse_duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Ref,
    Repository,
    Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeField {
    StartedAt,
    CompletedAt,
    Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// One `--filter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `=` is a substring match (an exact one for `status`), `!=` an exact mismatch.
    Value { field: Field, value: String, negated: bool },
    /// Times are compared in whole seconds since the epoch, durations in nanoseconds.
    Time { field: TimeField, order: Order, against: i64 },
}

/// Splits at the first operator, trying them in the order buildx does except that `<=` and `>=`
/// are tried before `=` (buildx 0.20's own order makes `duration<=5s` an unsupported filter).
fn split(filter: &str) -> Option<(&str, &str, &str)> {
    let at = filter.find(['!', '=', '<', '>'])?;
    let (key, rest) = filter.split_at(at);
    let op = ["!=", "<=", ">=", "=", "<", ">"].into_iter().find(|op| rest.starts_with(op))?;
    Some((key, op, &rest[op.len()..]))
}

impl Filter {
    pub fn parse(filter: &str, now: DateTime<Utc>) -> Result<Self, HistoryError> {
        let invalid =
            |reason: &str| HistoryError::InvalidFilter { filter: filter.to_owned(), reason: reason.to_owned() };
        let (key, op, value) = split(filter).ok_or_else(|| invalid("expected KEY=VALUE, KEY!=VALUE or KEY<VALUE"))?;
        let field = match key {
            "ref" => Some(Field::Ref),
            "repository" => Some(Field::Repository),
            "status" => Some(Field::Status),
            _ => None,
        };
        if let Some(field) = field {
            return match op {
                "=" | "!=" => Ok(Filter::Value { field, value: value.to_owned(), negated: op == "!=" }),
                _ => Err(invalid("expected = or !=")),
            };
        }
        let field = match key {
            "startedAt" => TimeField::StartedAt,
            "completedAt" => TimeField::CompletedAt,
            "duration" => TimeField::Duration,
            _ => {
                return Err(invalid(
                    "unsupported filter: the keys are ref, repository, status, startedAt, completedAt and duration",
                ))
            }
        };
        let order = match op {
            "<" => Order::Less,
            "<=" => Order::LessOrEqual,
            ">" => Order::Greater,
            ">=" => Order::GreaterOrEqual,
            _ => return Err(invalid("expected <=, <, >= or >")),
        };
        let against = match field {
            TimeField::Duration => parse_duration(value).map_err(|_| invalid("invalid duration"))?,
            // A duration means that long ago; else an RFC 3339 time.
            TimeField::StartedAt | TimeField::CompletedAt => match parse_duration(value).ok() {
                Some(ago) => (now - chrono::Duration::nanoseconds(ago)).timestamp(),
                None => DateTime::parse_from_rfc3339(value).map_err(|_| invalid("invalid time"))?.timestamp(),
            },
        };
        Ok(Filter::Time { field, order, against })
    }

    pub fn matches(&self, entry: &HistoryEntry) -> bool {
        match self {
            Filter::Value { field, value, negated } => {
                let actual = match field {
                    Field::Ref => entry.build_ref.clone(),
                    Field::Repository => entry.repository(),
                    Field::Status => match entry.status {
                        HistoryStatus::Running => "running",
                        HistoryStatus::Completed => "completed",
                        HistoryStatus::Failed => "error",
                        HistoryStatus::Canceled => "canceled",
                    }
                    .to_owned(),
                };
                match (negated, field) {
                    (true, _) => actual != *value,
                    (false, Field::Status) => actual == *value,
                    (false, _) => actual.contains(value.as_str()),
                }
            }
            Filter::Time { field, order, against } => {
                let actual = match field {
                    TimeField::StartedAt => entry.created().map_or(0, |t| t.timestamp()),
                    TimeField::CompletedAt => entry.completed().map_or(0, |t| t.timestamp()),
                    TimeField::Duration => match (entry.created(), entry.completed()) {
                        (Some(c), Some(e)) => (e - c).num_nanoseconds().unwrap_or(i64::MAX),
                        _ => 0,
                    },
                };
                match order {
                    Order::Less => actual < *against,
                    Order::LessOrEqual => actual <= *against,
                    Order::Greater => actual > *against,
                    Order::GreaterOrEqual => actual >= *against,
                }
            }
        }
    }
}

/// How a command names one build: its ref, `^N` (the N-th newest, `^0` the newest), or nothing
/// (the newest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildSpec {
    Newest,
    Offset(usize),
    Ref(String),
}

impl BuildSpec {
    pub fn parse(text: &str) -> Result<Self, HistoryError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(BuildSpec::Newest);
        }
        if let Some(n) = text.strip_prefix('^') {
            return n.parse().map(BuildSpec::Offset).map_err(|_| HistoryError::InvalidOffset(text.to_owned()));
        }
        if !text.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(HistoryError::InvalidRef(text.to_owned()));
        }
        Ok(BuildSpec::Ref(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_take_only_the_operators_their_key_allows() {
        let now = Utc::now();
        assert!(Filter::parse("status=error", now).is_ok());
        assert!(Filter::parse("ref!=abc", now).is_ok());
        assert!(Filter::parse("duration<=5s", now).is_ok());
        assert!(Filter::parse("startedAt>2026-01-02T03:04:05Z", now).is_ok());
        for bad in ["status<3", "duration=5s", "size>1", "nokey", "duration>soon"] {
            assert!(matches!(Filter::parse(bad, now), Err(HistoryError::InvalidFilter { .. })), "{bad}");
        }
    }

    #[test]
    fn builds_are_named_by_ref_offset_or_nothing() {
        assert_eq!(BuildSpec::parse("").unwrap(), BuildSpec::Newest);
        assert_eq!(BuildSpec::parse("^2").unwrap(), BuildSpec::Offset(2));
        assert_eq!(
            BuildSpec::parse("k3egthy0o0m15dymh734qf2ep").unwrap(),
            BuildSpec::Ref("k3egthy0o0m15dymh734qf2ep".into())
        );
        assert!(matches!(BuildSpec::parse("^x"), Err(HistoryError::InvalidOffset(_))));
        assert!(matches!(BuildSpec::parse("../x"), Err(HistoryError::InvalidRef(_))));
    }
}
