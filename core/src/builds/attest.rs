//! Attestations as buildx 0.13 asks BuildKit for them. `--attest` is one CSV record of `key=value`
//! fields naming its `type` (`util/buildflags.ParseAttest`); `--provenance V` and `--sbom V` are
//! shorthands for it, a boolean `V` meaning `disabled=!V` and any other text being the fields after
//! the type. A disabled attestation sends nothing; any other goes to the frontend whole, as
//! `attest:TYPE`. Without a provenance of its own, a build gets buildx's default: a minimal one that
//! BuildKit keeps with an image only (`inline-only`), none beside a local or tar output's files nor
//! in an OCI layout. A provenance asked for is BuildKit's `max` unless it names a `mode`, and goes
//! with every output.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::go_text::parse_bool::parse_bool;
use crate::go_text::quote::quote;

/// `attest:provenance` when a build names none: buildx's default.
pub const DEFAULT_PROVENANCE: &str = "mode=min,inline-only=true";

/// The provenance attestation a build asks for (`--provenance`, `--attest type=provenance,…`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum ProvenanceAttest {
    /// None named: buildx's default, a minimal provenance kept with an image only.
    #[default]
    Default,
    /// None at all (`--provenance false`, `disabled=true`, or `BUILDX_NO_DEFAULT_ATTESTATIONS`).
    Off,
    /// Asked for: the attestation as buildx hands it to the frontend, whole
    /// (`type=provenance,mode=max`, `type=provenance,disabled=false`); BuildKit makes `max` when it
    /// names no `mode`.
    Attrs(String),
}

impl ProvenanceAttest {
    /// Asked for in so many words (`--provenance mode=min`): what a docker tarball cannot carry.
    pub fn is_explicit(&self) -> bool {
        matches!(self, ProvenanceAttest::Attrs(_))
    }

    /// The frontend's `attest:provenance`, as buildx sets it; none when off.
    pub(super) fn frontend_attr(&self) -> Option<String> {
        match self {
            ProvenanceAttest::Default => Some(DEFAULT_PROVENANCE.to_owned()),
            ProvenanceAttest::Off => None,
            ProvenanceAttest::Attrs(attrs) => Some(attrs.clone()),
        }
    }

    /// What a build's recorded `attest:provenance` asked for: buildx's default by its text, none
    /// when the record has none, else that attestation (given its type when it names none, as
    /// another client may send it).
    pub fn from_frontend_attr(value: Option<&str>) -> Self {
        match value {
            None => ProvenanceAttest::Off,
            Some(DEFAULT_PROVENANCE) => ProvenanceAttest::Default,
            Some(value) => match value.parse::<Attest>() {
                Ok(attest) if attest.disabled => ProvenanceAttest::Off,
                Ok(_) => ProvenanceAttest::Attrs(value.to_owned()),
                Err(_) => ProvenanceAttest::Attrs(canonical("provenance", value)),
            },
        }
    }

    /// The flags buildx reads back to this provenance: none for its default, else `--provenance`
    /// with the fields after the type, or `--attest` with all of them.
    pub(super) fn flags(&self) -> Vec<String> {
        match self {
            ProvenanceAttest::Default => Vec::new(),
            ProvenanceAttest::Off => vec!["--provenance".into(), "false".into()],
            ProvenanceAttest::Attrs(attrs) => match attrs.strip_prefix("type=provenance,") {
                Some(rest) => vec!["--provenance".into(), rest.to_owned()],
                None => vec!["--attest".into(), attrs.clone()],
            },
        }
    }

    /// Refuses an attestation that buildx would not read as a provenance.
    pub(super) fn check(&self) -> Result<(), AttestError> {
        let ProvenanceAttest::Attrs(attrs) = self else { return Ok(()) };
        let attest: Attest = attrs.parse()?;
        if !attest.is_provenance() {
            return Err(AttestError::NotProvenance(attrs.clone()));
        }
        Ok(())
    }
}

/// Why buildx (or BuildKit, for an unknown type) refuses an attestation, in its words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestError {
    #[error("{0}")]
    Csv(String),
    /// A field without `=`.
    #[error("invalid value {0}")]
    Field(String),
    #[error("invalid value {field}: strconv.ParseBool: parsing {}: invalid syntax", quote(.value))]
    Disabled { field: String, value: String },
    #[error("attestation type not specified")]
    TypeMissing,
    #[error("duplicate attestation field {0}")]
    Duplicate(String),
    /// BuildKit's words, when the solve starts: refused before it here.
    #[error("unknown attestation type {}", quote(.0))]
    UnknownType(String),
    /// What Buildlane does not pass on: an SBOM scanner is given its image alone.
    #[error("invalid SBOM attestation field {0}: Buildlane passes the scanner its generator only")]
    SbomField(String),
    #[error("{0} is not a provenance attestation")]
    NotProvenance(String),
}

/// One attestation as buildx reads it: its type, whether disabled, and its text whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attest {
    /// As written (`provenance`, `sbom`); BuildKit reads it lower-cased.
    pub kind: String,
    pub disabled: bool,
    /// The text given, every field in it.
    pub attrs: String,
    /// The fields, keys trimmed and lower-cased as buildx reads them.
    fields: Vec<(String, String)>,
}

impl std::str::FromStr for Attest {
    type Err = AttestError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut kind = String::new();
        let mut disabled = false;
        let mut fields = Vec::new();
        if !text.is_empty() {
            for field in super::output_flag::csv_record(text).map_err(|e| AttestError::Csv(e.to_string()))? {
                let (key, value) = field.split_once('=').ok_or_else(|| AttestError::Field(field.clone()))?;
                let key = key.trim().to_lowercase();
                match key.as_str() {
                    "type" => kind = value.to_owned(),
                    "disabled" => {
                        disabled = parse_bool(value)
                            .ok_or_else(|| AttestError::Disabled { field: field.clone(), value: value.to_owned() })?
                    }
                    _ => {}
                }
                fields.push((key, value.to_owned()));
            }
        }
        if kind.is_empty() {
            return Err(AttestError::TypeMissing);
        }
        Ok(Attest { kind, disabled, attrs: text.to_owned(), fields })
    }
}

impl Attest {
    fn is_provenance(&self) -> bool {
        self.kind.eq_ignore_ascii_case("provenance")
    }

    fn is_sbom(&self) -> bool {
        self.kind.eq_ignore_ascii_case("sbom")
    }
}

/// `--provenance V` or `--sbom V` as the attestation buildx reads (`CanonicalizeAttest`): a
/// boolean as `disabled=!V`, other text as the fields after the type.
pub fn canonical(kind: &str, value: &str) -> String {
    match parse_bool(value) {
        Some(on) => format!("type={kind},disabled={}", !on),
        None => format!("type={kind},{value}"),
    }
}

/// What a build's attestations ask for, read as buildx reads them: each `--attest` in order, then
/// `--provenance`, then `--sbom` (empty: not given), a type named twice refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attestations {
    /// `None`: no provenance named, buildx's default applies.
    pub provenance: Option<ProvenanceAttest>,
    /// The SBOM scanner image when an SBOM is asked for (empty: BuildKit's default).
    pub sbom: Option<String>,
}

impl Attestations {
    pub fn parse(attests: &[String], provenance: &str, sbom: &str) -> Result<Self, AttestError> {
        let shorthands = [("provenance", provenance), ("sbom", sbom)];
        let texts = attests.iter().cloned().chain(
            shorthands.iter().filter(|(_, value)| !value.is_empty()).map(|(kind, value)| canonical(kind, value)),
        );
        let mut read = Attestations::default();
        let mut seen: Vec<String> = Vec::new();
        for text in texts {
            let attest: Attest = text.parse()?;
            if seen.contains(&attest.kind) {
                return Err(AttestError::Duplicate(attest.kind));
            }
            seen.push(attest.kind.clone());
            if attest.is_provenance() {
                read.provenance.get_or_insert(match attest.disabled {
                    true => ProvenanceAttest::Off,
                    false => ProvenanceAttest::Attrs(attest.attrs),
                });
            } else if attest.is_sbom() {
                if let Some(field) =
                    attest.fields.iter().find(|(k, _)| !["type", "disabled", "generator"].contains(&k.as_str()))
                {
                    return Err(AttestError::SbomField(format!("{}={}", field.0, field.1)));
                }
                let generator = attest.fields.iter().find(|(k, _)| k == "generator").map(|(_, v)| v.trim().to_owned());
                read.sbom = (!attest.disabled).then(|| generator.unwrap_or_default());
            } else {
                return Err(AttestError::UnknownType(attest.kind));
            }
        }
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(attests: &[&str], provenance: &str, sbom: &str) -> Result<Attestations, String> {
        let attests: Vec<String> = attests.iter().map(|a| a.to_string()).collect();
        Attestations::parse(&attests, provenance, sbom).map_err(|e| e.to_string())
    }

    fn provenance(flag: &str) -> Option<ProvenanceAttest> {
        read(&[], flag, "").unwrap().provenance
    }

    #[test]
    fn provenance_true_or_false_is_read_as_go_reads_a_boolean_and_anything_else_as_fields() {
        let attrs = |a: &str| Some(ProvenanceAttest::Attrs(a.into()));
        assert_eq!(provenance(""), None, "not given: buildx's default applies");
        for on in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(provenance(on), attrs("type=provenance,disabled=false"), "{on}");
        }
        for off in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(provenance(off), Some(ProvenanceAttest::Off), "{off}");
        }
        assert_eq!(provenance("mode=max"), attrs("type=provenance,mode=max"));
        assert_eq!(provenance("mode=min,builder-id=ci"), attrs("type=provenance,mode=min,builder-id=ci"));
        let given = read(&["type=provenance,mode=max,reproducible=true"], "", "").unwrap();
        assert_eq!(given.provenance, attrs("type=provenance,mode=max,reproducible=true"), "--attest whole");
    }

    #[test]
    fn what_buildx_refuses_is_refused_in_its_words() {
        let refused = |attests: &[&str], provenance: &str, sbom: &str| read(attests, provenance, sbom).unwrap_err();
        assert_eq!(refused(&[], "min", ""), "invalid value min", "a word is no field");
        assert_eq!(refused(&[], "yes", ""), "invalid value yes");
        assert_eq!(refused(&[], "", "x"), "invalid value x");
        assert_eq!(refused(&["mode=max"], "", ""), "attestation type not specified");
        assert_eq!(refused(&[""], "", ""), "attestation type not specified");
        assert_eq!(
            refused(&["type=provenance,disabled=maybe"], "", ""),
            "invalid value disabled=maybe: strconv.ParseBool: parsing \"maybe\": invalid syntax"
        );
        assert_eq!(refused(&["type=provenance"], "mode=max", ""), "duplicate attestation field provenance");
        assert_eq!(refused(&["type=sbom", "type=sbom,disabled=true"], "", ""), "duplicate attestation field sbom");
        assert_eq!(refused(&["type=provenance"], "max", ""), "invalid value max", "read before the duplicate");
        assert_eq!(refused(&["type=foo"], "", ""), "unknown attestation type \"foo\"");
    }

    #[test]
    fn an_sbom_is_on_with_its_generator_or_off() {
        let sbom = |attests: &[&str], flag: &str| read(attests, "", flag).unwrap().sbom;
        assert_eq!(sbom(&[], ""), None);
        assert_eq!(sbom(&[], "true"), Some(String::new()));
        assert_eq!(sbom(&[], "false"), None);
        assert_eq!(sbom(&[], "generator=127.0.0.1:5055/scanner:1"), Some("127.0.0.1:5055/scanner:1".into()));
        assert_eq!(sbom(&["type=sbom,disabled=true,generator=x"], ""), None);
        assert_eq!(
            read(&["type=sbom,mode=max"], "", "").unwrap_err(),
            "invalid SBOM attestation field mode=max: Buildlane passes the scanner its generator only"
        );
    }

    #[test]
    fn the_frontend_gets_buildxs_default_nothing_when_off_or_the_attestation_whole() {
        assert_eq!(ProvenanceAttest::Default.frontend_attr().as_deref(), Some("mode=min,inline-only=true"));
        assert_eq!(ProvenanceAttest::Off.frontend_attr(), None);
        let max = ProvenanceAttest::Attrs("type=provenance,mode=max".into());
        assert_eq!(max.frontend_attr().as_deref(), Some("type=provenance,mode=max"), "no inline-only");
        assert!(max.is_explicit() && !ProvenanceAttest::Default.is_explicit() && !ProvenanceAttest::Off.is_explicit());
    }

    #[test]
    fn a_recorded_attribute_reads_back_to_what_asked_for_it() {
        let from = ProvenanceAttest::from_frontend_attr;
        assert_eq!(from(Some("mode=min,inline-only=true")), ProvenanceAttest::Default);
        assert_eq!(from(None), ProvenanceAttest::Off);
        assert_eq!(from(Some("type=provenance,mode=max")), ProvenanceAttest::Attrs("type=provenance,mode=max".into()));
        assert_eq!(
            from(Some("mode=max")),
            ProvenanceAttest::Attrs("type=provenance,mode=max".into()),
            "another client's"
        );
        assert_eq!(from(Some("type=provenance,disabled=true")), ProvenanceAttest::Off);
    }

    #[test]
    fn its_flags_read_back_to_it_as_buildx_reads_them() {
        for (provenance, flags) in [
            (ProvenanceAttest::Default, vec![]),
            (ProvenanceAttest::Off, vec!["--provenance", "false"]),
            (ProvenanceAttest::Attrs("type=provenance,mode=max".into()), vec!["--provenance", "mode=max"]),
            (ProvenanceAttest::Attrs("type=provenance".into()), vec!["--attest", "type=provenance"]),
            (ProvenanceAttest::Attrs("mode=min,type=provenance".into()), vec!["--attest", "mode=min,type=provenance"]),
        ] {
            assert_eq!(provenance.flags(), flags, "{provenance:?}");
            let (attests, flag) = match flags.as_slice() {
                ["--attest", attest] => (vec![*attest], ""),
                ["--provenance", flag] => (vec![], *flag),
                _ => (vec![], ""),
            };
            let back = read(&attests, flag, "").unwrap().provenance.unwrap_or_default();
            assert_eq!(back, provenance);
        }
    }

    #[test]
    fn a_request_naming_another_attestation_as_its_provenance_is_refused() {
        assert!(ProvenanceAttest::Attrs("type=provenance,mode=min".into()).check().is_ok());
        assert_eq!(
            ProvenanceAttest::Attrs("type=sbom".into()).check().unwrap_err().to_string(),
            "type=sbom is not a provenance attestation"
        );
        assert_eq!(ProvenanceAttest::Attrs("mode".into()).check().unwrap_err().to_string(), "invalid value mode");
    }
}
