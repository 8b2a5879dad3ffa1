//! `--annotation` values as buildx 0.13.1 reads them for `imagetools create`: `[type[platform]:]key=value`,
//! where only `index` and `manifest-descriptor` apply to an index being composed.

use std::sync::OnceLock;

use regex::Regex;

use super::ComposeError;
use crate::platform::Platform;

/// Where an annotation goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Level {
    /// The index's own annotations.
    Index,
    /// Each entry's descriptor in the index (those of one platform when it names one).
    ManifestDescriptor(Option<Platform>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Annotation {
    pub level: Level,
    pub key: String,
    pub value: String,
}

/// buildx's `annotationRegexp`, applied to what is left of the first `=`.
fn key_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"^(?:([a-z-]+)(?:\[([A-Za-z0-9_/-]+)\])?:)?(\S+)$").expect("the annotation pattern compiles")
    })
}

pub(crate) fn parse(input: &str) -> Result<Annotation, ComposeError> {
    let invalid = |reason: String| ComposeError::InvalidAnnotation { annotation: input.to_owned(), reason };
    let (key, value) = input.split_once('=').ok_or_else(|| invalid("expected key=value".into()))?;
    let groups = key_pattern().captures(key).ok_or_else(|| {
        invalid("expected <type>:<key>=<value>, e.g. index:org.opencontainers.image.title=app".into())
    })?;
    let kind = groups.get(1).map_or("", |m| m.as_str());
    let platform = match groups.get(2) {
        Some(p) => Some(p.as_str().parse::<Platform>().map_err(|e| invalid(e.to_string()))?),
        None => None,
    };
    let key = groups.get(3).map_or("", |m| m.as_str()).to_owned();
    let level = match kind {
        "index" => Level::Index,
        "manifest-descriptor" => Level::ManifestDescriptor(platform),
        // buildx refuses these here too.
        "" | "manifest" | "index-descriptor" => {
            let why = match kind {
                "" => "give it a type: index:KEY=VALUE or manifest-descriptor[PLATFORM]:KEY=VALUE",
                "manifest" => "\"manifest\" annotations are not supported yet",
                _ => "\"index-descriptor\" annotations are invalid while creating an image",
            };
            return Err(ComposeError::UnsupportedAnnotation { annotation: input.to_owned(), why });
        }
        other => return Err(invalid(format!("unknown annotation type \"{other}\""))),
    };
    Ok(Annotation { level, key, value: value.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_platforms_and_values_are_read_as_buildx_reads_them() {
        let a = parse("index:org.opencontainers.image.title=a=b c").unwrap();
        assert_eq!(
            (a.level, a.key.as_str(), a.value.as_str()),
            (Level::Index, "org.opencontainers.image.title", "a=b c")
        );
        let d = parse("manifest-descriptor[linux/arm64/v8]:k=").unwrap();
        assert_eq!(d.level, Level::ManifestDescriptor(Some(Platform::new("linux", "arm64", ""))));
        assert_eq!(d.value, "");
        assert_eq!(parse("manifest-descriptor:k=v").unwrap().level, Level::ManifestDescriptor(None));
    }

    #[test]
    fn what_buildx_refuses_is_refused() {
        for (input, message) in [
            ("k", "invalid annotation \"k\": expected key=value"),
            (
                "foo=bar",
                "annotation \"foo=bar\": give it a type: index:KEY=VALUE or manifest-descriptor[PLATFORM]:KEY=VALUE",
            ),
            ("manifest:foo=bar", "annotation \"manifest:foo=bar\": \"manifest\" annotations are not supported yet"),
            (
                "index-descriptor:foo=bar",
                "annotation \"index-descriptor:foo=bar\": \"index-descriptor\" annotations are invalid while creating an image",
            ),
            ("label:foo=bar", "invalid annotation \"label:foo=bar\": unknown annotation type \"label\""),
            ("index:a b=c", "invalid annotation \"index:a b=c\": expected <type>:<key>=<value>, e.g. index:org.opencontainers.image.title=app"),
        ] {
            assert_eq!(parse(input).unwrap_err().to_string(), message);
        }
        assert!(parse("manifest-descriptor[linux/nope]:k=v").unwrap_err().to_string().contains("unknown architecture"));
    }
}
