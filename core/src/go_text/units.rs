//! docker/go-units 0.5 (what buildx 0.13 vendors): sizes as `HumanSize` (decimal) and `BytesSize`
//! (binary) print them with Go's `%.4g`, sizes as `RAMInBytes` reads them, and ages as
//! `HumanDuration` words them. No crate prints Go's `%g` or reads go-units' suffixes exactly.

/// Why `RAMInBytes` refused a size, in go-units' words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("invalid size: '{0}'")]
    Size(String),
    #[error("strconv.ParseFloat: parsing \"{0}\": invalid syntax")]
    Number(String),
    #[error("invalid suffix: '{0}'")]
    Suffix(String),
}

/// `HumanSize`: decimal units, four significant digits (`271.7MB`, `149B`, `1.069MB`).
pub fn human_size(bytes: f64) -> String {
    sized(bytes, 1000.0, &["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"])
}

/// `BytesSize`: binary units, four significant digits (`512MiB`, `1.5KiB`).
pub fn bytes_size(bytes: f64) -> String {
    sized(bytes, 1024.0, &["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"])
}

fn sized(bytes: f64, base: f64, units: &[&str]) -> String {
    let (mut size, mut unit) = (bytes, 0);
    while size >= base && unit < units.len() - 1 {
        size /= base;
        unit += 1;
    }
    format!("{}{}", format_g(size, 4), units[unit])
}

/// Go's `%.{precision}g`: `precision` significant digits, trailing zeros dropped, the exponent
/// form only when the exponent is below -4 or at least the precision.
fn format_g(value: f64, precision: usize) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let scientific = format!("{:.*e}", precision - 1, value);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let trimmed = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s.to_owned()
        }
    };
    if exponent < -4 || exponent >= precision as i32 {
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{}e{sign}{:02}", trimmed(mantissa), exponent.abs());
    }
    let decimals = (precision as i32 - 1 - exponent).max(0) as usize;
    trimmed(&format!("{value:.decimals$}"))
}

/// `RAMInBytes`, which buildx's `--keep-storage` and the other space flags use: binary multiples
/// (`k` = 1024), an optional `b` or `ib`, any case, one optional space before the suffix.
pub fn ram_in_bytes(text: &str) -> Result<i64, SizeError> {
    let sep = text
        .rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ')
        .ok_or_else(|| SizeError::Size(text.to_owned()))?;
    let (number, suffix) = match text.as_bytes()[sep] {
        b' ' => (&text[..sep], &text[sep + 1..]),
        _ => (&text[..sep + 1], &text[sep + 1..]),
    };
    let size = parse_float(number)?;
    if size < 0.0 {
        return Err(SizeError::Size(text.to_owned()));
    }
    if suffix.is_empty() {
        return Ok(size as i64);
    }
    if suffix.len() > 3 {
        return Err(SizeError::Suffix(suffix.to_owned()));
    }
    let lower = suffix.to_lowercase();
    if lower == "b" {
        return Ok(size as i64);
    }
    let bad = || SizeError::Suffix(lower.clone());
    let multiplier: i64 = match lower.as_bytes()[0] {
        b'k' => 1 << 10,
        b'm' => 1 << 20,
        b'g' => 1 << 30,
        b't' => 1 << 40,
        b'p' => 1 << 50,
        _ => return Err(bad()),
    };
    match (lower.len(), &lower[1..]) {
        (1, _) | (2, "b") | (3, "ib") => Ok((size * multiplier as f64) as i64),
        _ => Err(bad()),
    }
}

/// `strconv.ParseFloat` for what can stand before a size's suffix: decimal digits, one point,
/// a sign, an exponent.
fn parse_float(text: &str) -> Result<f64, SizeError> {
    let decimal = text.bytes().any(|b| b.is_ascii_digit())
        && text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'+' | b'-' | b'e' | b'E'));
    match text.parse() {
        Ok(size) if decimal => Ok(size),
        _ => Err(SizeError::Number(text.to_owned())),
    }
}

/// `HumanDuration` (buildx and docker add " ago"): seconds, minutes, hours rounded, then days,
/// weeks, months and years.
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

#[cfg(test)]
mod tests {
    //! go-units v0.5.0's size_test.go and duration_test.go, case for case, and sizes seen from
    //! buildx on this project's engine.

    const KB: f64 = 1000.0;
    const MB: f64 = 1000.0 * KB;
    const GB: f64 = 1000.0 * MB;
    const TB: f64 = 1000.0 * GB;
    const PB: f64 = 1000.0 * TB;
    const KIB: f64 = 1024.0;
    const MIB: f64 = 1024.0 * KIB;
    const GIB: f64 = 1024.0 * MIB;
    const TIB: f64 = 1024.0 * GIB;
    const PIB: f64 = 1024.0 * TIB;

    #[test]
    fn bytes_size() {
        let table = [
            (1024.0, "1KiB"),
            (1024.0 * 1024.0, "1MiB"),
            (1_048_576.0, "1MiB"),
            (2.0 * MIB, "2MiB"),
            (3.42 * GIB, "3.42GiB"),
            (5.372 * TIB, "5.372TiB"),
            (2.22 * PIB, "2.22PiB"),
            (KIB * KIB * KIB * KIB * KIB * PIB, "1.049e+06YiB"),
            // buildx inspect's GC policies.
            (0.0, "0B"),
            (512.0 * MIB, "512MiB"),
            (10.0 * GIB, "10GiB"),
            (512.0, "512B"),
            (1536.0, "1.5KiB"),
            (1_000_000_000.0, "953.7MiB"),
            (1023.0 * 1024.0 + 1000.0, "1024KiB"),
        ];
        for (bytes, want) in table {
            assert_eq!(super::bytes_size(bytes), want, "{bytes}");
        }
    }

    #[test]
    fn human_size() {
        let table = [
            (1000.0, "1kB"),
            (1024.0, "1.024kB"),
            (1_000_000.0, "1MB"),
            (1_048_576.0, "1.049MB"),
            (2.0 * MB, "2MB"),
            (3.42 * GB, "3.42GB"),
            (5.372 * TB, "5.372TB"),
            (2.22 * PB, "2.22PB"),
            (10_000_000_000_000.0 * PB, "1e+04YB"),
            // `docker buildx du` on this project's engine.
            (0.0, "0B"),
            (149.0, "149B"),
            (919_000.0, "919kB"),
            (999_960.0, "1000kB"),
        ];
        for (bytes, want) in table {
            assert_eq!(super::human_size(bytes), want, "{bytes}");
        }
    }

    #[test]
    fn ram_in_bytes() {
        let kib = 1i64 << 10;
        let (mib, gib, tib, pib) = (kib << 10, kib << 20, kib << 30, kib << 40);
        let ok = [
            ("32", 32),
            ("32b", 32),
            ("32B", 32),
            ("32k", 32 * kib),
            ("32K", 32 * kib),
            ("32kb", 32 * kib),
            ("32Kb", 32 * kib),
            ("32Kib", 32 * kib),
            ("32KIB", 32 * kib),
            ("32Mb", 32 * mib),
            ("32Gb", 32 * gib),
            ("32Tb", 32 * tib),
            ("32Pb", 32 * pib),
            ("32PB", 32 * pib),
            ("32P", 32 * pib),
            ("32.3", 32),
            ("32.3 mb", (32.3 * MIB) as i64),
            ("0.3MB", (0.3 * MIB) as i64),
            // FromHumanSize's cases, read with binary multiples.
            ("0", 0),
            ("0 B", 0),
            ("32.5 B", 32),
            (".3k", 307),
            ("0.", 0),
            ("0. ", 0),
            ("0.b", 0),
            ("-0", 0),
            ("-0 b", 0),
            ("32.", 32),
            ("32. b", 32),
            ("0 ", 0),
            ("10GB", 10 * gib),
        ];
        for (text, want) in ok {
            assert_eq!(super::ram_in_bytes(text), Ok(want), "{text}");
        }
        let refused = [
            "", "hello", "-32", " 32 ", "32m b", "32bm", " 0", " 0b", "0b ", "0 B ", ".", ". ", " ", "  ", " .",
            "-32b", "-32 B", "32b.", "32 b.", "32 bb", "32 b b", "32  b",
        ];
        for text in refused {
            assert!(super::ram_in_bytes(text).is_err(), "{text:?} was accepted");
        }
        assert_eq!(super::ram_in_bytes("ten").unwrap_err().to_string(), "invalid size: 'ten'");
        assert_eq!(super::ram_in_bytes("32bm").unwrap_err().to_string(), "invalid suffix: 'bm'");
        assert_eq!(
            super::ram_in_bytes("1.2.3k").unwrap_err().to_string(),
            "strconv.ParseFloat: parsing \"1.2.3\": invalid syntax"
        );
    }

    #[test]
    fn human_duration() {
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
            (46 * S, "46 seconds"),
            (59 * S, "59 seconds"),
            (60 * S, "About a minute"),
            (MIN, "About a minute"),
            (3 * MIN, "3 minutes"),
            (35 * MIN, "35 minutes"),
            (35 * MIN + 40 * S, "35 minutes"),
            (45 * MIN, "45 minutes"),
            (45 * MIN + 40 * S, "45 minutes"),
            (46 * MIN, "46 minutes"),
            (59 * MIN, "59 minutes"),
            (H, "About an hour"),
            (H + 29 * MIN, "About an hour"),
            (H + 31 * MIN, "2 hours"),
            (H + 59 * MIN, "2 hours"),
            (3 * H, "3 hours"),
            (3 * H + 29 * MIN, "3 hours"),
            (3 * H + 31 * MIN, "4 hours"),
            (3 * H + 59 * MIN, "4 hours"),
            (3 * H + 60 * MIN, "4 hours"),
            (24 * H, "24 hours"),
            (DAY + 12 * H, "36 hours"),
            (2 * DAY, "2 days"),
            (7 * DAY, "7 days"),
            (13 * DAY + 5 * H, "13 days"),
            (2 * WEEK, "2 weeks"),
            (2 * WEEK + 4 * DAY, "2 weeks"),
            (3 * WEEK, "3 weeks"),
            (4 * WEEK, "4 weeks"),
            (4 * WEEK + 3 * DAY, "4 weeks"),
            (MONTH, "4 weeks"),
            (MONTH + 2 * WEEK, "6 weeks"),
            (2 * MONTH, "2 months"),
            (2 * MONTH + 2 * WEEK, "2 months"),
            (3 * MONTH, "3 months"),
            (3 * MONTH + WEEK, "3 months"),
            (5 * MONTH + 2 * WEEK, "5 months"),
            (13 * MONTH, "13 months"),
            (23 * MONTH, "23 months"),
            (24 * MONTH, "24 months"),
            (24 * MONTH + 2 * WEEK, "2 years"),
            (3 * YEAR + 2 * MONTH, "3 years"),
            // A clock a little ahead of the builder's.
            (-5 * S, "Less than a second"),
        ];
        for (d, want) in table {
            assert_eq!(super::human_duration(d), want, "{d} ns");
        }
    }
}
