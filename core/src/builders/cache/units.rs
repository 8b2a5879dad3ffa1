//! Sizes and durations as buildx reads and writes them (docker/go-units 0.5 and Go's
//! `time.ParseDuration`), so that what Buildlane prints and accepts is what `docker buildx du` and
//! `prune` print and accept. No crate reproduces Go's `%.4g`, go-units' size suffixes or Go's
//! duration syntax exactly, so they are written here against the upstream test tables.

/// go-units' `HumanSize`: decimal units, four significant digits (`271.7MB`, `149B`, `1.069MB`).
pub fn human_size(bytes: f64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    format!("{}{}", go_general(size, 4), UNITS[unit])
}

/// Go's `%.{precision}g`: `precision` significant digits, no trailing zeros, exponent form only
/// when the exponent is below -4 or at least the precision.
fn go_general(value: f64, precision: usize) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let scientific = format!("{:.*e}", precision - 1, value);
    let (mantissa, exponent) = scientific.split_once('e').expect("`{:e}` always writes an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` writes an integer exponent");
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s.to_owned()
        }
    };
    if exponent < -4 || exponent >= precision as i32 {
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{}e{sign}{:02}", trim(mantissa), exponent.abs());
    }
    let decimals = (precision as i32 - 1 - exponent).max(0) as usize;
    trim(&format!("{value:.decimals$}"))
}

/// go-units' `HumanDuration` (buildx adds " ago").
pub fn human_duration(nanoseconds: i64) -> String {
    let seconds = nanoseconds / 1_000_000_000;
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = nanoseconds / 60_000_000_000;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (nanoseconds as f64 / 3.6e12 + 0.5) as i64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", (nanoseconds as f64 / 3.6e12) as i64 / 24 / 365)
}

/// go-units' `RAMInBytes`, which `--keep-storage` and the other space flags use: binary
/// multiples (`k` = 1024), an optional `b` or `ib`, any case, one optional space.
pub fn ram_in_bytes(text: &str) -> Result<i64, String> {
    let invalid = || format!("invalid size: '{text}'");
    let sep = text.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ').ok_or_else(invalid)?;
    let (number, suffix) = if text.as_bytes()[sep] == b' ' {
        (&text[..sep], &text[sep + 1..])
    } else {
        (&text[..sep + 1], &text[sep + 1..])
    };
    let size = go_parse_float(number).ok_or_else(invalid)?;
    if size < 0.0 {
        return Err(invalid());
    }
    if suffix.is_empty() {
        return Ok(size as i64);
    }
    let bad_suffix = |s: &str| format!("invalid suffix: '{s}'");
    if suffix.len() > 3 {
        return Err(bad_suffix(suffix));
    }
    let lower = suffix.to_lowercase();
    if lower == "b" {
        return Ok(size as i64);
    }
    let multiplier: i64 = match lower.as_bytes()[0] {
        b'k' => 1 << 10,
        b'm' => 1 << 20,
        b'g' => 1 << 30,
        b't' => 1 << 40,
        b'p' => 1 << 50,
        _ => return Err(bad_suffix(&lower)),
    };
    match (lower.len(), &lower[1..]) {
        (1, _) | (2, "b") | (3, "ib") => Ok((size * multiplier as f64) as i64),
        _ => Err(bad_suffix(&lower)),
    }
}

/// Go's `strconv.ParseFloat` for the decimal numbers a size can hold.
fn go_parse_float(text: &str) -> Option<f64> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let decimal = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|&c| c == '.').count() <= 1
        && digits != ".";
    if !decimal {
        return None;
    }
    text.parse().ok()
}

/// Go's `time.ParseDuration` in nanoseconds (`24h`, `1h30m`, `1.5h`, `300ms`, `-1h`), with Go's
/// error wording.
pub fn parse_go_duration(text: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration \"{text}\"");
    let mut s = text;
    let mut negative = false;
    if let Some(rest) = s.strip_prefix('-') {
        negative = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    const LIMIT: u128 = 1 << 63;
    let mut total: u128 = 0;
    while !s.is_empty() {
        if !s.starts_with(|c: char| c == '.' || c.is_ascii_digit()) {
            return Err(invalid());
        }
        let int_len = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let mut value: u128 = 0;
        for c in s[..int_len].bytes() {
            value = value * 10 + u128::from(c - b'0');
            if value > LIMIT {
                return Err(invalid());
            }
        }
        s = &s[int_len..];
        let (mut fraction, mut scale, mut has_fraction) = (0u128, 1f64, false);
        if let Some(rest) = s.strip_prefix('.') {
            let frac_len = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            let mut overflow = false;
            for c in rest[..frac_len].bytes() {
                if overflow {
                    continue;
                }
                let next = fraction * 10 + u128::from(c - b'0');
                if next > LIMIT {
                    overflow = true;
                    continue;
                }
                fraction = next;
                scale *= 10.0;
            }
            has_fraction = frac_len > 0;
            s = &rest[frac_len..];
        }
        if int_len == 0 && !has_fraction {
            return Err(invalid());
        }
        let unit_len = s.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(s.len());
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration \"{text}\""));
        }
        let unit: u128 = match &s[..unit_len] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            other => return Err(format!("time: unknown unit \"{other}\" in duration \"{text}\"")),
        };
        s = &s[unit_len..];
        if value > LIMIT / unit {
            return Err(invalid());
        }
        value *= unit;
        if fraction > 0 {
            value += (fraction as f64 * (unit as f64 / scale)) as u128;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_as_go_units_prints_them() {
        const KB: f64 = 1000.0;
        const MB: f64 = 1000.0 * KB;
        const GB: f64 = 1000.0 * MB;
        const TB: f64 = 1000.0 * GB;
        const PB: f64 = 1000.0 * TB;
        assert_eq!(human_size(1000.0), "1kB");
        assert_eq!(human_size(1024.0), "1.024kB");
        assert_eq!(human_size(1_000_000.0), "1MB");
        assert_eq!(human_size(1_048_576.0), "1.049MB");
        assert_eq!(human_size(2.0 * MB), "2MB");
        assert_eq!(human_size(3.42 * GB), "3.42GB");
        assert_eq!(human_size(5.372 * TB), "5.372TB");
        assert_eq!(human_size(2.22 * PB), "2.22PB");
        assert_eq!(human_size(10_000_000_000_000.0 * PB), "1e+04YB");
        // Seen from buildx on this project's engine.
        assert_eq!(human_size(0.0), "0B");
        assert_eq!(human_size(149.0), "149B");
        assert_eq!(human_size(919_000.0), "919kB");
        assert_eq!(human_size(999_960.0), "1000kB");
    }

    #[test]
    fn durations_print_as_go_units_prints_them() {
        const S: i64 = 1_000_000_000;
        const MIN: i64 = 60 * S;
        const H: i64 = 60 * MIN;
        const DAY: i64 = 24 * H;
        const WEEK: i64 = 7 * DAY;
        const MONTH: i64 = 30 * DAY;
        const YEAR: i64 = 365 * DAY;
        let table = [
            (450_000_000, "Less than a second"),
            (S, "1 second"),
            (45 * S, "45 seconds"),
            (59 * S, "59 seconds"),
            (60 * S, "About a minute"),
            (3 * MIN, "3 minutes"),
            (35 * MIN + 40 * S, "35 minutes"),
            (59 * MIN, "59 minutes"),
            (H, "About an hour"),
            (H + 29 * MIN, "About an hour"),
            (H + 31 * MIN, "2 hours"),
            (3 * H + 29 * MIN, "3 hours"),
            (3 * H + 31 * MIN, "4 hours"),
            (24 * H, "24 hours"),
            (DAY + 12 * H, "36 hours"),
            (2 * DAY, "2 days"),
            (13 * DAY + 5 * H, "13 days"),
            (2 * WEEK, "2 weeks"),
            (4 * WEEK + 3 * DAY, "4 weeks"),
            (MONTH, "4 weeks"),
            (MONTH + 2 * WEEK, "6 weeks"),
            (2 * MONTH, "2 months"),
            (5 * MONTH + 2 * WEEK, "5 months"),
            (24 * MONTH, "24 months"),
            (24 * MONTH + 2 * WEEK, "2 years"),
            (3 * YEAR + 2 * MONTH, "3 years"),
            (-5 * S, "Less than a second"),
        ];
        for (d, want) in table {
            assert_eq!(human_duration(d), want, "{d} ns");
        }
    }

    #[test]
    fn space_flags_read_binary_sizes_as_go_units_reads_them() {
        let ok = [
            ("32", 32),
            ("32b", 32),
            ("32B", 32),
            ("32k", 32 << 10),
            ("32K", 32 << 10),
            ("32kb", 32 << 10),
            ("32Kb", 32 << 10),
            ("32Kib", 32 << 10),
            ("32KIB", 32 << 10),
            ("32Mb", 32 << 20),
            ("32Gb", 32 << 30),
            ("32Tb", 32 << 40),
            ("32Pb", 32 << 50),
            ("32PB", 32 << 50),
            ("32P", 32 << 50),
            ("0 B", 0),
            ("32.5 B", 32),
            ("0 ", 0),
            ("-0", 0),
            (".3k", 307),
            ("10GB", 10 << 30),
        ];
        for (text, want) in ok {
            assert_eq!(ram_in_bytes(text), Ok(want), "{text}");
        }
        for text in
            ["", "hello", ".", " 0", "0b ", "-32", "-32 B", "32b.", "32 bb", "32  b", " 32 ", "32m b", "32bm", "32kB2"]
        {
            assert!(ram_in_bytes(text).is_err(), "{text:?} was accepted");
        }
    }

    #[test]
    fn durations_parse_as_go_parses_them() {
        let ok = [
            ("0", 0),
            ("5s", 5_000_000_000),
            ("30s", 30_000_000_000),
            ("1478s", 1_478_000_000_000),
            ("-5s", -5_000_000_000),
            ("+5s", 5_000_000_000),
            ("-0", 0),
            ("5.0s", 5_000_000_000),
            ("5.6s", 5_600_000_000),
            ("5.s", 5_000_000_000),
            (".5s", 500_000_000),
            ("1.004s", 1_004_000_000),
            ("10ns", 10),
            ("11us", 11_000),
            ("12\u{b5}s", 12_000),
            ("12\u{3bc}s", 12_000),
            ("13ms", 13_000_000),
            ("15m", 900_000_000_000),
            ("16h", 57_600_000_000_000),
            ("3h30m", 12_600_000_000_000),
            ("10.5s4m", 250_500_000_000),
            ("-2m3.4s", -123_400_000_000),
            ("1h2m3s4ms5us6ns", 3_723_004_005_006),
            ("39h9m14.425s", 140_954_425_000_000),
            ("52763797000ns", 52_763_797_000),
            ("0.3333333333333333333h", 1_200_000_000_000),
            ("9007199254740993ns", 9_007_199_254_740_993),
            ("9223372036854775807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("0.100000000000000000000h", 360_000_000_000),
        ];
        for (text, want) in ok {
            assert_eq!(parse_go_duration(text), Ok(want), "{text}");
        }
        for text in ["", "3", "-", "s", ".", "-.", ".s", "+.s", "1d", "\u{85}\u{85}", "9223372036854775808ns"] {
            assert!(parse_go_duration(text).is_err(), "{text:?} was accepted");
        }
        assert_eq!(parse_go_duration("24x").unwrap_err(), "time: unknown unit \"x\" in duration \"24x\"");
        assert_eq!(parse_go_duration("24").unwrap_err(), "time: missing unit in duration \"24\"");
    }
}
