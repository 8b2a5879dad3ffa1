//! The typed details BuildKit attaches to a failed call's gRPC status (`grpc-status-details-bin`, a
//! `google.rpc.Status`): where in the Dockerfile the failure is, which vertex failed, the exit code.
//!
//! BuildKit (util/grpcerrors `ToGRPC`, 0.13 through today) registers each detail with containerd's
//! typeurl as `github.com/moby/buildkit/<package>.<Message>+json` and stores the message
//! **JSON-encoded** (Go `encoding/json`) in the `Any`, so only the envelope is protobuf.

use base64::Engine as _;
use bollard_buildkit_proto::google::rpc::Status as RpcStatus;
use prost::Message;
use serde::Deserialize;

use crate::dockerfile::LineRange;

/// `errdefs.Source`: the file (as the frontend named it, e.g. `Dockerfile`), its text as the
/// frontend read it, and the ranges the error points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    pub filename: String,
    pub data: Option<String>,
    pub ranges: Vec<LineRange>,
}

impl SourceLocation {
    /// All the lines the ranges cover: BuildKit sends one range per line of a continued instruction.
    pub fn span(&self) -> Option<LineRange> {
        let start = self.ranges.iter().map(|r| r.start).min()?;
        let end = self.ranges.iter().map(|r| r.end).max()?;
        Some(LineRange { start, end })
    }
}

/// What BuildKit said about a failure beyond its message. Empty for daemons that send nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDetails {
    /// `errdefs.Vertex`: the digest of the failing vertex (a Status stream vertex's digest).
    pub vertex: Option<String>,
    /// `errdefs.Source`, innermost first as BuildKit wraps them.
    pub sources: Vec<SourceLocation>,
    /// `gatewayapi.ExitMessage`: the exit code of a failing process.
    pub exit_code: Option<u32>,
}

#[derive(Deserialize)]
struct VertexJson {
    #[serde(default)]
    digest: String,
}

#[derive(Deserialize)]
struct SourceJson {
    #[serde(default)]
    info: Option<SourceInfoJson>,
    #[serde(default)]
    ranges: Vec<RangeJson>,
}

#[derive(Deserialize)]
struct SourceInfoJson {
    #[serde(default)]
    filename: String,
    /// `[]byte`, which Go's encoding/json writes as standard base64.
    #[serde(default)]
    data: String,
}

#[derive(Deserialize, Default)]
struct PositionJson {
    #[serde(default)]
    line: i64,
}

#[derive(Deserialize)]
struct RangeJson {
    #[serde(default)]
    start: PositionJson,
    #[serde(default)]
    end: PositionJson,
}

#[derive(Deserialize)]
struct ExitJson {
    #[serde(rename = "Code", default)]
    code: u32,
}

impl ErrorDetails {
    /// Decodes a status's binary details; anything unknown or malformed is skipped.
    pub fn from_status(status: &tonic::Status) -> Self {
        Self::decode(status.details())
    }

    pub fn decode(details: &[u8]) -> Self {
        let mut out = Self::default();
        if details.is_empty() {
            return out;
        }
        let Ok(status) = RpcStatus::decode(details) else {
            return out;
        };
        for any in status.details {
            // `github.com/moby/buildkit/errdefs.Source+json` → `errdefs.Source+json`.
            let kind = any.type_url.rsplit('/').next().unwrap_or_default();
            match kind {
                "errdefs.Vertex+json" => {
                    if let Ok(v) = serde_json::from_slice::<VertexJson>(&any.value) {
                        if !v.digest.is_empty() && out.vertex.is_none() {
                            out.vertex = Some(v.digest);
                        }
                    }
                }
                "errdefs.Source+json" => {
                    if let Ok(s) = serde_json::from_slice::<SourceJson>(&any.value) {
                        out.sources.push(s.into_location());
                    }
                }
                "gatewayapi.ExitMessage+json" => {
                    if let Ok(e) = serde_json::from_slice::<ExitJson>(&any.value) {
                        out.exit_code.get_or_insert(e.code);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The first source location that points at lines.
    pub fn location(&self) -> Option<&SourceLocation> {
        self.sources.iter().find(|s| !s.ranges.is_empty())
    }
}

impl SourceJson {
    fn into_location(self) -> SourceLocation {
        let info = self.info;
        let data = info
            .as_ref()
            .and_then(|i| base64::engine::general_purpose::STANDARD.decode(&i.data).ok())
            .filter(|d| !d.is_empty())
            .map(|d| String::from_utf8_lossy(&d).into_owned());
        let ranges = self
            .ranges
            .into_iter()
            .filter(|r| r.start.line > 0)
            .map(|r| {
                let start = r.start.line as u32;
                LineRange { start, end: (r.end.line.max(0) as u32).max(start) }
            })
            .collect();
        SourceLocation { filename: info.map(|i| i.filename).unwrap_or_default(), data, ranges }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard_buildkit_proto::google::protobuf::Any;

    fn status(details: &[(&str, &str)]) -> Vec<u8> {
        RpcStatus {
            code: 2,
            message: "m".into(),
            details: details
                .iter()
                .map(|(kind, json)| Any {
                    type_url: format!("github.com/moby/buildkit/{kind}"),
                    value: json.as_bytes().to_vec(),
                })
                .collect(),
        }
        .encode_to_vec()
    }

    #[test]
    fn vertex_source_and_exit_code_are_read_from_their_json() {
        let data = base64::engine::general_purpose::STANDARD.encode("FROM x\nRUN false\n");
        let details = ErrorDetails::decode(&status(&[
            ("stack.Stack+json", r#"{"frames":[]}"#),
            ("gatewayapi.ExitMessage+json", r#"{"Code":3}"#),
            (
                "errdefs.Source+json",
                &format!(
                    r#"{{"info":{{"filename":"Dockerfile","data":"{data}","language":"Dockerfile"}},"ranges":[{{"start":{{"line":2}},"end":{{"line":2}}}},{{"start":{{"line":3,"character":4}},"end":{{"line":3,"character":13}}}}]}}"#
                ),
            ),
            ("errdefs.Vertex+json", r#"{"digest":"sha256:abc"}"#),
        ]));
        assert_eq!(details.vertex.as_deref(), Some("sha256:abc"));
        assert_eq!(details.exit_code, Some(3));
        assert_eq!(
            details.location(),
            Some(&SourceLocation {
                filename: "Dockerfile".into(),
                data: Some("FROM x\nRUN false\n".into()),
                ranges: vec![LineRange { start: 2, end: 2 }, LineRange { start: 3, end: 3 }],
            })
        );
        assert_eq!(details.location().and_then(SourceLocation::span), Some(LineRange { start: 2, end: 3 }));
    }

    #[test]
    fn no_or_garbage_details_are_empty() {
        assert_eq!(ErrorDetails::decode(&[]), ErrorDetails::default());
        assert_eq!(ErrorDetails::decode(&[0xff, 0x01]), ErrorDetails::default());
        let odd = ErrorDetails::decode(&status(&[("errdefs.Vertex+json", "not json"), ("other.Thing+json", "{}")]));
        assert_eq!(odd, ErrorDetails::default());
    }
}
