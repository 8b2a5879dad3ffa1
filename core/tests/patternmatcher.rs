//! moby/patternmatcher's own test suite (patternmatcher_test.go and ignorefile_test.go), ported
//! case for case: it is the reference for what `.dockerignore` patterns mean. Then the case of
//! issue 8, checked through the same four ways of matching.

use buildlane_core::buildkit::session::patterns::{
    self, matches, matches_or_parent_matches, read_ignore_file, MatchInfo, MatchType, PatternError, PatternMatcher,
};

const MATCHES: &[(&str, &str, bool)] = &[
    ("**", "file", true),
    ("**", "file/", true),
    ("**/", "file", true),
    ("**/", "file/", true),
    ("**", "/", true),
    ("**/", "/", true),
    ("**", "dir/file", true),
    ("**/", "dir/file", true),
    ("**", "dir/file/", true),
    ("**/", "dir/file/", true),
    ("**/**", "dir/file", true),
    ("**/**", "dir/file/", true),
    ("dir/**", "dir/file", true),
    ("dir/**", "dir/file/", true),
    ("dir/**", "dir/dir2/file", true),
    ("dir/**", "dir/dir2/file/", true),
    ("**/dir", "dir", true),
    ("**/dir", "dir/file", true),
    ("**/dir2/*", "dir/dir2/file", true),
    ("**/dir2/*", "dir/dir2/file/", true),
    ("**/dir2/**", "dir/dir2/dir3/file", true),
    ("**/dir2/**", "dir/dir2/dir3/file/", true),
    ("**file", "file", true),
    ("**file", "dir/file", true),
    ("**/file", "dir/file", true),
    ("**file", "dir/dir/file", true),
    ("**/file", "dir/dir/file", true),
    ("**/file*", "dir/dir/file", true),
    ("**/file*", "dir/dir/file.txt", true),
    ("**/file*txt", "dir/dir/file.txt", true),
    ("**/file*.txt", "dir/dir/file.txt", true),
    ("**/file*.txt*", "dir/dir/file.txt", true),
    ("**/**/*.txt", "dir/dir/file.txt", true),
    ("**/**/*.txt2", "dir/dir/file.txt", false),
    ("**/*.txt", "file.txt", true),
    ("**/**/*.txt", "file.txt", true),
    ("a**/*.txt", "a/file.txt", true),
    ("a**/*.txt", "a/dir/file.txt", true),
    ("a**/*.txt", "a/dir/dir/file.txt", true),
    ("a/*.txt", "a/dir/file.txt", false),
    ("a/*.txt", "a/file.txt", true),
    ("a/*.txt**", "a/file.txt", true),
    ("a[b-d]e", "ae", false),
    ("a[b-d]e", "ace", true),
    ("a[b-d]e", "aae", false),
    ("a[^b-d]e", "aze", true),
    (".*", ".foo", true),
    (".*", "foo", false),
    ("abc.def", "abcdef", false),
    ("abc.def", "abc.def", true),
    ("abc.def", "abcZdef", false),
    ("abc?def", "abcZdef", true),
    ("abc?def", "abcdef", false),
    ("a\\\\", "a\\", true),
    ("**/foo/bar", "foo/bar", true),
    ("**/foo/bar", "dir/foo/bar", true),
    ("**/foo/bar", "dir/dir2/foo/bar", true),
    ("abc/**", "abc", false),
    ("abc/**", "abc/def", true),
    ("abc/**", "abc/def/ghi", true),
    ("**/.foo", ".foo", true),
    ("**/.foo", "bar.foo", false),
    ("a(b)c/def", "a(b)c/def", true),
    ("a(b)c/def", "a(b)c/xyz", false),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
    (
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        true,
    ),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true),
    // Added for Linux in the upstream test (not Windows).
    ("a\\*b", "a*b", true),
];
const MULTI: &[(&[&str], &str, bool)] = &[
    (&["**", "!util/docker/web"], "util/docker/web/foo", false),
    (&["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", true),
    (
        &["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"],
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        false,
    ),
    (&["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false),
];
/// (pattern, text, match, bad pattern)
const MATCH: &[(&str, &str, bool, bool)] = &[
    ("abc", "abc", true, false),
    ("*", "abc", true, false),
    ("*c", "abc", true, false),
    ("a*", "a", true, false),
    ("a*", "abc", true, false),
    ("a*", "ab/c", true, false),
    ("a*/b", "abc/b", true, false),
    ("a*/b", "a/c/b", false, false),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", true, false),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false),
    ("a*b?c*x", "abxbbxdbxebxczzx", true, false),
    ("a*b?c*x", "abxbbxdbxebxczzy", false, false),
    ("ab[c]", "abc", true, false),
    ("ab[b-d]", "abc", true, false),
    ("ab[e-g]", "abc", false, false),
    ("ab[^c]", "abc", false, false),
    ("ab[^b-d]", "abc", false, false),
    ("ab[^e-g]", "abc", true, false),
    ("a\\*b", "a*b", true, false),
    ("a\\*b", "ab", false, false),
    ("a?b", "a☺b", true, false),
    ("a[^a]b", "a☺b", true, false),
    ("a???b", "a☺b", false, false),
    ("a[^a][^a][^a]b", "a☺b", false, false),
    ("[a-ζ]*", "α", true, false),
    ("*[a-ζ]", "A", false, false),
    ("a?b", "a/b", false, false),
    ("a*b", "a/b", false, false),
    ("[\\]a]", "]", true, false),
    ("[\\-]", "-", true, false),
    ("[x\\-]", "x", true, false),
    ("[x\\-]", "-", true, false),
    ("[x\\-]", "z", false, false),
    ("[\\-x]", "x", true, false),
    ("[\\-x]", "-", true, false),
    ("[\\-x]", "a", false, false),
    ("[]a]", "]", false, true),
    ("[-]", "-", false, true),
    ("[x-]", "x", false, true),
    ("[x-]", "-", false, true),
    ("[x-]", "z", false, true),
    ("[-x]", "x", false, true),
    ("[-x]", "-", false, true),
    ("[-x]", "a", false, true),
    ("\\", "a", false, true),
    ("[a-b-c]", "a", false, true),
    ("[", "a", false, true),
    ("[^", "a", false, true),
    ("[^bc", "a", false, true),
    ("a[", "a", false, true),
    ("a[", "ab", false, true),
    ("*x", "xxx", true, false),
];
/// (pattern, match type, regex on Linux)
const COMPILE: &[(&str, MatchType, &str)] = &[
    ("*", MatchType::Regexp, r"^[^/]*$"),
    ("file*", MatchType::Regexp, r"^file[^/]*$"),
    ("*file", MatchType::Regexp, r"^[^/]*file$"),
    ("a*/b", MatchType::Regexp, r"^a[^/]*/b$"),
    ("**", MatchType::Suffix, ""),
    ("**/**", MatchType::Regexp, r"^(.*/)?.*$"),
    ("dir/**", MatchType::Prefix, ""),
    ("**/dir", MatchType::Suffix, ""),
    ("**/dir2/*", MatchType::Regexp, r"^(.*/)?dir2/[^/]*$"),
    ("**/dir2/**", MatchType::Regexp, r"^(.*/)?dir2/.*$"),
    ("**file", MatchType::Suffix, ""),
    ("**/file*txt", MatchType::Regexp, r"^(.*/)?file[^/]*txt$"),
    ("**/**/*.txt", MatchType::Regexp, r"^(.*/)?(.*/)?[^/]*\.txt$"),
    ("a[b-d]e", MatchType::Regexp, r"^a[b-d]e$"),
    (".*", MatchType::Regexp, r"^\.[^/]*$"),
    ("abc.def", MatchType::Exact, ""),
    ("abc?def", MatchType::Regexp, r"^abc[^/]def$"),
    ("**/foo/bar", MatchType::Suffix, ""),
    ("a(b)c/def", MatchType::Exact, ""),
    ("a.|)$(}+{bc", MatchType::Exact, ""),
    ("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", MatchType::Exact, ""),
];

fn new(patterns: &[&str]) -> PatternMatcher {
    PatternMatcher::new(patterns).unwrap_or_else(|e| panic!("{patterns:?}: {e}"))
}

/// Every case of TestMatches, single patterns and lists, as (patterns, text, pass).
fn all_cases() -> impl Iterator<Item = (Vec<&'static str>, &'static str, bool)> {
    MATCHES
        .iter()
        .map(|&(pattern, text, pass)| (vec![pattern], text, pass))
        .chain(MULTI.iter().map(|&(patterns, text, pass)| (patterns.to_vec(), text, pass)))
}

/// The parent folders of `text` as Go's `filepath.Dir` and a split give them: `a`, `a/b`, …
fn parents(text: &str) -> Vec<String> {
    let parent = match text.rfind('/') {
        Some(i) => patterns::clean(&text[..=i]).into_owned(),
        None => return Vec::new(),
    };
    if parent == "." {
        return Vec::new();
    }
    let parts: Vec<&str> = parent.split('/').collect();
    (1..=parts.len()).map(|n| parts[..n].join("/")).collect()
}

#[test]
fn test_matches_matches_or_parent_matches() {
    for (patterns, text, pass) in all_cases() {
        let result = new(&patterns).matches_or_parent_matches(text).unwrap();
        assert_eq!(result, pass, "patterns={patterns:?} text={text:?}");
    }
}

#[test]
fn test_matches_matches_using_parent_result() {
    // Upstream runs only the single-pattern table through the deprecated single-flag form.
    for &(pattern, text, pass) in MATCHES {
        let pm = new(&[pattern]);
        let mut parent_matched = false;
        for parent in parents(text) {
            parent_matched = pm.matches_using_parent_result(&parent, parent_matched).unwrap();
        }
        let result = pm.matches_using_parent_result(text, parent_matched).unwrap();
        assert_eq!(result, pass, "pattern={pattern:?} text={text:?}");
    }
}

#[test]
fn test_matches_matches_using_parent_results() {
    for (patterns, text, pass) in all_cases() {
        let pm = new(&patterns);
        let mut info = MatchInfo::default();
        for parent in parents(text) {
            info = pm.matches_using_parent_results(&parent, &info).unwrap().1;
        }
        let (result, _) = pm.matches_using_parent_results(text, &info).unwrap();
        assert_eq!(result, pass, "patterns={patterns:?} text={text:?}");
    }
}

#[test]
fn test_matches_matches_using_parent_results_no_context() {
    for (patterns, text, pass) in all_cases() {
        let (result, _) = new(&patterns).matches_using_parent_results(text, &MatchInfo::default()).unwrap();
        assert_eq!(result, pass, "patterns={patterns:?} text={text:?}");
    }
}

#[test]
fn test_wildcard_matches() {
    assert!(matches("fileutils.go", &["*"]).unwrap());
}

#[test]
fn test_pattern_matches() {
    assert!(matches("fileutils.go", &["*.go"]).unwrap());
}

#[test]
fn test_exclusion_pattern_matches_pattern_before() {
    assert!(matches("fileutils.go", &["!fileutils.go", "*.go"]).unwrap());
}

#[test]
fn test_pattern_matches_folder_exclusions() {
    assert!(!matches("docs/README.md", &["docs", "!docs/README.md"]).unwrap());
}

#[test]
fn test_pattern_matches_folder_with_slash_exclusions() {
    assert!(!matches("docs/README.md", &["docs/", "!docs/README.md"]).unwrap());
}

#[test]
fn test_pattern_matches_folder_wildcard_exclusions() {
    assert!(!matches("docs/README.md", &["docs/*", "!docs/README.md"]).unwrap());
}

#[test]
fn test_exclusion_pattern_matches_pattern_after() {
    assert!(!matches("fileutils.go", &["*.go", "!fileutils.go"]).unwrap());
}

#[test]
fn test_exclusion_pattern_matches_whole_directory() {
    assert!(!matches(".", &["*.go"]).unwrap());
}

#[test]
fn test_single_exclamation_error() {
    assert!(matches("fileutils.go", &["!"]).is_err());
}

#[test]
fn test_matches_with_no_patterns() {
    assert!(!matches::<&str>("/any/path/there", &[]).unwrap());
}

#[test]
fn test_matches_with_malformed_patterns() {
    assert!(matches("/any/path/there", &["["]).is_err());
}

#[test]
fn test_clean_patterns() {
    assert_eq!(new(&["docs", "config"]).patterns().len(), 2);
}

#[test]
fn test_clean_patterns_strip_empty_patterns() {
    assert_eq!(new(&["docs", "config", ""]).patterns().len(), 2);
}

#[test]
fn test_clean_patterns_exception_flag() {
    assert!(new(&["docs", "!docs/README.md"]).exclusions());
}

#[test]
fn test_clean_patterns_leading_space_trimmed() {
    assert!(new(&["docs", "  !docs/README.md"]).exclusions());
}

#[test]
fn test_clean_patterns_trailing_space_trimmed() {
    assert!(new(&["docs", "!docs/README.md  "]).exclusions());
}

#[test]
fn test_clean_patterns_error_single_exception() {
    assert!(matches!(PatternMatcher::new(&["!"]), Err(PatternError::Invalid { .. })));
}

/// TestMatch: Go's filepath.Match table run through the deprecated `Matches`.
#[test]
fn test_match() {
    for &(pattern, text, expected, bad_pattern) in MATCH {
        match matches(text, &[pattern]) {
            Ok(result) => {
                assert!(!bad_pattern, "Match({pattern:?}, {text:?}) should be a bad pattern");
                assert_eq!(result, expected, "Match({pattern:?}, {text:?})");
            }
            Err(e) => {
                assert!(bad_pattern, "Match({pattern:?}, {text:?}) failed: {e}");
                assert!(matches!(e, PatternError::Invalid { .. }), "{e}");
            }
        }
    }
}

/// TestCompile (the slash variant; the backslash one is Windows' separator).
#[test]
fn test_compile() {
    for &(pattern, match_type, regex) in COMPILE {
        let pm = new(&[pattern]);
        let compiled = &pm.patterns()[0];
        assert_eq!(compiled.match_type(), match_type, "pattern {pattern:?}");
        if match_type == MatchType::Regexp {
            assert_eq!(compiled.go_regex(), Some(regex), "pattern {pattern:?}");
        }
    }
}

#[test]
fn test_matches_or_parent_matches_malformed_pattern_does_not_panic_on_repeated_call() {
    let pm = PatternMatcher::new(&["[Local-Only]/"]).expect("passes the glob syntax check");
    for _ in 0..2 {
        assert!(matches!(pm.matches_or_parent_matches("x"), Err(PatternError::Unmatchable { .. })));
    }
}

/// ignorefile's TestReadAll.
#[test]
fn test_read_all() {
    assert!(read_ignore_file("").is_empty());
    let content = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
    assert_eq!(
        read_ignore_file(content),
        ["test1", "test2", "a/file/here", "lastfile", "!inverted/abs/path", "!", "!"]
    );
}

#[test]
fn read_all_drops_a_bom_and_keeps_windows_line_ends_out() {
    assert_eq!(read_ignore_file("\u{feff}a\r\n  # not a comment  \r\n./b/../c/\r\n"), ["a", "# not a comment", "c"]);
}

#[test]
fn wrong_parent_information_is_an_error() {
    let pm = new(&["a", "b"]);
    let (_, info) = new(&["a"]).matches_using_parent_results("a", &MatchInfo::default()).unwrap();
    assert_eq!(pm.matches_using_parent_results("a/b", &info), Err(PatternError::ParentInfo { expected: 2, got: 1 }));
}

/// Issue 8: `**/.git`, `!.gitignore`, `**/secrets`. Walking down, the children of `.git` and
/// `secrets` stay excluded; only `.gitignore` itself is brought back.
#[test]
fn issue_8_children_of_excluded_folders_stay_excluded() {
    let source = read_ignore_file("**/.git\n!.gitignore\n**/secrets\n");
    let pm = PatternMatcher::new(&source).unwrap();
    let expected = [
        (".git", true),
        (".git/config", true),
        (".git/HEAD", true),
        (".gitignore", false),
        ("secrets", true),
        ("secrets/key", true),
        ("a", false),
        ("a/secrets", true),
        ("a/secrets/key", true),
        ("b/.git", true),
        ("b/.git/config", true),
        ("src/x", false),
        ("Dockerfile", false),
        (".dockerignore", false),
    ];
    for (path, excluded) in expected {
        let mut info = MatchInfo::default();
        for parent in parents(path) {
            info = pm.matches_using_parent_results(&parent, &info).unwrap().1;
        }
        assert_eq!(pm.matches_using_parent_results(path, &info).unwrap().0, excluded, "{path} walked down");
        assert_eq!(pm.matches_or_parent_matches(path).unwrap(), excluded, "{path} with its parents");
        assert_eq!(matches_or_parent_matches(path, &source).unwrap(), excluded, "{path}");
    }
}
