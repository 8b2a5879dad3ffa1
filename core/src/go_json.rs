//! JSON as Go's encoding/json writes it, where Buildlane's bytes must equal a Go tool's (buildx's
//! store files, `imagetools create`'s index): serde_json's output with Go's HTML-safe escapes.

/// Escapes `<`, `>`, `&`, U+2028 and U+2029 as Go does. These only ever occur inside strings in
/// JSON text, so escaping them everywhere is escaping them there.
pub(crate) fn html_escaped(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}
