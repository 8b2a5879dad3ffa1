//! containerd's filter language, which BuildKit applies to cache records on `DiskUsage` and
//! `Prune`: `field==value`, `field!=value`, `field~=regexp` and a bare `field` (present), joined by
//! commas (all must match); several filter strings match when any does. The scanner, parser and
//! matching follow containerd 1.7's `filters` package (the version BuildKit 0.13 builds with), so
//! a filter is judged here as the node will judge it, before anything is sent.
//!
//! One deliberate difference: containerd compiles a `~=` regexp only when matching and lets a bad
//! one match nothing; here it is a parse error, since a filter that can never match is a mistake.

use std::fmt;

use regex::Regex;

/// What a filter reads from the object it judges: `None` when the field is absent. An absent
/// field reads as the empty string to `!=` and `~=`, as in containerd.
pub trait Fields {
    fn field(&self, path: &[String]) -> Option<String>;
}

/// A parsed filter: matches when any of its alternatives does (all of an alternative's selectors).
#[derive(Debug, Clone)]
pub struct Filter {
    any: Vec<Vec<Selector>>,
}

#[derive(Debug, Clone)]
struct Selector {
    fieldpath: Vec<String>,
    operator: Operator,
    value: String,
    regex: Option<Regex>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Present,
    Equal,
    NotEqual,
    Matches,
}

/// Why a filter string does not parse, worded as containerd words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

impl Filter {
    /// containerd's `ParseAll`: no strings, or an empty one, match everything.
    pub fn parse_all(filters: &[String]) -> Result<Filter, ParseError> {
        let mut any = Vec::new();
        for filter in filters {
            if filter.is_empty() {
                any.push(Vec::new());
            } else {
                any.push(Parser::new(filter).selectors().map_err(|e| ParseError(format!("filters: {e}")))?);
            }
        }
        if any.is_empty() {
            any.push(Vec::new());
        }
        Ok(Filter { any })
    }

    /// How many selectors the filter holds in all (a value with an unquoted comma makes two).
    pub fn selector_count(&self) -> usize {
        self.any.iter().map(Vec::len).sum()
    }

    pub fn matches(&self, object: &impl Fields) -> bool {
        self.any.iter().any(|all| all.iter().all(|s| s.matches(object)))
    }
}

impl Selector {
    fn matches(&self, object: &impl Fields) -> bool {
        let field = object.field(&self.fieldpath);
        match self.operator {
            Operator::Present => field.is_some(),
            Operator::Equal => field.as_deref() == Some(self.value.as_str()),
            Operator::NotEqual => field.as_deref().unwrap_or("") != self.value,
            Operator::Matches => self.regex.as_ref().is_some_and(|re| re.is_match(field.as_deref().unwrap_or(""))),
        }
    }
}

/// A scanned character: containerd's runes, with its two negative sentinels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rune {
    Char(char),
    Eof,
    Illegal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Eof,
    Quoted,
    Value,
    Field,
    Separator,
    Operator,
    Illegal,
    Other,
}

struct Scanner<'a> {
    input: &'a str,
    /// Start of the current rune.
    pos: usize,
    /// End of the current rune.
    ppos: usize,
    /// After an operator, the next token is a value.
    value: bool,
    err: String,
}

impl<'a> Scanner<'a> {
    fn next(&mut self) -> Rune {
        if self.pos >= self.input.len() {
            return Rune::Eof;
        }
        self.pos = self.ppos;
        let Some(c) = self.input[self.ppos..].chars().next() else {
            return Rune::Eof;
        };
        self.ppos += c.len_utf8();
        if c == '\0' {
            self.error("unexpected null");
            return Rune::Illegal;
        }
        Rune::Char(c)
    }

    fn peek(&mut self) -> Rune {
        let (pos, ppos) = (self.pos, self.ppos);
        let rune = self.next();
        self.pos = pos;
        self.ppos = ppos;
        rune
    }

    fn scan(&mut self) -> (usize, Token, &'a str) {
        let mut ch = self.next();
        let mut pos = self.pos;
        loop {
            let c = match ch {
                Rune::Eof => return (self.pos, Token::Eof, ""),
                Rune::Illegal => return (self.pos, Token::Illegal, ""),
                Rune::Char(c) => c,
            };
            if matches!(c, '/' | '|' | '"') {
                let token = if self.scan_quoted(c) { Token::Quoted } else { Token::Illegal };
                return (pos, token, &self.input[pos..self.ppos]);
            }
            if matches!(c, ',' | '.') {
                self.value = false;
                return (pos, Token::Separator, &self.input[pos..self.ppos]);
            }
            if is_operator(c) {
                while matches!(self.peek(), Rune::Char(c) if is_operator(c)) {
                    self.next();
                }
                self.value = true;
                return (pos, Token::Operator, &self.input[pos..self.ppos]);
            }
            if c.is_whitespace() {
                ch = self.next();
                pos = self.pos;
                continue;
            }
            if self.value {
                while matches!(self.peek(), Rune::Char(c) if is_value(c)) {
                    self.next();
                }
                self.value = false;
                return (pos, Token::Value, &self.input[pos..self.ppos]);
            }
            if is_field(c) {
                while matches!(self.peek(), Rune::Char(c) if is_field(c)) {
                    self.next();
                }
                return (pos, Token::Field, &self.input[pos..self.ppos]);
            }
            return (self.pos, Token::Other, "");
        }
    }

    fn scan_quoted(&mut self, quote: char) -> bool {
        let mut illegal = false;
        let mut ch = self.next();
        while ch != Rune::Char(quote) {
            match ch {
                Rune::Char('\n') | Rune::Eof | Rune::Illegal => {
                    self.error("quoted literal not terminated");
                    return false;
                }
                Rune::Char('\\') => {
                    let (next, legal) = self.scan_escape(quote);
                    ch = next;
                    illegal |= !legal;
                }
                Rune::Char(_) => ch = self.next(),
            }
        }
        !illegal
    }

    fn scan_escape(&mut self, quote: char) -> (Rune, bool) {
        let ch = self.next();
        match ch {
            Rune::Char(c) if matches!(c, 'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\') || c == quote => {
                (self.next(), true)
            }
            Rune::Char('0'..='7') => self.scan_digits(ch, 8, 3),
            Rune::Char('x') => {
                let first = self.next();
                self.scan_digits(first, 16, 2)
            }
            Rune::Char('u') => {
                let first = self.next();
                self.scan_digits(first, 16, 4)
            }
            Rune::Char('U') => {
                let first = self.next();
                self.scan_digits(first, 16, 8)
            }
            _ => {
                self.error("illegal escape sequence");
                (ch, false)
            }
        }
    }

    fn scan_digits(&mut self, mut ch: Rune, base: u32, mut n: u32) -> (Rune, bool) {
        while n > 0 && digit_value(ch) < base {
            ch = self.next();
            n -= 1;
        }
        if n > 0 {
            self.error("illegal numeric escape sequence");
            return (ch, false);
        }
        (ch, true)
    }

    fn error(&mut self, message: &str) {
        if self.err.is_empty() {
            self.err = message.to_owned();
        }
    }
}

fn digit_value(rune: Rune) -> u32 {
    match rune {
        Rune::Char(c) => c.to_digit(16).unwrap_or(16),
        _ => 16,
    }
}

fn is_operator(c: char) -> bool {
    matches!(c, '=' | '!' | '~')
}

fn is_field(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

/// Go's `unicode.IsGraphic` less spaces and commas; control characters are the graphic test's
/// only exclusion that can reach a command line.
fn is_value(c: char) -> bool {
    c != ',' && !c.is_whitespace() && !c.is_control()
}

struct Parser<'a> {
    input: &'a str,
    scanner: Scanner<'a>,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Self {
        Parser { input, scanner: Scanner { input, pos: 0, ppos: 0, value: false, err: String::new() } }
    }

    fn selectors(&mut self) -> Result<Vec<Selector>, String> {
        let mut all = vec![self.selector()?];
        loop {
            match self.scanner.peek() {
                Rune::Char(',') => {
                    let (pos, token, _) = self.scanner.scan();
                    if token != Token::Separator {
                        return Err(self.error(pos, "expected a separator"));
                    }
                    all.push(self.selector()?);
                }
                Rune::Eof => return Ok(all),
                other => {
                    let shown = match other {
                        Rune::Char(c) => c.to_string(),
                        _ => char::REPLACEMENT_CHARACTER.to_string(),
                    };
                    return Err(self.error(self.scanner.ppos, &format!("unexpected input: {shown}")));
                }
            }
        }
    }

    fn selector(&mut self) -> Result<Selector, String> {
        let fieldpath = self.fieldpath()?;
        if matches!(self.scanner.peek(), Rune::Char(',') | Rune::Eof) {
            return Ok(Selector { fieldpath, operator: Operator::Present, value: String::new(), regex: None });
        }
        let (pos, operator) = self.operator()?;
        let value = self.value(operator == Operator::Matches)?;
        let regex = match operator {
            Operator::Matches => Some(
                Regex::new(&value)
                    .map_err(|e| self.error(pos, &format!("invalid regular expression {value:?}: {e}")))?,
            ),
            _ => None,
        };
        Ok(Selector { fieldpath, operator, value, regex })
    }

    fn fieldpath(&mut self) -> Result<Vec<String>, String> {
        let mut path = vec![self.field()?];
        while self.scanner.peek() == Rune::Char('.') {
            let (pos, token, _) = self.scanner.scan();
            if token != Token::Separator {
                return Err(self.error(pos, "expected a field separator (`.`)"));
            }
            path.push(self.field()?);
        }
        Ok(path)
    }

    fn field(&mut self) -> Result<String, String> {
        let (pos, token, text) = self.scanner.scan();
        match token {
            Token::Field => Ok(text.to_owned()),
            Token::Quoted => self.unquote(pos, text, false),
            Token::Illegal => Err(self.error(pos, &self.scanner.err.clone())),
            _ => Err(self.error(pos, "expected field or quoted")),
        }
    }

    fn operator(&mut self) -> Result<(usize, Operator), String> {
        let (pos, token, text) = self.scanner.scan();
        match token {
            Token::Operator => match text {
                "==" => Ok((pos, Operator::Equal)),
                "!=" => Ok((pos, Operator::NotEqual)),
                "~=" => Ok((pos, Operator::Matches)),
                other => Err(self.error(pos, &format!("unsupported operator {other:?}"))),
            },
            Token::Illegal => Err(self.error(pos, &self.scanner.err.clone())),
            _ => Err(self.error(pos, r#"expected an operator ("=="|"!="|"~=")"#)),
        }
    }

    fn value(&mut self, allow_alt_quotes: bool) -> Result<String, String> {
        let (pos, token, text) = self.scanner.scan();
        match token {
            Token::Value | Token::Field => Ok(text.to_owned()),
            Token::Quoted => self.unquote(pos, text, allow_alt_quotes),
            Token::Illegal => Err(self.error(pos, &self.scanner.err.clone())),
            _ => Err(self.error(pos, "expected value or quoted")),
        }
    }

    fn unquote(&self, pos: usize, text: &str, allow_alts: bool) -> Result<String, String> {
        if !allow_alts && !text.starts_with(['\'', '"']) {
            return Err(self.error(pos, "invalid quote encountered"));
        }
        unquote(text).ok_or_else(|| self.error(pos, "unquoting failed: quote syntax error"))
    }

    fn error(&self, pos: usize, message: &str) -> String {
        let at = |range: std::ops::Range<usize>| self.input.get(range).unwrap_or("");
        if pos < self.input.len() {
            format!(
                "parse error: [{} >|{}|< {}]: {message}",
                at(0..pos),
                at(pos..pos + 1),
                at(pos + 1..self.input.len())
            )
        } else {
            format!("parse error: [{}]: {message}", self.input)
        }
    }
}

/// Go's `strconv.Unquote` for `"…"`, with containerd's `/…/` and `|…|` read like `"…"`.
fn unquote(text: &str) -> Option<String> {
    let quote = text.chars().next()?;
    let inner = text.strip_prefix(quote)?.strip_suffix(quote)?;
    if !matches!(quote, '"' | '/' | '|') || inner.contains('\n') {
        return None;
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == quote {
            return None;
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = chars.next()?;
        let value = match escaped {
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            '\\' => '\\',
            '\'' | '"' | '|' | '/' if escaped == quote => escaped,
            'x' | 'u' | 'U' => {
                let digits = match escaped {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = chars.by_ref().take(digits).collect();
                if hex.len() != digits {
                    return None;
                }
                let code = u32::from_str_radix(&hex, 16).ok()?;
                // A `\x` byte above 0x7f is not a character on its own; a string cannot hold it.
                if escaped == 'x' && code > 0x7f {
                    return None;
                }
                char::from_u32(code)?
            }
            '0'..='7' => {
                let rest: String = chars.by_ref().take(2).collect();
                let code = u32::from_str_radix(&format!("{escaped}{rest}"), 8).ok()?;
                if rest.len() != 2 || code > 0x7f {
                    return None;
                }
                char::from_u32(code)?
            }
            _ => return None,
        };
        out.push(value);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// containerd's own test corpus (filters/filter_test.go).
    #[derive(Default)]
    struct Entry {
        name: &'static str,
        other: &'static str,
        labels: BTreeMap<&'static str, &'static str>,
    }

    impl Fields for Entry {
        fn field(&self, path: &[String]) -> Option<String> {
            let present = |v: &str| (!v.is_empty()).then(|| v.to_owned());
            match path[0].as_str() {
                "name" => present(self.name),
                "other" => present(self.other),
                "labels" => self.labels.get(path[1..].join(".").as_str()).map(|v| v.to_string()),
                _ => None,
            }
        }
    }

    fn corpus() -> Vec<Entry> {
        let labels = |pairs: &[(&'static str, &'static str)]| pairs.iter().copied().collect();
        vec![
            Entry { name: "foo", labels: labels(&[("foo", "true")]), ..Default::default() },
            Entry { name: "bar", ..Default::default() },
            Entry {
                name: "foo",
                labels: labels(&[("foo", "present"), ("more complex label", "present")]),
                ..Default::default()
            },
            Entry { name: "bar", labels: labels(&[("bar", "true")]), ..Default::default() },
            Entry {
                name: "fooer",
                labels: labels(&[("more complex label with \\ and \"", "present")]),
                ..Default::default()
            },
            Entry {
                name: "fooer",
                labels: labels(&[("more complex label with \\ and \".post", "present")]),
                ..Default::default()
            },
            Entry { name: "baz", other: "too complex, yo", ..Default::default() },
            Entry { name: "bazo", other: "abc", ..Default::default() },
            Entry { name: "compound", labels: labels(&[("foo", "omg_asdf.asdf-qwer")]), ..Default::default() },
        ]
    }

    fn selected(input: &str) -> Vec<usize> {
        let filter = Filter::parse_all(&[input.to_owned()]).unwrap_or_else(|e| panic!("{input}: {e}"));
        corpus().iter().enumerate().filter(|(_, e)| filter.matches(*e)).map(|(i, _)| i).collect()
    }

    fn error(input: &str) -> String {
        Filter::parse_all(&[input.to_owned()]).expect_err(input).to_string()
    }

    #[test]
    fn containerd_filter_table_selects_the_same_entries() {
        let all: Vec<usize> = (0..9).collect();
        assert_eq!(selected(""), all);
        assert_eq!(selected("name"), all);
        assert_eq!(selected("labels.foo"), [0, 2, 8]);
        assert_eq!(selected("labels.foo,name"), [0, 2, 8]);
        assert_eq!(selected("labels.foo==true"), [0]);
        assert_eq!(selected("labels.foo==omg_asdf.asdf-qwer"), [8]);
        assert_eq!(selected("name==bar"), [1, 3]);
        assert_eq!(selected("name!=bar"), [0, 2, 4, 5, 6, 7, 8]);
        assert_eq!(selected("name==bar,labels.bar"), [3]);
        assert_eq!(selected("other==\"too complex, yo\""), [6]);
        assert_eq!(selected("other~=[abc]+,name!=foo"), [6, 7]);
        assert_eq!(selected("other~=/[abc]+/,name!=foo"), [6, 7]);
        assert_eq!(selected("other~=/[abc]{1,2}/,name!=foo"), [6, 7]);
        assert_eq!(selected("other~=/[abc]{0,1}\"\\//,name!=foo"), Vec::<usize>::new());
        assert_eq!(selected("name==bar,labels.bar==true"), [3]);
        assert_eq!(selected("name==bar,labels.bar==wrong"), Vec::<usize>::new());
        assert_eq!(selected(r#"name==foo,labels."more complex label""#), [2]);
        assert_eq!(selected(r#"labels."more complex label with \\ and \""==present"#), [4]);
        assert_eq!(selected(r#"labels."more complex label with \\ and \"".post==present"#), [5]);
    }

    #[test]
    fn containerd_parse_errors_are_worded_as_containerd_words_them() {
        assert_eq!(
            error("labels.|foo|==omg_asdf.asdf-qwer"),
            "filters: parse error: [labels. >|||< foo|==omg_asdf.asdf-qwer]: invalid quote encountered"
        );
        assert_eq!(
            error(r#"labels.?"more complex label with \\ and \"".post==present"#),
            r#"filters: parse error: [labels. >|?|< "more complex label with \\ and \"".post==present]: expected field or quoted"#
        );
        assert_eq!(error("name==foo,"), "filters: parse error: [name==foo,]: expected field or quoted");
        assert_eq!(error("labels."), "filters: parse error: [labels.]: expected field or quoted");
        assert_eq!(
            error("image~=,id?=?fbaq"),
            "filters: parse error: [image~= >|,|< id?=?fbaq]: expected value or quoted"
        );
        assert_eq!(
            error("labels.ns/key==value"),
            "filters: parse error: [labels.ns >|/|< key==value]: quoted literal not terminated"
        );
        assert_eq!(
            error("labels.key==/value"),
            "filters: parse error: [labels.key== >|/|< value]: quoted literal not terminated"
        );
    }

    #[test]
    fn what_buildx_sends_for_a_doubled_operator_is_refused_as_buildkit_refuses_it() {
        // buildx 0.13.1 turns `--filter type!=regular` into `type!==regular`.
        assert_eq!(
            error("type!==regular"),
            "filters: parse error: [type >|!|< ==regular]: unsupported operator \"!==\""
        );
        assert!(error("type==").ends_with("expected value or quoted"), "{}", error("type=="));
    }

    #[test]
    fn a_regexp_that_does_not_compile_is_an_error_here() {
        assert!(error("description~=[").contains("invalid regular expression"), "{}", error("description~=["));
    }

    #[test]
    fn several_filter_strings_match_when_any_does() {
        let filter = Filter::parse_all(&["name==bar".into(), "name==baz".into()]).unwrap();
        let names: Vec<&str> = corpus().iter().filter(|e| filter.matches(*e)).map(|e| e.name).collect();
        assert_eq!(names, ["bar", "bar", "baz"]);
    }
}
