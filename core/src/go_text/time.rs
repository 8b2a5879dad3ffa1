//! Go's `time` package as buildx prints and reads it: `Duration.String` (`48h0m0s`),
//! `ParseDuration` with its error wording, `Time.String` for UTC times (`2026-12-01 12:47:26 +0000
//! UTC`) and `RFC3339Nano`.

use chrono::{DateTime, Utc};

/// Why `ParseDuration` refused a duration, in Go's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("time: invalid duration {}", quote(.0))]
    Invalid(String),
    #[error("time: missing unit in duration {}", quote(.0))]
    MissingUnit(String),
    #[error("time: unknown unit {} in duration {}", quote(.unit), quote(.text))]
    UnknownUnit { unit: String, text: String },
}

/// `Duration.String`: `48h0m0s`, `1m30s`, `1.5s`, `500ms`, `1.5µs`, `0s`.
pub fn duration_string(nanoseconds: i64) -> String {
    if nanoseconds == 0 {
        return "0s".into();
    }
    let sign = if nanoseconds < 0 { "-" } else { "" };
    let u = nanoseconds.unsigned_abs();
    if u < 1_000_000_000 {
        let (unit, digits) = match u {
            0..=999 => return format!("{sign}{u}ns"),
            1_000..=999_999 => ("µs", 3),
            _ => ("ms", 6),
        };
        return format!("{sign}{}{unit}", fraction(u, digits));
    }
    let seconds = fraction(u % 60_000_000_000, 9);
    let minutes = u / 60_000_000_000;
    if minutes == 0 {
        return format!("{sign}{seconds}s");
    }
    let hours = minutes / 60;
    if hours == 0 {
        return format!("{sign}{minutes}m{seconds}s");
    }
    format!("{sign}{hours}h{}m{seconds}s", minutes % 60)
}

/// `value / 10^digits`, its fraction without trailing zeros (Go's `fmtFrac` then `fmtInt`).
fn fraction(value: u64, digits: u32) -> String {
    let scale = 10u64.pow(digits);
    let frac = format!("{:0width$}", value % scale, width = digits as usize);
    match frac.trim_end_matches('0') {
        "" => (value / scale).to_string(),
        frac => format!("{}.{frac}", value / scale),
    }
}

/// `ParseDuration` in nanoseconds: `24h`, `1h30m`, `1.5h`, `300ms`, `-1h`, `0`.
pub fn parse_duration(text: &str) -> Result<i64, DurationError> {
    const LIMIT: u128 = 1 << 63;
    let invalid = || DurationError::Invalid(text.to_owned());
    let (negative, mut s) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        if !s.starts_with(|c: char| c == '.' || c.is_ascii_digit()) {
            return Err(invalid());
        }
        let int_len = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let mut value: u128 = 0;
        for digit in s[..int_len].bytes() {
            value = value * 10 + u128::from(digit - b'0');
            if value > LIMIT {
                return Err(invalid());
            }
        }
        s = &s[int_len..];
        // Go's leadingFraction: digits past what fits are read and dropped.
        let (mut frac, mut scale, mut frac_len) = (0u128, 1f64, 0);
        if let Some(rest) = s.strip_prefix('.') {
            frac_len = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            let mut overflow = false;
            for digit in rest[..frac_len].bytes() {
                let next = frac * 10 + u128::from(digit - b'0');
                if overflow || next > LIMIT {
                    overflow = true;
                    continue;
                }
                frac = next;
                scale *= 10.0;
            }
            s = &rest[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return Err(invalid());
        }
        let unit_len = s.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(s.len());
        if unit_len == 0 {
            return Err(DurationError::MissingUnit(text.to_owned()));
        }
        let unit: u128 = match &s[..unit_len] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            other => return Err(DurationError::UnknownUnit { unit: other.to_owned(), text: text.to_owned() }),
        };
        s = &s[unit_len..];
        if value > LIMIT / unit {
            return Err(invalid());
        }
        value *= unit;
        if frac > 0 {
            // As Go does it: in floating point, accurate to the nanosecond for hours' fractions.
            value += (frac as f64 * (unit as f64 / scale)) as u128;
            if value > LIMIT {
                return Err(invalid());
            }
        }
        total += value;
        if total > LIMIT {
            return Err(invalid());
        }
    }
    if negative {
        return Ok((total as i128).wrapping_neg() as i64);
    }
    i64::try_from(total).map_err(|_| invalid())
}

/// How `time` quotes a duration in its errors: ASCII from the space on as it is (`"` and `\`
/// escaped), every byte of anything else as `\xNN`.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c.is_ascii() && c >= ' ' {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        } else {
            let mut bytes = [0u8; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
    }
    out.push('"');
    out
}

/// `Time.String` of a UTC time: `2026-12-01 12:47:26.5 +0000 UTC`.
pub fn time_string(t: &DateTime<Utc>) -> String {
    format!("{}{} +0000 UTC", t.format("%Y-%m-%d %H:%M:%S"), nanoseconds(t))
}

/// `.999999999` in Go's layouts: the fraction of a second without trailing zeros, none when zero.
fn nanoseconds(t: &DateTime<Utc>) -> String {
    match t.timestamp_subsec_nanos() {
        0 => String::new(),
        nanos => format!(".{nanos:09}").trim_end_matches('0').to_owned(),
    }
}

/// `Time.String` of Go's zero time, what buildx prints for a time it was not given.
pub const ZERO_TIME: &str = "0001-01-01 00:00:00 +0000 UTC";

/// `time.RFC3339Nano` of a UTC time: the fraction without trailing zeros, `Z`.
pub fn rfc3339_nano(t: &DateTime<Utc>) -> String {
    format!("{}{}Z", t.format("%Y-%m-%dT%H:%M:%S"), nanoseconds(t))
}

#[cfg(test)]
mod tests {
    //! Go's src/time/time_test.go: durationTests, parseDurationTests and parseDurationErrorTests
    //! (the cases a Rust string can hold), case for case.
    use super::*;

    const NS: i64 = 1;
    const US: i64 = 1_000;
    const MS: i64 = 1_000_000;
    const S: i64 = 1_000_000_000;
    const MIN: i64 = 60 * S;
    const H: i64 = 60 * MIN;

    #[test]
    fn duration_strings() {
        let table = [
            ("0s", 0),
            ("1ns", NS),
            ("1.1µs", 1100 * NS),
            ("2.2ms", 2200 * US),
            ("3.3s", 3300 * MS),
            ("4m5s", 4 * MIN + 5 * S),
            ("4m5.001s", 4 * MIN + 5001 * MS),
            ("5h6m7.001s", 5 * H + 6 * MIN + 7001 * MS),
            ("8m0.000000001s", 8 * MIN + NS),
            ("2562047h47m16.854775807s", i64::MAX),
            ("-2562047h47m16.854775808s", i64::MIN),
            // buildx inspect's GC policies.
            ("48h0m0s", 48 * H),
            ("48h0m0.767674471s", 48 * H + 767_674_471),
            ("1m30s", 90 * S),
            ("1.5s", 1500 * MS),
            ("500ms", 500 * MS),
            ("1.5µs", 1500 * NS),
            ("42ns", 42 * NS),
        ];
        for (want, d) in table {
            assert_eq!(duration_string(d), want, "{d}");
            if d > 0 {
                assert_eq!(duration_string(-d), format!("-{want}"), "{}", -d);
            }
        }
    }

    #[test]
    fn durations_parse_as_go_parses_them() {
        let table = [
            ("0", 0),
            ("5s", 5 * S),
            ("30s", 30 * S),
            ("1478s", 1478 * S),
            ("-5s", -5 * S),
            ("+5s", 5 * S),
            ("-0", 0),
            ("+0", 0),
            ("5.0s", 5 * S),
            ("5.6s", 5 * S + 600 * MS),
            ("5.s", 5 * S),
            (".5s", 500 * MS),
            ("1.0s", S),
            ("1.00s", S),
            ("1.004s", S + 4 * MS),
            ("1.0040s", S + 4 * MS),
            ("100.00100s", 100 * S + MS),
            ("10ns", 10 * NS),
            ("11us", 11 * US),
            ("12\u{b5}s", 12 * US),
            ("12\u{3bc}s", 12 * US),
            ("13ms", 13 * MS),
            ("14s", 14 * S),
            ("15m", 15 * MIN),
            ("16h", 16 * H),
            ("3h30m", 3 * H + 30 * MIN),
            ("10.5s4m", 4 * MIN + 10 * S + 500 * MS),
            ("-2m3.4s", -(2 * MIN + 3 * S + 400 * MS)),
            ("1h2m3s4ms5us6ns", H + 2 * MIN + 3 * S + 4 * MS + 5 * US + 6 * NS),
            ("39h9m14.425s", 39 * H + 9 * MIN + 14 * S + 425 * MS),
            ("52763797000ns", 52_763_797_000 * NS),
            ("0.3333333333333333333h", 20 * MIN),
            ("9007199254740993ns", (1 << 53) + 1),
            ("9223372036854775807ns", i64::MAX),
            ("9223372036854775.807us", i64::MAX),
            ("9223372036s854ms775us807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("-9223372036854775.808us", i64::MIN),
            ("-9223372036s854ms775us808ns", i64::MIN),
            ("-2562047h47m16.854775808s", i64::MIN),
            ("0.100000000000000000000h", 6 * MIN),
            ("0.830103483285477580700h", 49 * MIN + 48 * S + 372_539_827 * NS),
        ];
        for (text, want) in table {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
        // Go's round trip of the extremes.
        for d in [i64::MAX, i64::MIN] {
            assert_eq!(parse_duration(&duration_string(d)), Ok(d));
        }
    }

    #[test]
    fn bad_durations_are_refused_in_gos_words() {
        let table = [
            ("", "\"\""),
            ("3", "\"3\""),
            ("-", "\"-\""),
            ("s", "\"s\""),
            (".", "\".\""),
            ("-.", "\"-.\""),
            (".s", "\".s\""),
            ("+.s", "\"+.s\""),
            ("1d", "\"1d\""),
            ("\u{fffd}", "\"\\xef\\xbf\\xbd\""),
            ("\u{fffd} hello \u{fffd} world", "\"\\xef\\xbf\\xbd hello \\xef\\xbf\\xbd world\""),
            ("9223372036854775810ns", "\"9223372036854775810ns\""),
            ("9223372036854775808ns", "\"9223372036854775808ns\""),
            ("-9223372036854775809ns", "\"-9223372036854775809ns\""),
            ("9223372036854776us", "\"9223372036854776us\""),
            ("3000000h", "\"3000000h\""),
            ("9223372036854775.808us", "\"9223372036854775.808us\""),
            ("9223372036854ms775us808ns", "\"9223372036854ms775us808ns\""),
        ];
        for (text, quoted) in table {
            let error = parse_duration(text).expect_err(text).to_string();
            assert!(error.contains(quoted), "{text:?}: {error} does not contain {quoted}");
        }
        assert_eq!(parse_duration("24x").unwrap_err().to_string(), "time: unknown unit \"x\" in duration \"24x\"");
        assert_eq!(parse_duration("24").unwrap_err().to_string(), "time: missing unit in duration \"24\"");
        assert_eq!(parse_duration("1d").unwrap_err().to_string(), "time: unknown unit \"d\" in duration \"1d\"");
    }

    #[test]
    fn times_print_as_go_prints_them() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(time_string(&t("2026-12-01T12:47:26Z")), "2026-12-01 12:47:26 +0000 UTC");
        assert_eq!(time_string(&t("2026-12-01T12:47:26.5Z")), "2026-12-01 12:47:26.5 +0000 UTC");
        assert_eq!(time_string(&t("2026-12-01T12:48:38.978399020Z")), "2026-12-01 12:48:38.97839902 +0000 UTC");
        assert_eq!(rfc3339_nano(&t("2026-12-01T13:04:05.120Z")), "2026-12-01T13:04:05.12Z");
        assert_eq!(rfc3339_nano(&t("2026-12-01T13:04:05Z")), "2026-12-01T13:04:05Z");
    }
}
