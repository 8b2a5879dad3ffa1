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

/// `json.MarshalIndent(v, "", "  ")` of `value`, its object members in the order they are held:
/// callers build Go's order, struct fields as declared and map keys sorted (see [`decoded`]).
/// Numbers are written as Go writes a float64, which is all a number decoded into `interface{}` is.
pub(crate) fn marshal_indent(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_indented(&mut out, value, 0);
    html_escaped(&out)
}

/// What Go holds after decoding `value` into `interface{}`: every object a `map[string]interface{}`,
/// which encoding/json writes with its keys sorted.
pub(crate) fn decoded(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_unstable_by_key(|(key, _)| key.as_str());
            Value::Object(sorted.into_iter().map(|(key, value)| (key.clone(), decoded(value))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(decoded).collect()),
        other => other.clone(),
    }
}

fn write_indented(out: &mut String, value: &serde_json::Value, depth: usize) {
    use serde_json::Value;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    match value {
        Value::Number(n) => {
            out.push_str(&go_float(n.as_f64().expect("without arbitrary_precision a number is an f64")))
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_indented(out, item, depth + 1);
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Object(members) if !members.is_empty() => {
            out.push('{');
            for (i, (key, member)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                write_indented(out, member, depth + 1);
            }
            newline(out, depth);
            out.push('}');
        }
        // Null, booleans, strings and empty containers are written alike (serde_json escapes a
        // string's control characters as Go 1.22 and later do; the HTML ones are escaped above).
        other => out.push_str(&other.to_string()),
    }
}

/// A float64 as encoding/json writes it: the shortest digits that read back the same, in decimal
/// between 1e-6 and 1e21 and in exponent form (`1e-7`, `1e+21`) outside.
fn go_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let exponent_form = format!("{f:e}");
        match exponent_form.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => format!("{mantissa}e+{exponent}"),
            _ => exponent_form,
        }
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decoded_document_is_written_as_go_writes_its_interface_value() {
        let document: serde_json::Value = serde_json::from_str(
            r#"{"z":[1,1.50,-0.0,1e-7,1.5e-10,1e21,12345678901234567890,123456789012345678901234567890],
                "a":{"b<>&":"\u2028\b\f\u0001","empty":{},"none":[]},"n":null,"t":true}"#,
        )
        .unwrap();
        let expected = r#"{
  "a": {
    "b\u003c\u003e\u0026": "\u2028\b\f\u0001",
    "empty": {},
    "none": []
  },
  "n": null,
  "t": true,
  "z": [
    1,
    1.5,
    -0,
    1e-7,
    1.5e-10,
    1e+21,
    12345678901234567000,
    1.2345678901234568e+29
  ]
}"#;
        assert_eq!(marshal_indent(&decoded(&document)), expected);
    }
}
