//! `buildlane build --annotation`: each annotation becomes the exporter attribute BuildKit reads
//! (`AnnotationKey.String()`: `annotation.K`, `annotation-index.K`,
//! `annotation-manifest[linux/arm64].K`, …), handed to every exporter as buildx hands it to every
//! output. The image, oci and docker exporters apply them; the others, and the engine's classic
//! image store, ignore them, as they do for buildx.

use std::collections::BTreeMap;

use crate::annotation::{self, AnnotationError, AnnotationType};

/// The exporter attributes the `--annotation` items make; a key given twice keeps its last value.
pub(super) fn exporter_attrs(items: &[String]) -> Result<BTreeMap<String, String>, AnnotationError> {
    let mut attrs = BTreeMap::new();
    for item in items {
        let a = annotation::parse(item)?;
        // An index's annotations name no platform, even when given one.
        let key = match (a.kind, &a.platform) {
            (AnnotationType::Unset, _) => format!("annotation.{}", a.key),
            (AnnotationType::Manifest | AnnotationType::ManifestDescriptor, Some(platform)) => {
                format!("annotation-{}[{platform}].{}", a.kind.as_str(), a.key)
            }
            (kind, _) => format!("annotation-{}.{}", kind.as_str(), a.key),
        };
        attrs.insert(key, a.value);
    }
    Ok(attrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(items: &[&str]) -> Vec<(String, String)> {
        let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        exporter_attrs(&items).expect("valid annotations").into_iter().collect()
    }

    #[test]
    fn each_type_becomes_the_attribute_buildkit_reads() {
        let key = |item: &str| keys(&[item]).remove(0).0;
        assert_eq!(key("org.opencontainers.image.title=app"), "annotation.org.opencontainers.image.title");
        assert_eq!(key("index:foo=bar"), "annotation-index.foo");
        assert_eq!(key("index-descriptor:foo=bar"), "annotation-index-descriptor.foo");
        assert_eq!(key("manifest:foo=bar"), "annotation-manifest.foo");
        assert_eq!(key("manifest[linux/arm]:foo=bar"), "annotation-manifest[linux/arm/v7].foo");
        assert_eq!(key("manifest-descriptor[linux/arm64]:k=v"), "annotation-manifest-descriptor[linux/arm64].k");
        assert_eq!(key("index[linux/amd64]:foo=bar"), "annotation-index.foo");
        assert_eq!(key("index,manifest:foo=bar"), "annotation.index,manifest:foo");
    }

    #[test]
    fn the_last_value_of_a_key_wins() {
        assert_eq!(
            keys(&["a=", "b=x=y", "a=2"]),
            vec![("annotation.a".to_owned(), "2".to_owned()), ("annotation.b".to_owned(), "x=y".to_owned())]
        );
    }
}
