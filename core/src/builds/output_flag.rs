//! The `--output` flag's text as buildx 0.13 reads it (`util/buildflags.ParseExports`): one CSV
//! record of `key=value` fields (a field holding a comma is quoted, `"name=a:1,b:1"`), keys
//! lower-cased and trimmed, `type` and `dest` taken out and every other field left for the
//! exporter; a value without `=` is a local output's folder, `-` a tar on standard output;
//! `type=registry` is the image exporter pushing. And the same text written back (Copy as CLI).

use super::request::{BuildOutput, ExporterAttrs};

/// One `--output` as written: its exporter type, `dest` if given, and the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFlag {
    pub kind: String,
    pub dest: Option<String>,
    pub attrs: ExporterAttrs,
}

#[derive(Debug, thiserror::Error)]
pub enum OutputFlagError {
    #[error("{0}")]
    Csv(String),
    #[error("invalid value {0}")]
    Field(String),
    #[error("type is required for output")]
    TypeRequired,
}

impl std::str::FromStr for OutputFlag {
    type Err = OutputFlagError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let fields = csv_record(spec)?;
        if fields.len() == 1 && fields[0] == spec && !spec.starts_with("type=") {
            let kind = if spec == "-" { "tar" } else { "local" };
            return Ok(OutputFlag { kind: kind.into(), dest: Some(spec.into()), attrs: ExporterAttrs::new() });
        }
        let mut kind = None;
        let mut attrs = ExporterAttrs::new();
        for field in fields {
            let (key, value) = field.split_once('=').ok_or_else(|| OutputFlagError::Field(field.clone()))?;
            match key.trim().to_lowercase().as_str() {
                "type" => kind = Some(value.to_owned()),
                key => {
                    attrs.insert(key.to_owned(), value.to_owned());
                }
            }
        }
        let mut kind = kind.filter(|k| !k.is_empty()).ok_or(OutputFlagError::TypeRequired)?;
        if kind == "registry" {
            kind = "image".into();
            attrs.entry("push".into()).or_insert_with(|| "true".into());
        }
        let dest = attrs.remove("dest");
        Ok(OutputFlag { kind, dest, attrs })
    }
}

/// The fields of one CSV record, as Go's `csv.Reader.Read` returns the first.
pub(super) fn csv_record(text: &str) -> Result<Vec<String>, OutputFlagError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    match reader.records().next() {
        Some(Ok(record)) => Ok(record.iter().map(str::to_owned).collect()),
        Some(Err(e)) => Err(OutputFlagError::Csv(e.to_string())),
        None => Err(OutputFlagError::Csv("EOF".into())),
    }
}

/// `fields` as one CSV record, quoting those that need it (a comma, a quote), as buildx reads it.
fn csv_line(fields: &[String]) -> String {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    writer.write_record(fields).expect("a record is written to memory");
    let bytes = writer.into_inner().expect("memory is flushed");
    String::from_utf8_lossy(&bytes).trim_end_matches('\n').to_owned()
}

/// The flags buildx takes for `output`: `--push` and `--load` where they say it all, else an
/// `--output` with its type, `dest` and attributes; nothing for `CacheOnly`.
pub(super) fn flags(output: &BuildOutput) -> Vec<String> {
    let (kind, dest) = match output {
        BuildOutput::CacheOnly => return Vec::new(),
        BuildOutput::Push { .. } if !output.has_attrs() => return vec!["--push".into()],
        BuildOutput::Load { .. } if !output.has_attrs() => return vec!["--load".into()],
        BuildOutput::Push { .. } => ("registry", None),
        BuildOutput::Image { .. } => ("image", None),
        BuildOutput::Load { .. } => ("docker", None),
        BuildOutput::Oci { dest, .. } => ("oci", Some(dest)),
        BuildOutput::Docker { dest, .. } => ("docker", Some(dest)),
        BuildOutput::Tar { dest, .. } => ("tar", Some(dest)),
        BuildOutput::Local { dest, .. } => ("local", Some(dest)),
    };
    let mut fields = vec![format!("type={kind}")];
    fields.extend(dest.map(|dest| format!("dest={dest}")));
    fields.extend(output.attrs().into_iter().flatten().map(|(k, v)| format!("{k}={v}")));
    vec!["--output".into(), csv_line(&fields)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(spec: &str) -> OutputFlag {
        spec.parse().unwrap_or_else(|e| panic!("{spec}: {e}"))
    }

    fn attrs(pairs: &[(&str, &str)]) -> ExporterAttrs {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn every_field_but_type_and_dest_is_left_for_the_exporter_as_buildx_leaves_it() {
        let flag = parsed("type=image,name=r/a:1,push=true,compression=zstd,compression-level=3,oci-mediatypes=true");
        assert_eq!(flag.kind, "image");
        assert_eq!(flag.dest, None);
        assert_eq!(
            flag.attrs,
            attrs(&[
                ("name", "r/a:1"),
                ("push", "true"),
                ("compression", "zstd"),
                ("compression-level", "3"),
                ("oci-mediatypes", "true")
            ])
        );
        let flag = parsed("type=oci,dest=out,tar=false,annotation.org.opencontainers.image.title=app");
        assert_eq!((flag.kind.as_str(), flag.dest.as_deref()), ("oci", Some("out")));
        assert_eq!(flag.attrs, attrs(&[("tar", "false"), ("annotation.org.opencontainers.image.title", "app")]));
        // Keys as buildx reads them: trimmed and lower-cased; values as written.
        assert_eq!(parsed("type=local, Dest =out,Platform-Split= false").attrs, attrs(&[("platform-split", " false")]));
    }

    #[test]
    fn a_quoted_field_holds_commas_and_registry_is_the_image_exporter_pushing() {
        let flag = parsed(r#"type=registry,"name=r/a:1,r/a:latest""#);
        assert_eq!(flag.kind, "image");
        assert_eq!(flag.attrs, attrs(&[("name", "r/a:1,r/a:latest"), ("push", "true")]));
        assert_eq!(parsed("type=registry,push=false").attrs, attrs(&[("push", "false")]), "push given wins");
    }

    #[test]
    fn a_value_without_a_type_is_a_folder_or_standard_output_and_a_bare_field_is_refused_in_buildx_words() {
        assert_eq!(
            parsed("out/dir"),
            OutputFlag { kind: "local".into(), dest: Some("out/dir".into()), attrs: attrs(&[]) }
        );
        assert_eq!(parsed("-").kind, "tar");
        let refused = |spec: &str| spec.parse::<OutputFlag>().unwrap_err().to_string();
        assert_eq!(refused("type=oci,out.tar"), "invalid value out.tar");
        assert_eq!(refused("dest=out.tar,compression=gzip"), "type is required for output");
        assert_eq!(refused("a,b"), "invalid value a");
    }

    #[test]
    fn an_output_is_written_back_as_buildx_reads_it() {
        let written = |output: BuildOutput| flags(&output).join(" ");
        assert_eq!(written(BuildOutput::push()), "--push");
        assert_eq!(written(BuildOutput::load()), "--load");
        assert_eq!(written(BuildOutput::CacheOnly), "");
        let named = attrs(&[("name", "r/a:1,r/a:2"), ("compression", "zstd")]);
        assert_eq!(
            written(BuildOutput::push().with_attrs(named.clone())),
            r#"--output type=registry,compression=zstd,"name=r/a:1,r/a:2""#
        );
        assert_eq!(written(BuildOutput::image()), "--output type=image");
        assert_eq!(
            written(BuildOutput::load().with_attrs(attrs(&[("context", "other")]))),
            "--output type=docker,context=other"
        );
        let folder = BuildOutput::oci("out").with_attrs(attrs(&[("tar", "false")]));
        assert_eq!(written(folder.clone()), "--output type=oci,dest=out,tar=false");
        // Read back, it is the same output.
        let back = parsed(&flags(&BuildOutput::push().with_attrs(named.clone()))[1]);
        assert_eq!(back.attrs, attrs(&[("name", "r/a:1,r/a:2"), ("compression", "zstd"), ("push", "true")]));
    }
}
