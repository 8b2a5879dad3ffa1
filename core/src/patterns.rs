//! `.dockerignore` patterns with moby/patternmatcher's semantics, which BuildKit's Dockerfile
//! frontend hands to the context sender as exclude patterns. No maintained crate implements them.
//!
//! A pattern is a Go `filepath.Match` glob plus `**` (any number of directories); `!` makes it an
//! exception; later patterns override earlier ones; a pattern that matches a directory matches
//! everything inside it.

use regex::Regex;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PatternError {
    #[error("invalid pattern \"{pattern}\": {reason}")]
    Invalid { pattern: String, reason: String },
}

#[derive(Debug, Clone)]
struct Pattern {
    regex: Regex,
    exclusion: bool,
    /// The pattern's directory depth, to match it against a path's parents of that depth.
    depth: usize,
}

/// An ordered list of patterns, as written in `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub struct PatternMatcher {
    patterns: Vec<Pattern>,
    has_exclusions: bool,
}

impl PatternMatcher {
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, PatternError> {
        let mut compiled = Vec::new();
        for raw in patterns {
            let raw = raw.as_ref().trim();
            if raw.is_empty() {
                continue;
            }
            let (exclusion, body) = match raw.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, raw),
            };
            if body.is_empty() {
                return Err(PatternError::Invalid {
                    pattern: raw.to_owned(),
                    reason: "\"!\" alone excludes nothing".into(),
                });
            }
            let cleaned = clean(body);
            let regex =
                compile(&cleaned).map_err(|reason| PatternError::Invalid { pattern: raw.to_owned(), reason })?;
            compiled.push(Pattern { regex, exclusion, depth: cleaned.split('/').count() });
        }
        Ok(Self { has_exclusions: compiled.iter().any(|p| p.exclusion), patterns: compiled })
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether any `!` exception exists: then an excluded directory may still hold included files.
    pub fn has_exclusions(&self) -> bool {
        self.has_exclusions
    }

    /// Whether `path` (relative, `/`-separated) or one of its parent directories is matched, after
    /// every pattern in order has had its say.
    pub fn matches(&self, path: &str) -> bool {
        let path = clean(path);
        let parts: Vec<&str> = path.split('/').collect();
        let mut matched = false;
        for pattern in &self.patterns {
            // Only a pattern that could flip the result needs to be evaluated.
            if pattern.exclusion != matched {
                continue;
            }
            let mut hit = pattern.regex.is_match(&path);
            if !hit && pattern.depth < parts.len() {
                hit = (1..parts.len()).any(|n| pattern.regex.is_match(&parts[..n].join("/")));
            }
            if hit {
                matched = !pattern.exclusion;
            }
        }
        matched
    }
}

/// `filepath.Clean` for relative slash paths: no `.`, no empty or leading/trailing separators.
fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Translates a pattern to an anchored regex the way patternmatcher does.
fn compile(pattern: &str) -> Result<Regex, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut re = String::from("^");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 1;
                if chars.get(i + 1) == Some(&'/') {
                    i += 1;
                }
                if i + 1 >= chars.len() {
                    re.push_str(".*");
                } else {
                    re.push_str("(.*/)?");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '\\' => {
                i += 1;
                match chars.get(i) {
                    Some(escaped) => re.push_str(&regex::escape(&escaped.to_string())),
                    None => return Err("trailing backslash".into()),
                }
            }
            '[' => {
                let end = chars[i + 1..].iter().position(|&c| c == ']').ok_or("unterminated character class")?;
                let class: String = chars[i + 1..i + 1 + end].iter().collect();
                let class = class.strip_prefix('^').map(|rest| format!("^{rest}")).unwrap_or(class);
                re.push('[');
                re.push_str(&class.replace('\\', "\\\\"));
                re.push(']');
                i += end + 1;
            }
            other => re.push_str(&regex::escape(&other.to_string())),
        }
        i += 1;
    }
    re.push('$');
    Regex::new(&re).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(patterns: &[&str], path: &str) -> bool {
        PatternMatcher::new(patterns).unwrap().matches(path)
    }

    #[test]
    fn globs_match_within_one_directory_level() {
        assert!(m(&["*.go"], "main.go"));
        assert!(!m(&["*.go"], "pkg/main.go"));
        assert!(m(&["*/*.go"], "pkg/main.go"));
        assert!(m(&["file?.txt"], "file1.txt"));
        assert!(!m(&["file?.txt"], "file10.txt"));
        assert!(m(&["[a-c]at"], "bat"));
        assert!(!m(&["[^a-c]at"], "bat"));
        assert!(m(&["\\*literal"], "*literal"));
    }

    #[test]
    fn double_star_spans_directories() {
        assert!(m(&["**/*.go"], "main.go"));
        assert!(m(&["**/*.go"], "a/b/c/main.go"));
        assert!(m(&["a/**/z"], "a/z"));
        assert!(m(&["a/**/z"], "a/b/c/z"));
        assert!(m(&["**"], "anything/at/all"));
        assert!(m(&["a/**"], "a/b"));
        assert!(!m(&["a/**/z"], "b/a/z"));
    }

    #[test]
    fn a_matched_directory_matches_everything_inside() {
        assert!(m(&["node_modules"], "node_modules/left-pad/index.js"));
        assert!(m(&["docs/"], "docs/readme.md"));
        assert!(!m(&["node_modules"], "src/node_modules"));
        assert!(m(&["**/node_modules"], "src/node_modules/x.js"));
    }

    #[test]
    fn exceptions_apply_in_order() {
        assert!(!m(&["*.md", "!README.md"], "README.md"));
        assert!(m(&["*.md", "!README.md"], "CHANGES.md"));
        assert!(m(&["*.md", "!README.md", "README*"], "README.md"));
        assert!(!m(&["data", "!data/keep"], "data/keep"));
        assert!(m(&["data", "!data/keep"], "data/other"));
    }

    #[test]
    fn paths_and_patterns_are_cleaned() {
        assert!(m(&["/build"], "build/out.o"));
        assert!(m(&["./a/../b"], "b"));
        assert!(m(&["a//b/"], "a/b"));
    }

    #[test]
    fn broken_patterns_are_reported() {
        assert!(PatternMatcher::new(&["[abc"]).is_err());
        assert!(PatternMatcher::new(&["!"]).is_err());
        assert!(PatternMatcher::new(&["a\\"]).is_err());
    }
}
