//! `strconv.ParseBool`, which buildx applies to its boolean settings (`BUILDKIT_MULTI_PLATFORM`,
//! `BUILDX_NO_DEFAULT_LOAD`, …).

/// `strconv.ParseBool(text)`: its true and false words, anything else none.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's own table (strconv/atob_test.go).
    #[test]
    fn gos_words_and_nothing_else() {
        for (text, expected) in [
            ("", None),
            ("asdf", None),
            ("0", Some(false)),
            ("f", Some(false)),
            ("F", Some(false)),
            ("FALSE", Some(false)),
            ("false", Some(false)),
            ("False", Some(false)),
            ("1", Some(true)),
            ("t", Some(true)),
            ("T", Some(true)),
            ("TRUE", Some(true)),
            ("true", Some(true)),
            ("True", Some(true)),
            ("tRuE", None),
        ] {
            assert_eq!(parse_bool(text), expected, "{text:?}");
        }
    }
}
