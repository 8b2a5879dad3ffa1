//! `--annotation` values as buildx 0.13.1 reads them for `imagetools create`: `[type[platform]:]key=value`,
//! where only `index` and `manifest-descriptor` apply to an index being composed.

use super::ComposeError;
use crate::annotation::{self, AnnotationType};
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

pub(crate) fn parse(input: &str) -> Result<Annotation, ComposeError> {
    let a = annotation::parse(input)?;
    let level = match a.kind {
        AnnotationType::Index => Level::Index,
        AnnotationType::ManifestDescriptor => Level::ManifestDescriptor(a.platform),
        // buildx refuses these here too.
        AnnotationType::Unset | AnnotationType::Manifest | AnnotationType::IndexDescriptor => {
            let why = match a.kind {
                AnnotationType::Unset => "give it a type: index:KEY=VALUE or manifest-descriptor[PLATFORM]:KEY=VALUE",
                AnnotationType::Manifest => "\"manifest\" annotations are not supported yet",
                _ => "\"index-descriptor\" annotations are invalid while creating an image",
            };
            return Err(ComposeError::UnsupportedAnnotation { annotation: input.to_owned(), why });
        }
    };
    Ok(Annotation { level, key: a.key, value: a.value })
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
            ("k", "invalid annotation \"k\", expected key=value"),
            (
                "foo=bar",
                "annotation \"foo=bar\": give it a type: index:KEY=VALUE or manifest-descriptor[PLATFORM]:KEY=VALUE",
            ),
            ("manifest:foo=bar", "annotation \"manifest:foo=bar\": \"manifest\" annotations are not supported yet"),
            (
                "index-descriptor:foo=bar",
                "annotation \"index-descriptor:foo=bar\": \"index-descriptor\" annotations are invalid while creating an image",
            ),
            ("label:foo=bar", "unknown annotation type \"label\""),
            ("index:a b=c", "invalid annotation format, expected <type>:<key>=<value>, got \"index:a b=c\""),
        ] {
            assert_eq!(parse(input).unwrap_err().to_string(), message);
        }
        assert!(parse("manifest-descriptor[linux/nope]:k=v").unwrap_err().to_string().contains("unknown architecture"));
    }
}
