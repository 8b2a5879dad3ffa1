//! `.dockerignore` patterns with moby/patternmatcher's semantics, which BuildKit's Dockerfile
//! frontend hands to the context sender as exclude patterns (and fsutil applies while it walks).
//! No maintained crate implements them, so this follows patternmatcher.go rule for rule:
//!
//! - a pattern is trimmed and `filepath.Clean`ed, then a leading `!` makes it an exception (a lone
//!   `!` is an error), and it must be a valid Go `filepath.Match` pattern;
//! - it is translated to a regex the way patternmatcher does, including its shortcuts that are not
//!   quite globs (`**x` first is a plain suffix test, `x/**` last a plain prefix test);
//! - later patterns override earlier ones, and a pattern matching a folder matches what is inside it.
//!
//! The regex patternmatcher builds is Go (RE2) syntax; it is kept as Go wrote it and translated to
//! the `regex` crate's syntax with RE2's meaning (`[` inside a class is a literal there, `\d` is
//! ASCII, `\<` is `<`), so odd patterns mean in Buildlane what they mean in buildx.

use std::borrow::Cow;

use regex::Regex;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PatternError {
    /// Rejected when the matcher is made: a lone `!`, or not a valid `filepath.Match` pattern.
    #[error("invalid pattern \"{pattern}\": {reason}")]
    Invalid { pattern: String, reason: String },
    /// A valid glob whose translation is not a valid regex (`[Local-Only]`: the range `l-O` is
    /// reversed); as in patternmatcher, this shows only when the pattern is used.
    #[error("pattern \"{pattern}\" cannot be matched: {reason}")]
    Unmatchable { pattern: String, reason: String },
    #[error("parent match information has {got} values for {expected} patterns")]
    ParentInfo { expected: usize, got: usize },
}

/// How a pattern is tested, as patternmatcher decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchType {
    /// The path equals the pattern.
    Exact,
    /// `dir/**`: the path starts with the pattern minus its `**`.
    Prefix,
    /// `**x` with nothing special after: the path ends with the pattern minus its `**`.
    Suffix,
    Regexp,
    /// The regex did not compile; every match reports it.
    Unknown,
}

#[derive(Debug, Clone)]
enum Test {
    Exact,
    Prefix,
    Suffix,
    Regex(Regex),
    Broken(String),
}

/// One cleaned pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    cleaned: String,
    exclusion: bool,
    /// How many path elements the pattern has (patternmatcher's `dirs`).
    depth: usize,
    test: Test,
    /// The regex as patternmatcher writes it (Go syntax), for regex patterns.
    go_regex: Option<String>,
}

impl Pattern {
    /// The cleaned pattern without its `!` (patternmatcher's `String()`).
    pub fn as_str(&self) -> &str {
        &self.cleaned
    }

    /// Whether this is a `!` exception.
    pub fn exclusion(&self) -> bool {
        self.exclusion
    }

    pub fn match_type(&self) -> MatchType {
        match self.test {
            Test::Exact => MatchType::Exact,
            Test::Prefix => MatchType::Prefix,
            Test::Suffix => MatchType::Suffix,
            Test::Regex(_) => MatchType::Regexp,
            Test::Broken(_) => MatchType::Unknown,
        }
    }

    /// The regex patternmatcher builds for this pattern, in Go's syntax (regex patterns only).
    pub fn go_regex(&self) -> Option<&str> {
        self.go_regex.as_deref()
    }

    fn is_match(&self, path: &str) -> Result<bool, PatternError> {
        Ok(match &self.test {
            Test::Exact => path == self.cleaned,
            Test::Prefix => path.starts_with(&self.cleaned[..self.cleaned.len() - 2]),
            Test::Suffix => {
                let suffix = &self.cleaned[2..];
                // `**/foo` also matches `foo` itself.
                path.ends_with(suffix) || suffix.strip_prefix('/') == Some(path)
            }
            Test::Regex(regex) => regex.is_match(path),
            Test::Broken(reason) => {
                return Err(PatternError::Unmatchable { pattern: self.cleaned.clone(), reason: reason.clone() })
            }
        })
    }
}

/// Which patterns matched a folder, carried down to its children while walking
/// (patternmatcher's `MatchInfo`). The default value means "nothing known about the parents".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchInfo {
    parent_matched: Vec<bool>,
}

/// An ordered list of patterns, as written in `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub struct PatternMatcher {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

impl PatternMatcher {
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, PatternError> {
        let mut compiled = Vec::with_capacity(patterns.len());
        let mut exclusions = false;
        for raw in patterns {
            let trimmed = raw.as_ref().trim();
            if trimmed.is_empty() {
                continue;
            }
            // Cleaned before the `!` is looked at, as patternmatcher does: `!/a` keeps its slash.
            let cleaned = clean(trimmed);
            let (exclusion, body) = match cleaned.strip_prefix('!') {
                Some("") => {
                    return Err(PatternError::Invalid {
                        pattern: trimmed.to_owned(),
                        reason: "illegal exclusion pattern: \"!\"".into(),
                    })
                }
                Some(rest) => (true, rest),
                None => (false, cleaned.as_ref()),
            };
            exclusions |= exclusion;
            if let Err(reason) = check_glob(body) {
                return Err(PatternError::Invalid { pattern: trimmed.to_owned(), reason: reason.into() });
            }
            let (test, go_regex) = compile(body);
            compiled.push(Pattern {
                cleaned: body.to_owned(),
                exclusion,
                depth: body.split('/').count(),
                test,
                go_regex,
            });
        }
        Ok(Self { patterns: compiled, exclusions })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether any `!` exception exists.
    pub fn exclusions(&self) -> bool {
        self.exclusions
    }

    /// patternmatcher's deprecated `Matches`: besides the path, each pattern is tried only against
    /// the parent folder with as many elements as the pattern has. Kept for its reference tests;
    /// the walker uses [`Self::matches_using_parent_results`].
    pub fn matches(&self, file: &str) -> Result<bool, PatternError> {
        let parent = parent_dir(file);
        let parent_depth = parent.split('/').count();
        let mut matched = false;
        for pattern in &self.patterns {
            // Only a pattern that could flip the result needs to be evaluated.
            if pattern.exclusion != matched {
                continue;
            }
            let mut hit = pattern.is_match(file)?;
            if !hit && parent != "." && pattern.depth <= parent_depth {
                hit = pattern.is_match(leading_elements(&parent, pattern.depth))?;
            }
            if hit {
                matched = !pattern.exclusion;
            }
        }
        Ok(matched)
    }

    /// Whether `file` (slash-separated, relative) or one of its parent folders is matched, after
    /// every pattern in order has had its say.
    pub fn matches_or_parent_matches(&self, file: &str) -> Result<bool, PatternError> {
        self.evaluate(file, None, None)
    }

    /// patternmatcher's deprecated single-flag form: `parent_matched` is the parent folder's result.
    pub fn matches_using_parent_result(&self, file: &str, parent_matched: bool) -> Result<bool, PatternError> {
        let mut matched = parent_matched;
        for pattern in &self.patterns {
            if pattern.exclusion != matched {
                continue;
            }
            if pattern.is_match(file)? {
                matched = !pattern.exclusion;
            }
        }
        Ok(matched)
    }

    /// Whether `file` is matched, given its parent folder's [`MatchInfo`] (the default one when
    /// nothing is known: then parents are checked as [`Self::matches_or_parent_matches`] does).
    /// A pattern that matched the parent matches the child without being tried again; the
    /// returned info is what the child's own children need.
    pub fn matches_using_parent_results(
        &self,
        file: &str,
        parent: &MatchInfo,
    ) -> Result<(bool, MatchInfo), PatternError> {
        let mut info = MatchInfo { parent_matched: Vec::with_capacity(self.patterns.len()) };
        let matched = self.evaluate(file, Some(&parent.parent_matched), Some(&mut info.parent_matched))?;
        Ok((matched, info))
    }

    /// [`Self::matches_using_parent_results`] for an entry that has no children: no info to return.
    pub fn matches_with_parent(&self, file: &str, parent: &MatchInfo) -> Result<bool, PatternError> {
        self.evaluate(file, Some(&parent.parent_matched), None)
    }

    /// The loop of `MatchesUsingParentResults`; with `parent` `None` (or empty) it is
    /// `MatchesOrParentMatches`.
    fn evaluate(
        &self,
        file: &str,
        parent: Option<&[bool]>,
        mut record: Option<&mut Vec<bool>>,
    ) -> Result<bool, PatternError> {
        let parent = parent.unwrap_or_default();
        if !parent.is_empty() && parent.len() != self.patterns.len() {
            return Err(PatternError::ParentInfo { expected: self.patterns.len(), got: parent.len() });
        }
        // Computed once, and only when a pattern needs to try the parents.
        let mut parent_path: Option<Cow<str>> = None;
        let mut matched = false;
        for (i, pattern) in self.patterns.iter().enumerate() {
            let mut hit = parent.get(i).copied().unwrap_or(false);
            if !hit && pattern.exclusion == matched {
                hit = pattern.is_match(file)?;
                if !hit && parent.is_empty() {
                    let parent_path = parent_path.get_or_insert_with(|| parent_dir(file));
                    if parent_path != "." {
                        hit = any_leading_dir_matches(pattern, parent_path)?;
                    }
                }
            } else if !hit {
                // Skipped: it could not change the result (and is recorded as not matching).
                if let Some(record) = record.as_deref_mut() {
                    record.push(false);
                }
                continue;
            }
            if let Some(record) = record.as_deref_mut() {
                record.push(hit);
            }
            if hit {
                matched = !pattern.exclusion;
            }
        }
        Ok(matched)
    }
}

/// patternmatcher's package-level `Matches`: cleans `file` and never matches the context itself.
pub fn matches<S: AsRef<str>>(file: &str, patterns: &[S]) -> Result<bool, PatternError> {
    let pm = PatternMatcher::new(patterns)?;
    let file = clean(file);
    if file == "." {
        return Ok(false);
    }
    pm.matches(&file)
}

/// patternmatcher's package-level `MatchesOrParentMatches`.
pub fn matches_or_parent_matches<S: AsRef<str>>(file: &str, patterns: &[S]) -> Result<bool, PatternError> {
    let pm = PatternMatcher::new(patterns)?;
    let file = clean(file);
    if file == "." {
        return Ok(false);
    }
    pm.matches_or_parent_matches(&file)
}

/// The lines of a `.dockerignore` as BuildKit's frontend reads them (moby/patternmatcher's
/// `ignorefile.ReadAll`): a UTF-8 BOM dropped, `#` lines skipped, lines trimmed, each pattern
/// cleaned with its leading `/` removed (a `!` kept in front).
pub fn read_ignore_file(content: &str) -> Vec<String> {
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    let mut patterns = Vec::new();
    for line in content.lines() {
        if line.starts_with('#') {
            continue;
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (invert, body) = match line.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, line),
        };
        let mut pattern = String::with_capacity(line.len());
        if invert {
            pattern.push('!');
        }
        if !body.is_empty() {
            let cleaned = clean(body);
            pattern.push_str(if cleaned.len() > 1 { cleaned.strip_prefix('/').unwrap_or(&cleaned) } else { &cleaned });
        }
        patterns.push(pattern);
    }
    patterns
}

/// Go's `filepath.Match` for one name (no `/` in it), as fsutil uses it to expand a wildcard in a
/// followpath; a malformed glob matches nothing.
pub fn name_matches_glob(glob: &str, name: &str) -> bool {
    if check_glob(glob).is_err() {
        return false;
    }
    let (test, _) = compile(glob);
    let pattern = Pattern { cleaned: glob.to_owned(), exclusion: false, depth: 1, test, go_regex: None };
    pattern.is_match(name).unwrap_or(false)
}

/// Go's `filepath.Dir` for a slash path: everything before the last `/`, cleaned; `.` if none.
fn parent_dir(file: &str) -> Cow<'_, str> {
    match file.rfind('/') {
        Some(i) => clean(&file[..=i]),
        None => Cow::Borrowed("."),
    }
}

/// The first `n` `/`-separated elements of `path` (all of it if it has fewer).
fn leading_elements(path: &str, n: usize) -> &str {
    match path.match_indices('/').nth(n.wrapping_sub(1)) {
        Some((i, _)) if n > 0 => &path[..i],
        _ => path,
    }
}

/// Whether `pattern` matches `parent` or any folder above it (`a`, `a/b`, … `parent`).
fn any_leading_dir_matches(pattern: &Pattern, parent: &str) -> Result<bool, PatternError> {
    for (i, _) in parent.match_indices('/') {
        if pattern.is_match(&parent[..i])? {
            return Ok(true);
        }
    }
    pattern.is_match(parent)
}

/// Go's `filepath.Clean` on a slash path: borrowed when the path is already clean.
pub fn clean(path: &str) -> Cow<'_, str> {
    if is_clean(path) {
        return Cow::Borrowed(path);
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    Cow::Owned(match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    })
}

fn is_clean(path: &str) -> bool {
    if path == "/" || path == "." {
        return true;
    }
    if path.is_empty() || path.ends_with('/') {
        return false;
    }
    let (rooted, body) = match path.strip_prefix('/') {
        Some(body) => (true, body),
        None => (false, path),
    };
    // `..` may only lead a relative path.
    let mut leading = !rooted;
    for part in body.split('/') {
        match part {
            "" | "." => return false,
            ".." if !leading => return false,
            ".." => {}
            _ => leading = false,
        }
    }
    true
}

/// The syntax check Go's `filepath.Match(pattern, ".")` makes: every chunk between `*`s must be
/// well formed (classes closed and non-empty, ranges complete, no trailing `\`).
fn check_glob(pattern: &str) -> Result<(), &'static str> {
    const BAD: &str = "syntax error in pattern";
    let mut rest = pattern.as_bytes();
    while !rest.is_empty() {
        // scanChunk: skip the stars, then take up to the next star outside a class.
        while let [b'*', tail @ ..] = rest {
            rest = tail;
        }
        let mut in_range = false;
        let mut end = 0;
        while end < rest.len() {
            match rest[end] {
                b'\\' if end + 1 < rest.len() => end += 1,
                b'[' => in_range = true,
                b']' => in_range = false,
                b'*' if !in_range => break,
                _ => {}
            }
            end += 1;
        }
        let (chunk, tail) = rest.split_at(end);
        rest = tail;
        // matchChunk's parse.
        let mut c = chunk;
        while let Some(&first) = c.first() {
            match first {
                b'[' => {
                    c = &c[1..];
                    if let [b'^', tail @ ..] = c {
                        c = tail;
                    }
                    let mut ranges = 0;
                    loop {
                        if let [b']', tail @ ..] = c {
                            if ranges > 0 {
                                c = tail;
                                break;
                            }
                        }
                        c = class_char(c).ok_or(BAD)?;
                        if let [b'-', tail @ ..] = c {
                            c = class_char(tail).ok_or(BAD)?;
                        }
                        ranges += 1;
                    }
                }
                b'\\' => {
                    if c.len() < 2 {
                        return Err(BAD);
                    }
                    c = &c[2..];
                }
                _ => c = &c[1..],
            }
        }
    }
    Ok(())
}

/// getEsc: one (possibly escaped) character of a class, which must be followed by something.
fn class_char(c: &[u8]) -> Option<&[u8]> {
    let c = match c {
        [] | [b'-', ..] | [b']', ..] => return None,
        [b'\\'] => return None,
        [b'\\', tail @ ..] => tail,
        _ => c,
    };
    // One UTF-8 character: its length from the lead byte (the input is a valid &str).
    let len = match c[0] {
        b if b < 0x80 => 1,
        b if b >= 0xF0 => 4,
        b if b >= 0xE0 => 3,
        _ => 2,
    };
    let rest = &c[len.min(c.len())..];
    (!rest.is_empty()).then_some(rest)
}

/// Bytes patternmatcher escapes because they are regex syntax but not glob syntax.
fn should_escape(c: char) -> bool {
    matches!(c, '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$')
}

/// patternmatcher's `compile`: the match type and, for regex patterns, the Go regex.
fn compile(pattern: &str) -> (Test, Option<String>) {
    #[derive(PartialEq)]
    enum Kind {
        Exact,
        Prefix,
        Suffix,
        Regexp,
    }
    let mut re = String::with_capacity(pattern.len() * 2 + 2);
    re.push('^');
    let mut kind = Kind::Exact;
    let mut chars = pattern.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                // `**/` is `**`.
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                if chars.peek().is_none() {
                    // A trailing `**` matches everything below, as in .gitignore.
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        re.push_str(".*");
                        kind = Kind::Regexp;
                    }
                } else {
                    re.push_str("(.*/)?");
                    kind = Kind::Regexp;
                }
                if first {
                    kind = Kind::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                kind = Kind::Regexp;
            }
            '?' => {
                re.push_str("[^/]");
                kind = Kind::Regexp;
            }
            c if should_escape(c) => {
                re.push('\\');
                re.push(c);
            }
            '\\' => match chars.next() {
                Some(next) => {
                    re.push('\\');
                    re.push(next);
                    kind = Kind::Regexp;
                }
                None => re.push('\\'),
            },
            '[' | ']' => {
                re.push(c);
                kind = Kind::Regexp;
            }
            c => re.push(c),
        }
        first = false;
    }
    match kind {
        Kind::Exact => (Test::Exact, None),
        Kind::Prefix => (Test::Prefix, None),
        Kind::Suffix => (Test::Suffix, None),
        Kind::Regexp => {
            re.push('$');
            let test = match go_regex_to_rust(&re).and_then(|rust| Regex::new(&rust).map_err(|e| e.to_string())) {
                Ok(regex) => Test::Regex(regex),
                Err(reason) => Test::Broken(reason),
            };
            (test, Some(re))
        }
    }
}

/// Rewrites the Go regex patternmatcher produces (anchors, `(.*/)?`, `[^/]*`, escapes and the
/// user's classes) into the `regex` crate's syntax with RE2's meaning.
fn go_regex_to_rust(go: &str) -> Result<String, String> {
    let chars: Vec<char> = go.chars().collect();
    let mut out = String::with_capacity(go.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                i += 1;
                let c = *chars.get(i).ok_or("trailing backslash at end of expression")?;
                match c {
                    'A' | 'z' => {
                        out.push('\\');
                        out.push(c);
                    }
                    // RE2's word boundaries are ASCII.
                    'b' | 'B' => {
                        out.push_str("(?-u:\\");
                        out.push(c);
                        out.push(')');
                    }
                    'd' | 'D' | 's' | 'S' | 'w' | 'W' => {
                        let negated = c.is_ascii_uppercase();
                        out.push_str(if negated { "[^" } else { "[" });
                        out.push_str(perl_class(c.to_ascii_lowercase()));
                        out.push(']');
                    }
                    'p' | 'P' => i = copy_unicode_class(&chars, i, &mut out)?,
                    'Q' => {
                        // Literal text up to `\E`.
                        i += 1;
                        while i < chars.len() && !(chars[i] == '\\' && chars.get(i + 1) == Some(&'E')) {
                            push_literal(&mut out, chars[i]);
                            i += 1;
                        }
                        i += 1;
                    }
                    _ => {
                        let (literal, next) = escaped_char(&chars, i)?;
                        push_literal(&mut out, literal);
                        i = next - 1;
                    }
                }
                i += 1;
            }
            '[' => i = translate_class(&chars, i, &mut out)?,
            // Outside a class, `]` is a literal in RE2.
            ']' => {
                out.push_str("\\]");
                i += 1;
            }
            // The groups patternmatcher writes capture nothing anyone reads.
            '(' => {
                out.push_str("(?:");
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// RE2's Perl classes, which are ASCII only, as the inside of a class.
fn perl_class(c: char) -> &'static str {
    match c {
        'd' => "0-9",
        's' => "\\t\\n\\x0C\\r ",
        _ => "0-9A-Za-z_",
    }
}

fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", c as u32));
    }
}

/// `\p{Name}` or `\pL` at `chars[i]` (`p` or `P`): copied, returning the index of its last char.
fn copy_unicode_class(chars: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    out.push('\\');
    out.push(chars[i]);
    match chars.get(i + 1) {
        Some('{') => {
            let close = chars[i + 1..].iter().position(|&c| c == '}').ok_or("missing closing } in \\p{")?;
            out.extend(&chars[i + 1..=i + 1 + close]);
            Ok(i + 1 + close)
        }
        Some(&c) => {
            out.push(c);
            Ok(i + 1)
        }
        None => Err("invalid character class range: \\p".into()),
    }
}

/// RE2's escape for one character (after the `\` at `chars[i - 1]`); returns the character and the
/// index after the escape.
fn escaped_char(chars: &[char], i: usize) -> Result<(char, usize), String> {
    let c = chars[i];
    let invalid = || format!("invalid escape sequence: \\{c}");
    if c.is_ascii() && !c.is_ascii_alphanumeric() {
        return Ok((c, i + 1));
    }
    let simple = match c {
        'a' => Some('\x07'),
        'f' => Some('\x0C'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0B'),
        _ => None,
    };
    if let Some(simple) = simple {
        return Ok((simple, i + 1));
    }
    let octal = |c: Option<&char>| c.is_some_and(|c| ('0'..='7').contains(c));
    match c {
        // A lone `\1`–`\7` would be a back-reference, which RE2 does not have.
        '1'..='7' if !octal(chars.get(i + 1)) => Err(invalid()),
        '0'..='7' => {
            let mut value = c as u32 - '0' as u32;
            let mut next = i + 1;
            while next < i + 3 && octal(chars.get(next)) {
                value = value * 8 + (chars[next] as u32 - '0' as u32);
                next += 1;
            }
            Ok((char::from_u32(value).ok_or_else(invalid)?, next))
        }
        'x' => {
            let (digits, next): (String, usize) = if chars.get(i + 1) == Some(&'{') {
                let close = chars[i + 2..].iter().position(|&c| c == '}').ok_or_else(invalid)?;
                (chars[i + 2..i + 2 + close].iter().collect(), i + 3 + close)
            } else {
                (chars.get(i + 1..i + 3).ok_or_else(invalid)?.iter().collect(), i + 3)
            };
            let value = u32::from_str_radix(&digits, 16).map_err(|_| invalid())?;
            Ok((char::from_u32(value).ok_or_else(invalid)?, next))
        }
        _ => Err(invalid()),
    }
}

/// One RE2 class starting at `chars[start]` (`[`), written as an unambiguous `regex` class;
/// returns the index after its `]`.
fn translate_class(chars: &[char], start: usize, out: &mut String) -> Result<usize, String> {
    const POSIX: [&str; 14] = [
        "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper",
        "word", "xdigit",
    ];
    let missing = || "missing closing ]".to_owned();
    let mut i = start + 1;
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let c = *chars.get(i).ok_or_else(missing)?;
        if c == ']' && !first {
            out.push(']');
            return Ok(i + 1);
        }
        first = false;
        if c == '[' && chars.get(i + 1) == Some(&':') {
            let close = chars[i + 2..].windows(2).position(|w| w == [':', ']']);
            if let Some(close) = close {
                let name: String = chars[i + 2..i + 2 + close].iter().collect();
                if !POSIX.contains(&name.strip_prefix('^').unwrap_or(&name)) {
                    return Err(format!("invalid character class range: [:{name}:]"));
                }
                out.push_str(&format!("[:{name}:]"));
                i += close + 4;
                continue;
            }
        }
        if c == '\\' {
            match chars.get(i + 1) {
                Some('p' | 'P') => {
                    i = copy_unicode_class(chars, i + 1, out)? + 1;
                    continue;
                }
                Some(&perl @ ('d' | 'D' | 's' | 'S' | 'w' | 'W')) => {
                    let negated = perl.is_ascii_uppercase();
                    out.push_str(if negated { "[^" } else { "[" });
                    out.push_str(perl_class(perl.to_ascii_lowercase()));
                    out.push(']');
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        let (lo, next) = class_literal(chars, i)?;
        i = next;
        let mut hi = lo;
        // `[a-]` means `a` or `-`.
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']') {
            let (h, next) = class_literal(chars, i + 1)?;
            if h < lo {
                return Err(format!("invalid character class range: {lo}-{h}"));
            }
            hi = h;
            i = next;
        }
        push_literal(out, lo);
        if hi != lo {
            out.push('-');
            push_literal(out, hi);
        }
    }
}

fn class_literal(chars: &[char], i: usize) -> Result<(char, usize), String> {
    match chars.get(i) {
        None => Err("missing closing ]".into()),
        Some('\\') => {
            if i + 1 >= chars.len() {
                return Err("trailing backslash at end of expression".into());
            }
            escaped_char(chars, i + 1)
        }
        Some(&c) => Ok((c, i + 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(patterns: &[&str], path: &str) -> bool {
        PatternMatcher::new(patterns).unwrap().matches_or_parent_matches(path).unwrap()
    }

    #[test]
    fn paths_are_cleaned_as_go_cleans_them() {
        for (path, cleaned) in [
            ("", "."),
            ("a//b/", "a/b"),
            ("./a/../b", "b"),
            ("../../x", "../../x"),
            ("a/../..", ".."),
            ("/../a", "/a"),
            ("/", "/"),
            ("!/a/", "!/a"),
        ] {
            assert_eq!(clean(path), cleaned, "{path}");
        }
        assert!(matches!(clean("a/b"), Cow::Borrowed(_)));
    }

    #[test]
    fn regex_only_syntax_means_what_re2_makes_of_it() {
        // A `[` inside a class is a literal for RE2, not a nested class.
        assert!(m(&["[[a]"], "["));
        // `*` inside a class becomes `[^/]*` there: RE2 reads the class `[[^/]`, then `*`, then `]`.
        assert!(m(&["x[*]"], "x^^]"));
        assert!(!m(&["x[*]"], "x*"));
        // `\<` is a literal `<` (in the regex crate it is a word boundary).
        assert!(m(&["a\\<b"], "a<b"));
        // `\d` is ASCII digits only.
        assert!(m(&["\\d"], "7"));
        assert!(!m(&["\\d"], "٣"));
        // Set operations of the regex crate are plain characters in RE2.
        assert!(m(&["[a&&b]"], "&"));
        assert!(m(&["[a~~b]"], "~"));
    }

    #[test]
    fn a_regex_that_does_not_compile_is_reported_when_used() {
        let pm = PatternMatcher::new(&["[Local-Only]/"]).unwrap();
        let err = pm.matches_or_parent_matches("x").unwrap_err();
        assert!(matches!(err, PatternError::Unmatchable { ref pattern, .. } if pattern == "[Local-Only]"), "{err}");
    }
}
