//! A record's trace as a bundle carries it (buildx `util/desktop/bundle/trace.go`): BuildKit's OTLP
//! spans, one JSON object after another, re-encoded with a two-space indent, each span's string
//! attributes masked where they look like credentials (`token=…`, `secret_access_key=…`, GitHub
//! tokens), since a span's attributes quote commands and their arguments.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

/// Masks of credentials in an attribute value, as buildx's `sanitizeCommand` applies them.
fn masks() -> &'static [(Regex, &'static str); 3] {
    static MASKS: OnceLock<[(Regex, &'static str); 3]> = OnceLock::new();
    MASKS.get_or_init(|| {
        let keys = ["ghtoken", "token", "access_key_id", "secret_access_key", "session_token"].join("|");
        [
            (Regex::new(&format!("(?i)({keys})=[^ ,]+")).expect("a valid pattern"), "${1}=xxxxx"),
            (Regex::new("(?:ghu|ghs)_[A-Za-z0-9]{36}").expect("a valid pattern"), "xxxxx"),
            // Go's `\w` is ASCII.
            (Regex::new("github_pat_[0-9A-Za-z_]{82}").expect("a valid pattern"), "xxxxx"),
        ]
    })
}

fn sanitized_command(value: &str) -> String {
    let mut out = value.to_owned();
    for (pattern, mask) in masks() {
        out = pattern.replace_all(&out, *mask).into_owned();
    }
    out
}

/// The trace with its spans' string attributes masked; `Err` when it is not a stream of JSON objects.
pub(crate) fn sanitized(trace: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = String::new();
    for span in serde_json::Deserializer::from_slice(trace).into_iter::<Value>() {
        let mut span = span.map_err(|e| format!("a span is not JSON: {e}"))?;
        let attributes = span.get_mut("Attributes").and_then(Value::as_array_mut);
        for attribute in attributes.into_iter().flatten() {
            let Some(value) = attribute.get_mut("Value") else { continue };
            if value.get("Type").and_then(Value::as_str) != Some("STRING") {
                continue;
            }
            if let Some(Value::String(text)) = value.get_mut("Value") {
                *text = sanitized_command(text);
            }
        }
        // Go's json.Encoder with SetIndent("", "  "): each value indented, then a newline.
        out.push_str(&serde_json::to_string_pretty(&span).map_err(|e| e.to_string())?);
        out.push('\n');
    }
    Ok(crate::go_json::html_escaped(&out).into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_span_attributes_are_masked_as_buildx_masks_them() {
        let gh = format!("ghs_{}", "a".repeat(36));
        let pat = format!("github_pat_{}", "b".repeat(82));
        let trace = format!(
            r#"{{"Name":"exec","Attributes":[{{"Key":"cmd","Value":{{"Type":"STRING","Value":"git clone --token=abc,x TOKEN=def {gh} {pat}"}}}},{{"Key":"n","Value":{{"Type":"INT64","Value":3}}}}]}}
{{"Name":"solve"}}"#
        );
        let out = String::from_utf8(sanitized(trace.as_bytes()).unwrap()).unwrap();
        let spans: Vec<Value> =
            serde_json::Deserializer::from_str(&out).into_iter::<Value>().map(Result::unwrap).collect();
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0]["Attributes"][0]["Value"]["Value"], "git clone --token=xxxxx,x TOKEN=xxxxx xxxxx xxxxx");
        assert_eq!(spans[0]["Attributes"][1]["Value"]["Value"], 3);
        assert!(out.starts_with("{\n  \"Name\": \"exec\",\n  \"Attributes\": ["), "{out}");
        assert!(out.ends_with("{\n  \"Name\": \"solve\"\n}\n"), "{out}");
        assert!(sanitized(b"{\"Name\":").is_err());
    }
}
