//! `strconv.Quote`, which Go's `%q` prints: in double quotes, `"` and `\` escaped, printable
//! characters as they are, the others as `\a`, `\n`, `\x04`, `\u00a0` or `\U0010ffff`.

/// `strconv.Quote(value)`.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if is_print(c) => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
/// Rust's own escaping draws the same line (its printable table leaves out exactly the control,
/// format, surrogate, private-use, unassigned and separator characters but the space); a
/// character after another is escaped by `str::escape_debug` only when it is not printable.
fn is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    let mut pair = String::from("a");
    pair.push(c);
    pair.escape_debug().eq(pair.chars())
}

#[cfg(test)]
mod tests {
    //! Go's src/strconv/quote_test.go quotetests (the cases a Rust string can hold), and
    //! driver option values as buildx inspect prints them.
    use super::*;

    #[test]
    fn quoted_as_go_quotes() {
        let table = [
            ("\u{7}\u{8}\u{c}\r\n\t\u{b}", r#""\a\b\f\r\n\t\v""#),
            ("\\", r#""\\""#),
            ("\u{263a}", "\"\u{263a}\""),
            ("\u{10ffff}", r#""\U0010ffff""#),
            ("\u{4}", r#""\x04""#),
            ("!\u{a0}!\u{2000}!\u{3000}!", r#""!\u00a0!\u2000!\u3000!""#),
            ("\u{7f}", r#""\x7f""#),
            ("foo/bar:1", r#""foo/bar:1""#),
            ("a \"b\"\\\n", r#""a \"b\"\\\n""#),
            ("it's e\u{301}", "\"it's e\u{301}\""),
            ("\u{200b}", r#""\u200b""#),
        ];
        for (value, want) in table {
            assert_eq!(quote(value), want, "{value:?}");
        }
    }
}
