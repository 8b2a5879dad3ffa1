//! A frontend's subrequests (`frontend.outline`, `frontend.targets`, …) through BuildKit's gateway
//! bridge, as buildx asks them: a `Control.Solve` with no frontend and no definition registers a
//! gateway build under its ref and blocks; on the same connection `LLBBridge.Solve` calls, tagged
//! with that ref in the `buildkit-controlapi-buildid` metadata, run the frontend and hand back its
//! result's metadata (a plain `Control.Solve` keeps only `frontend.*` keys of it); `LLBBridge.Return`
//! ends the gateway build.
//!
//! bollard-buildkit-proto has no `gateway.proto`; the messages and the `LLBBridge` client are
//! generated from `core/proto/moby/buildkit/v1/frontend/gateway.proto` (see `buildkit::proto`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::moby::buildkit::v1::SolveRequest;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::Status;
use tracing::instrument;

use super::proto::frontend::llb_bridge_client::LlbBridgeClient;
use super::proto::frontend::{self, ReturnRequest};
use super::transport::MAX_MESSAGE_BYTES;
use super::{BuildkitError, Control};

/// The metadata key naming the gateway build a bridge call belongs to (BuildKit's client/buildid).
const BUILD_ID: &str = "buildkit-controlapi-buildid";
/// How long the gateway build may take to end after `Return`.
const END_GRACE: Duration = Duration::from_secs(2);

/// The bridge of one gateway build.
struct Bridge {
    client: LlbBridgeClient<Channel>,
    build_ref: String,
}

impl Bridge {
    /// `message` as a request of this gateway build.
    fn request<T>(&self, message: T) -> Result<tonic::Request<T>, Status> {
        let mut request = tonic::Request::new(message);
        let id = MetadataValue::try_from(self.build_ref.as_str()).map_err(|e| Status::internal(e.to_string()))?;
        request.metadata_mut().insert(BUILD_ID, id);
        Ok(request)
    }

    async fn solve(
        &mut self,
        frontend: &str,
        opts: &BTreeMap<String, String>,
    ) -> Result<HashMap<String, Vec<u8>>, Status> {
        let request = self.request(frontend::SolveRequest {
            frontend: frontend.to_owned(),
            frontend_opt: opts.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            allow_result_return: true,
        })?;
        let response = self.client.solve(request).await?.into_inner();
        Ok(response.result.map(|r| r.metadata).unwrap_or_default())
    }

    /// Ends the gateway build. BuildKit 0.13 reads `result` without checking it is there, so it is
    /// always sent, empty.
    async fn finish(&mut self) -> Result<(), Status> {
        let request = self.request(ReturnRequest { result: Some(frontend::Result::default()) })?;
        self.client.r#return(request).await?;
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
            client: LlbBridgeClient::new(self.channel())
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

    use super::frontend::{Result as BridgeResult, SolveRequest, SolveResponse};
    use super::*;

    #[test]
    fn a_solve_request_has_gateway_protos_field_numbers() {
        let request = SolveRequest {
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
        let response = SolveResponse::decode(bytes.as_slice()).unwrap();
        assert_eq!(response.result.unwrap().metadata, HashMap::from([("version".into(), b"1.0.0".to_vec())]));
    }

    #[test]
    fn return_always_carries_a_result() {
        let request = ReturnRequest { result: Some(BridgeResult::default()) };
        assert_eq!(request.encode_to_vec(), [0x0a, 0]);
    }
}
