//! A frontend's subrequests (`frontend.outline`, `frontend.targets`, …) through BuildKit's gateway
//! bridge, as buildx asks them: a `Control.Solve` with no frontend and no definition registers a
//! gateway build under its ref and blocks; on the same connection `LLBBridge.Solve` calls, tagged
//! with that ref in the `buildkit-controlapi-buildid` metadata, run the frontend and hand back its
//! result's metadata (a plain `Control.Solve` keeps only `frontend.*` keys of it); `LLBBridge.Return`
//! ends the gateway build.
//!
//! bollard-buildkit-proto has no `gateway.proto`, so its few messages are **written by hand** below
//! with only the fields used here, numbered as in BuildKit's `frontend/gateway/pb/gateway.proto`
//! (v0.13). Fields left out are skipped on decode.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::moby::buildkit::v1::SolveRequest;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataValue;
use tonic::Status;
use tracing::instrument;

use super::transport::MAX_MESSAGE_BYTES;
use super::{BuildkitError, Control};

const BRIDGE_SOLVE: &str = "/moby.buildkit.v1.frontend.LLBBridge/Solve";
const BRIDGE_RETURN: &str = "/moby.buildkit.v1.frontend.LLBBridge/Return";
/// The metadata key naming the gateway build a bridge call belongs to (BuildKit's client/buildid).
const BUILD_ID: &str = "buildkit-controlapi-buildid";
/// How long the gateway build may take to end after `Return`.
const END_GRACE: Duration = Duration::from_secs(2);

/// `moby.buildkit.v1.frontend.SolveRequest` (written by hand; `Definition` and the cache, input and
/// policy fields are left out).
#[derive(Clone, PartialEq, prost::Message)]
pub struct BridgeSolveRequest {
    #[prost(string, tag = "2")]
    pub frontend: String,
    #[prost(map = "string, string", tag = "3")]
    pub frontend_opt: HashMap<String, String>,
    #[prost(bool, tag = "5")]
    pub allow_result_return: bool,
}

/// `moby.buildkit.v1.frontend.SolveResponse` (written by hand; only `result`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct BridgeSolveResponse {
    #[prost(message, optional, tag = "3")]
    pub result: Option<BridgeResult>,
}

/// `moby.buildkit.v1.frontend.Result` (written by hand; only `metadata`, not the refs or attestations).
#[derive(Clone, PartialEq, prost::Message)]
pub struct BridgeResult {
    #[prost(map = "string, bytes", tag = "10")]
    pub metadata: HashMap<String, Vec<u8>>,
}

/// `moby.buildkit.v1.frontend.ReturnRequest` (written by hand; only `result`). BuildKit 0.13 reads
/// `result` without checking it is there, so it is always sent, empty.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BridgeReturnRequest {
    #[prost(message, optional, tag = "1")]
    pub result: Option<BridgeResult>,
}

/// `moby.buildkit.v1.frontend.ReturnResponse` (empty).
#[derive(Clone, PartialEq, prost::Message)]
pub struct BridgeReturnResponse {}

/// The bridge of one gateway build.
struct Bridge {
    grpc: tonic::client::Grpc<tonic::transport::Channel>,
    build_ref: String,
}

impl Bridge {
    async fn unary<Req, Resp>(&mut self, path: &'static str, message: Req) -> Result<Resp, Status>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        self.grpc.ready().await.map_err(|e| Status::unavailable(e.to_string()))?;
        let mut request = tonic::Request::new(message);
        let id = MetadataValue::try_from(self.build_ref.as_str()).map_err(|e| Status::internal(e.to_string()))?;
        request.metadata_mut().insert(BUILD_ID, id);
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        Ok(self.grpc.unary(request, PathAndQuery::from_static(path), codec).await?.into_inner())
    }

    async fn solve(
        &mut self,
        frontend: &str,
        opts: &BTreeMap<String, String>,
    ) -> Result<HashMap<String, Vec<u8>>, Status> {
        let request = BridgeSolveRequest {
            frontend: frontend.to_owned(),
            frontend_opt: opts.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            allow_result_return: true,
        };
        let response: BridgeSolveResponse = self.unary(BRIDGE_SOLVE, request).await?;
        Ok(response.result.map(|r| r.metadata).unwrap_or_default())
    }

    async fn finish(&mut self) -> Result<(), Status> {
        let request = BridgeReturnRequest { result: Some(BridgeResult::default()) };
        let _: BridgeReturnResponse = self.unary(BRIDGE_RETURN, request).await?;
        Ok(())
    }
}

/// Which of the two calls ended first.
enum First<A, E> {
    Asked(A),
    Ended(E),
}

impl Control {
    /// Asks `frontend` each request (its frontend options, `requestid` among them) in one gateway
    /// build attached to the session `session_id`, which serves what the frontend reads; returns each
    /// answer's result metadata (`result.json`, `result.txt`, `version`), in order.
    #[instrument(skip(self, requests), fields(endpoint = %self.endpoint()))]
    pub async fn frontend_subrequests(
        &self,
        session_id: &str,
        frontend: &str,
        requests: &[BTreeMap<String, String>],
    ) -> Result<Vec<HashMap<String, Vec<u8>>>, BuildkitError> {
        let build_ref = crate::buildkit::session::new_id();
        let gateway = SolveRequest {
            r#ref: build_ref.clone(),
            session: session_id.to_owned(),
            internal: true,
            ..Default::default()
        };
        let mut client = self.client();
        let solving = client.solve(gateway);
        tokio::pin!(solving);
        let mut bridge = Bridge {
            grpc: tonic::client::Grpc::new(self.channel())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
            build_ref,
        };
        let asking = async {
            let mut answers = Vec::with_capacity(requests.len());
            let mut failed = None;
            for opts in requests {
                match bridge.solve(frontend, opts).await {
                    Ok(answer) => answers.push(answer),
                    Err(status) => {
                        failed = Some(("LLBBridge.Solve", status));
                        break;
                    }
                }
            }
            // The gateway build ends either way, so its Control.Solve returns.
            let ended = bridge.finish().await.map_err(|status| ("LLBBridge.Return", status));
            match failed {
                Some(failure) => Err(failure),
                None => ended.map(|()| answers),
            }
        };
        tokio::pin!(asking);
        let first = tokio::select! {
            biased;
            asked = &mut asking => First::Asked(asked),
            ended = &mut solving => First::Ended(ended),
        };
        let asked = match first {
            First::Asked(asked) => {
                if asked.is_ok() {
                    let _ = tokio::time::timeout(END_GRACE, solving).await;
                }
                asked
            }
            // The gateway build ends once `Return` is in, sometimes before its answer is read.
            First::Ended(Ok(_)) => asking.await,
            First::Ended(Err(status)) => return Err(self.call_error("Solve", status)),
        };
        asked.map_err(|(call, status)| BuildkitError::call(self.endpoint(), call, &status))
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn a_solve_request_has_gateway_protos_field_numbers() {
        let request = BridgeSolveRequest {
            frontend: "dockerfile.v0".into(),
            frontend_opt: HashMap::from([("requestid".into(), "frontend.targets".into())]),
            allow_result_return: true,
        };
        let mut expected = vec![0x12, 13];
        expected.extend_from_slice(b"dockerfile.v0");
        // Field 3, a map entry: key (1) and value (2).
        expected.extend_from_slice(&[0x1a, 29, 0x0a, 9]);
        expected.extend_from_slice(b"requestid");
        expected.extend_from_slice(&[0x12, 16]);
        expected.extend_from_slice(b"frontend.targets");
        // Field 5, varint true.
        expected.extend_from_slice(&[0x28, 1]);
        assert_eq!(request.encode_to_vec(), expected);
    }

    #[test]
    fn a_solve_response_yields_its_metadata_and_skips_the_rest() {
        // SolveResponse{ref: "r" (1), result (3): Result{ref (3): Ref{id: "x"}, metadata (10): {"version": "1.0.0"}}}
        let mut entry = vec![0x0a, 7];
        entry.extend_from_slice(b"version");
        entry.extend_from_slice(&[0x12, 5]);
        entry.extend_from_slice(b"1.0.0");
        let mut result = vec![0x1a, 3, 0x0a, 1, b'x', 0x52, entry.len() as u8];
        result.extend_from_slice(&entry);
        let mut bytes = vec![0x0a, 1, b'r', 0x1a, result.len() as u8];
        bytes.extend_from_slice(&result);
        let response = BridgeSolveResponse::decode(bytes.as_slice()).unwrap();
        assert_eq!(response.result.unwrap().metadata, HashMap::from([("version".into(), b"1.0.0".to_vec())]));
    }

    #[test]
    fn return_always_carries_a_result() {
        let request = BridgeReturnRequest { result: Some(BridgeResult::default()) };
        assert_eq!(request.encode_to_vec(), [0x0a, 0]);
    }
}
