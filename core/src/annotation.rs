//! buildx's `--annotation` syntax (`buildflags.ParseAnnotations`, 0.13.1), which `build` and
//! `imagetools create` share: `[TYPE[PLATFORM]:]KEY=VALUE`, TYPE one of `index`,
//! `index-descriptor`, `manifest` or `manifest-descriptor`. What each command does with an
//! annotation is its own ([`crate::builds`], [`crate::images::compose`]).

use std::sync::LazyLock;

use regex::Regex;

use crate::go_text::quote::quote;
use crate::platform::Platform;

/// buildx's pattern, applied to what is left of the first `=`. Go's `\S` is ASCII's.
static KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:([a-z-]+)(?:\[([A-Za-z0-9_/-]+)\])?:)?([^\t\n\f\r ]+)$").expect("the annotation pattern compiles")
});

/// What an annotation is put on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnotationType {
    /// No type given: the exporter's default, the image's manifest.
    Unset,
    Index,
    IndexDescriptor,
    Manifest,
    ManifestDescriptor,
}

impl AnnotationType {
    /// The type as written before the `:` (empty when unset).
    pub fn as_str(self) -> &'static str {
        match self {
            AnnotationType::Unset => "",
            AnnotationType::Index => "index",
            AnnotationType::IndexDescriptor => "index-descriptor",
            AnnotationType::Manifest => "manifest",
            AnnotationType::ManifestDescriptor => "manifest-descriptor",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub kind: AnnotationType,
    /// `manifest[linux/arm64]:…`: the one platform's image it is for, normalised.
    pub platform: Option<Platform>,
    pub key: String,
    pub value: String,
}

/// Why an `--annotation` was refused, in buildx's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnotationError {
    #[error("invalid annotation {}, expected key=value", quote(.0))]
    NoValue(String),
    #[error("invalid annotation format, expected <type>:<key>=<value>, got {}", quote(.0))]
    Format(String),
    #[error("unknown annotation type {}", quote(.0))]
    UnknownType(String),
    #[error("invalid platform {}: {reason}", quote(.platform))]
    Platform { platform: String, reason: String },
}

/// Reads one `--annotation` as buildx 0.13 does. Several types at once (`index,manifest:k=v`)
/// came in buildx 0.16; 0.13 takes the whole left side as the key of a manifest annotation.
pub fn parse(input: &str) -> Result<Annotation, AnnotationError> {
    let (key, value) = input.split_once('=').ok_or_else(|| AnnotationError::NoValue(input.to_owned()))?;
    let parts = KEY.captures(key).ok_or_else(|| AnnotationError::Format(input.to_owned()))?;
    let kind = match parts.get(1).map_or("", |m| m.as_str()) {
        "" => AnnotationType::Unset,
        "index" => AnnotationType::Index,
        "index-descriptor" => AnnotationType::IndexDescriptor,
        "manifest" => AnnotationType::Manifest,
        "manifest-descriptor" => AnnotationType::ManifestDescriptor,
        other => return Err(AnnotationError::UnknownType(other.to_owned())),
    };
    let platform = match parts.get(2) {
        None => None,
        Some(p) => Some(
            p.as_str()
                .parse::<Platform>()
                .map_err(|e| AnnotationError::Platform { platform: p.as_str().to_owned(), reason: e.to_string() })?
                .normalized(),
        ),
    };
    Ok(Annotation { kind, platform, key: parts[3].to_owned(), value: value.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &str) -> (AnnotationType, Option<String>, String, String) {
        let a = parse(input).expect("a valid annotation");
        (a.kind, a.platform.map(|p| p.to_string()), a.key, a.value)
    }

    #[test]
    fn types_platforms_keys_and_values_are_read_as_buildx_reads_them() {
        let t = |kind, platform: Option<&str>, key: &str, value: &str| {
            (kind, platform.map(str::to_owned), key.to_owned(), value.to_owned())
        };
        use AnnotationType::*;
        assert_eq!(
            read("org.opencontainers.image.title=a=b c"),
            t(Unset, None, "org.opencontainers.image.title", "a=b c")
        );
        assert_eq!(read("index:foo="), t(Index, None, "foo", ""));
        assert_eq!(read("index-descriptor:foo=1"), t(IndexDescriptor, None, "foo", "1"));
        assert_eq!(read("manifest[linux/arm]:foo=1"), t(Manifest, Some("linux/arm/v7"), "foo", "1"));
        assert_eq!(
            read("manifest-descriptor[linux/arm64/v8]:k=v"),
            t(ManifestDescriptor, Some("linux/arm64"), "k", "v")
        );
    }

    #[test]
    fn what_does_not_read_as_a_type_is_part_of_the_key_as_in_buildx_0_13() {
        use AnnotationType::Unset;
        assert_eq!(read("index,manifest:foo=bar").2, "index,manifest:foo");
        assert_eq!(read("com.example:foo=bar").2, "com.example:foo");
        assert_eq!(read("manifest[linux/*]:foo=bar").2, "manifest[linux/*]:foo");
        assert_eq!(read("index:=bar"), (Unset, None, "index:".to_owned(), "bar".to_owned()));
    }

    #[test]
    fn refusals_read_as_buildx_prints_them() {
        let refused = |input: &str| parse(input).unwrap_err().to_string();
        assert_eq!(refused("foo"), r#"invalid annotation "foo", expected key=value"#);
        assert_eq!(refused("=v"), r#"invalid annotation format, expected <type>:<key>=<value>, got "=v""#);
        assert_eq!(refused("a b=c"), r#"invalid annotation format, expected <type>:<key>=<value>, got "a b=c""#);
        assert_eq!(refused("example:foo=bar"), r#"unknown annotation type "example""#);
        assert!(refused("manifest[foo]:k=v").starts_with(r#"invalid platform "foo": "#));
    }
}
