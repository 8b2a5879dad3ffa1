//! The text of Go programs that Buildlane reproduces byte for byte, because buildx and the docker
//! CLI print it and people (and scripts) read it: `text/tabwriter`'s alignment ([`tabwriter`]),
//! docker/go-units' sizes and ages ([`units`]), `time.Duration`'s and `time.Time`'s text and
//! `time.ParseDuration` ([`time`]), `strconv.Quote`, which `%q` prints ([`quote`]), and
//! `strconv.ParseBool` ([`parse_bool`]). Each is checked against the upstream package's own test table.

pub mod parse_bool;
pub mod quote;
pub mod tabwriter;
pub mod time;
pub mod units;
