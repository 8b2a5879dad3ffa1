//! Retry one platform of a recorded build that kept going (or was split across nodes): only that
//! platform's solve runs again, with the same request, on the node the build routes it to; with
//! push, the index then goes under the tags from the images the other platforms pushed by digest
//! (kept in the record's outcome) and the retried one. The earlier steps and logs stay in the
//! lanes, and the retry's follow them on the time axis as a new attempt of that platform. It is
//! recorded as a build of its own, so it can be retried in turn.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;
use tracing::instrument;

use super::connect::{resolve_target, Target};
use super::failure::failure;
use super::keep_going::{self, PlatformResult};
use super::records::BuildRecord;
use super::request::check;
use super::split::{conclude, emit, index, on_registry, push_targets, read_dockerfile, Part, Solving};
use super::{BuildError, BuildObserver, BuildOutcome, BuildState};
use crate::builders::{routing, Builders};
use crate::buildkit::error_details::ErrorDetails;
use crate::buildkit::session;
use crate::images::reference::ImageReference;
use crate::platform::Platform;
use crate::progress::{LogChunk, ProgressModel, ProgressUpdate};

/// Which platform of which recorded build to run again, with the logs that build recorded.
pub struct PlatformRetry<'a> {
    pub record: &'a BuildRecord,
    pub logs: &'a [LogChunk],
    pub platform: &'a str,
}

/// Runs `retry.platform` of `retry.record` again and assembles the build's result from it and the
/// other platforms' earlier ones. Fails before building when the platform did not fail in that
/// build, or when, with push, an image another platform pushed is no longer in the registry.
#[instrument(skip_all, fields(build = %retry.record.outcome.build_ref, platform = %retry.platform))]
pub async fn retry(
    builders: &Builders,
    retry: PlatformRetry<'_>,
    docker_context: Option<&str>,
    progress: &(dyn Fn(ProgressUpdate) + Send + Sync),
    cancel: CancellationToken,
    observer: &mut dyn BuildObserver,
) -> Result<BuildOutcome, BuildError> {
    let PlatformRetry { record, logs, platform } = retry;
    let (request, earlier) = (&record.request, &record.outcome);
    let wanted: Platform = platform.trim().parse()?;
    let previous = earlier
        .platform_results
        .iter()
        .find(|r| r.platform == wanted.to_string() && r.state != BuildState::Succeeded)
        .ok_or_else(|| BuildError::NotRetryable {
            build_ref: earlier.build_ref.clone(),
            platform: wanted.to_string(),
        })?;
    let mut checked = check(request)?;
    checked.platforms = vec![wanted.clone()];
    let push = push_targets(request)?;
    if let Some(first) = &push.first {
        kept_images(builders, first, &earlier.platform_results, &previous.platform).await?;
    }
    let Target { builder, nodes, .. } = resolve_target(builders, &request.builder, docker_context).await?;
    let route = routing::resolve(&nodes, &checked.platforms).await?.remove(0);
    let node = nodes.into_iter().nth(route.node).expect("a route goes to one of the builder's nodes");
    let part = Part::platform(&node.name, node.driver, wanted, previous.attempt + 1);

    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let build_ref = session::new_id();
    observer.started(&build_ref);
    // The earlier attempts stay in the lanes with their logs, and are recorded with this one.
    observer.logs(logs);
    progress(ProgressUpdate { steps: earlier.steps.clone(), logs: logs.to_vec(), warnings: Vec::new() });
    // This attempt's steps follow the earlier build's on its time axis.
    let now_ns = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128);
    let mut model =
        ProgressModel::split(&[part.label()]).with_epoch(now_ns - i128::from(earlier.duration_ms) * 1_000_000);
    let dockerfile = read_dockerfile(&checked);
    if let Some(source) = &dockerfile {
        model = model.with_dockerfile(source);
    }
    let solving =
        // Keep-going builds write no tarballs, so neither does a retry of one.
        Solving {
            builders,
            request,
            checked: &checked,
            builder: &builder,
            repositories: push.repositories.clone(),
            tarballs: None,
        };
    let ends = solving.run(vec![part], &build_ref, &mut model, progress, &mut *observer, &cancel).await;
    let ended = conclude(ends, &mut model, dockerfile.as_deref());
    emit(&mut model, &mut *observer, progress);

    let results = keep_going::with_retry(&earlier.platform_results, ended.results);
    let mut state = keep_going::overall(&results);
    // The retried platform's failure, else that of a platform that still failed.
    let mut first_failure = ended.failure.or_else(|| {
        let still = results.iter().find(|r| r.state == BuildState::Failed)?;
        Some(match &earlier.failure {
            Some(f) if f.platform.as_deref() == Some(still.platform.as_str()) => f.clone(),
            _ => keep_going::failure_of(still),
        })
    });
    let digest = match index(builders, request, &push, &results, &cancel).await {
        Ok(digest) => digest,
        Err(message) => {
            state = BuildState::Failed;
            let mut steps = model.steps();
            first_failure = Some(failure(message, &ErrorDetails::default(), &model, &mut steps, dockerfile.as_deref()));
            None
        }
    };
    if let Some(f) = first_failure.as_mut() {
        f.succeeded_platforms = keep_going::succeeded(&results);
    }
    let mut steps = earlier.steps.clone();
    steps.extend(model.steps());
    let mut exporter_response = earlier.exporter_response.clone();
    exporter_response.extend(ended.exporter_response);
    let outcome = BuildOutcome {
        build_ref,
        builder: builder.clone(),
        state,
        digest: digest.clone(),
        platforms: earlier.platforms.clone(),
        tags: if digest.is_some() { push.tags } else { Vec::new() },
        duration_ms: earlier.duration_ms + started.elapsed().as_millis() as u64,
        failure: first_failure,
        steps,
        exporter_response,
        platform_results: results,
    };
    if outcome.state != BuildState::Cancelled {
        if let Err(e) = builders.record_activity(&builder).await {
            tracing::warn!(error = %e, "cannot stamp the builder's activity");
        }
    }
    observer.finished(request, &outcome, &started_at);
    Ok(outcome)
}

/// Checks, before anything is built, that the images the earlier build pushed by digest for the
/// other platforms that succeeded are still in the first tag's repository: the index is made of them.
async fn kept_images(
    builders: &Builders,
    first: &ImageReference,
    results: &[PlatformResult],
    retried: &str,
) -> Result<(), BuildError> {
    let kept: Vec<(String, String)> = results
        .iter()
        .filter(|r| r.platform != retried && r.state == BuildState::Succeeded)
        .filter_map(|r| Some((r.platform.clone(), r.digest.clone()?)))
        .collect();
    let (repository, retried) = (first.clone(), retried.to_owned());
    on_registry(builders, move |client| async move {
        for (platform, digest) in kept {
            match client.has_manifest(&repository, &digest).await {
                Ok(true) => {}
                Ok(false) => {
                    let repository = repository.name();
                    return Err(BuildError::RetryImageGone { retried, platform, digest, repository });
                }
                Err(source) => return Err(BuildError::RetryRegistry { repository: repository.name(), source }),
            }
        }
        Ok(())
    })
    .await
}
