//! `Control.Solve` with the Dockerfile frontend, and the `Status` stream that reports its progress.

use std::collections::{BTreeMap, HashMap};

use bollard::moby::buildkit::v1::{CacheOptions, CacheOptionsEntry, SolveRequest, StatusRequest, StatusResponse};
use futures_util::{Stream, StreamExt};
use tracing::instrument;

use super::{BuildkitError, Control};

/// One exporter: `moby` (the engine's image store, optionally pushing), `image`, `oci`, `docker`, `tar`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exporter {
    pub kind: String,
    pub attrs: BTreeMap<String, String>,
}

/// Everything Solve needs for a Dockerfile build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerfileSolve {
    /// The build ref: also the key of the Status stream and of BuildKit's history record.
    pub build_ref: String,
    pub session_id: String,
    pub frontend_attrs: BTreeMap<String, String>,
    /// Where the result goes, in order: each exporter's index is its id in the session.
    pub exporters: Vec<Exporter>,
    pub entitlements: Vec<String>,
    /// Where to read build cache from (`--cache-from`) and write it to (`--cache-to`).
    pub cache_imports: Vec<CacheEntry>,
    pub cache_exports: Vec<CacheEntry>,
}

/// One cache backend: `registry` (attrs `ref`, `mode`), `inline`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    pub kind: String,
    pub attrs: BTreeMap<String, String>,
}

impl CacheEntry {
    fn to_proto(&self) -> CacheOptionsEntry {
        CacheOptionsEntry {
            r#type: self.kind.clone(),
            attrs: self.attrs.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        }
    }
}

impl DockerfileSolve {
    fn request(&self) -> SolveRequest {
        let to_map =
            |m: &BTreeMap<String, String>| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<HashMap<_, _>>();
        // Daemons before BuildKit 0.13 know only the single exporter fields: the first goes there
        // too, as BuildKit's client sends it.
        let (exporter, exporter_attrs) = match self.exporters.first() {
            Some(e) => (e.kind.clone(), to_map(&e.attrs)),
            None => (String::new(), HashMap::new()),
        };
        SolveRequest {
            r#ref: self.build_ref.clone(),
            session: self.session_id.clone(),
            frontend: "dockerfile.v0".into(),
            frontend_attrs: to_map(&self.frontend_attrs),
            exporter_deprecated: exporter,
            exporter_attrs_deprecated: exporter_attrs,
            exporters: self
                .exporters
                .iter()
                .map(|e| bollard::moby::buildkit::v1::Exporter { r#type: e.kind.clone(), attrs: to_map(&e.attrs) })
                .collect(),
            entitlements: self.entitlements.clone(),
            cache: Some(CacheOptions {
                imports: self.cache_imports.iter().map(CacheEntry::to_proto).collect(),
                exports: self.cache_exports.iter().map(CacheEntry::to_proto).collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

impl Control {
    /// Runs the solve; resolves to BuildKit's exporter response (`containerimage.digest`, …).
    #[instrument(skip_all, fields(endpoint = %self.endpoint(), build_ref = %solve.build_ref))]
    pub async fn solve(&self, solve: &DockerfileSolve) -> Result<BTreeMap<String, String>, BuildkitError> {
        let response = self.client().solve(solve.request()).await.map_err(|s| self.call_error("Solve", s))?;
        Ok(response.into_inner().exporter_response.into_iter().collect())
    }

    /// The progress of the build `build_ref`: open it right after starting the solve (BuildKit
    /// waits a few seconds for the job to appear); it ends when the build does.
    #[instrument(skip(self), fields(endpoint = %self.endpoint()))]
    pub async fn status(
        &self,
        build_ref: &str,
    ) -> Result<impl Stream<Item = Result<StatusResponse, BuildkitError>> + use<>, BuildkitError> {
        let stream = self
            .client()
            .status(StatusRequest { r#ref: build_ref.to_owned() })
            .await
            .map_err(|s| self.call_error("Status", s))?
            .into_inner();
        let endpoint = self.endpoint().to_owned();
        Ok(stream.map(move |item| item.map_err(|s| BuildkitError::call(&endpoint, "Status", &s))))
    }
}
