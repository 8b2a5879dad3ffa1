//! Where a build's time went, as Docker Desktop's Builds view charts it: per kind of operation
//! (local file transfers, file operations, image pulls, executions, HTTP, Git, result exports,
//! SBOM, and the frontend's own work) the real time its steps covered (their intervals' union) and
//! their accumulated time (the sum); how much was cached; and how many steps ran at once over the
//! build. Computed from a build's steps, live or replayed. The parallelism is kept in at most
//! [`PARALLELISM_BUCKETS`] buckets, so a build of 100,000 steps charts as cheaply as one of ten.

use std::collections::BTreeMap;

use serde::Serialize;
use ts_rs::TS;

use super::{Step, StepState, SHARED_LANE};

/// The most buckets the parallelism over a build is kept in, whatever its length.
pub const PARALLELISM_BUCKETS: u64 = 120;

/// What a step does, in the kinds Docker Desktop's timing charts are coloured by; declared in its
/// legend's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum OperationKind {
    /// Sending the client's files: the Dockerfile, `.dockerignore`, the context, named contexts.
    LocalTransfer,
    /// Making and copying files: `COPY`, `ADD` of local files, `WORKDIR`.
    File,
    /// Resolving and pulling images: `FROM`, image metadata, registry tokens.
    ImagePull,
    /// Running commands: `RUN`.
    Exec,
    /// Downloading a URL: `ADD https://…`, a remote tarball context.
    Http,
    /// Fetching a git repository: `ADD` of a git URL, a git context.
    Git,
    /// Writing results: images, local folders, tarballs, caches.
    Export,
    /// Generating SBOM attestations.
    Sbom,
    /// The frontend's and BuildKit's own work (cache imports, cache mount set-up, …).
    Other,
}

/// Whether `source` (an `ADD` source) is a git repository, as BuildKit's Dockerfile frontend
/// tells one (`git@…`, `git://…`, `ssh://…`, or an http(s) URL whose path ends in `.git`).
fn is_git(source: &str) -> bool {
    if source.starts_with("git@") || source.starts_with("git://") || source.starts_with("ssh://") {
        return true;
    }
    let Some(rest) = source.strip_prefix("https://").or_else(|| source.strip_prefix("http://")) else {
        return false;
    };
    let path = rest.split(['#', '?']).next().unwrap_or(rest);
    path.trim_end_matches('/').ends_with(".git")
}

fn is_http(source: &str) -> bool {
    source.starts_with("https://") || source.starts_with("http://")
}

/// `ADD`'s kind by its sources: the words after it that are not flags, but the last (the destination).
fn add_kind(args: &str) -> OperationKind {
    let words: Vec<&str> = args
        .split_whitespace()
        .map(|w| w.trim_matches(|c| matches!(c, '[' | ']' | '"' | ',')))
        .filter(|w| !w.is_empty() && !w.starts_with("--"))
        .collect();
    let sources = &words[..words.len().saturating_sub(1)];
    if sources.iter().any(|s| is_git(s)) {
        OperationKind::Git
    } else if sources.iter().any(|s| is_http(s)) {
        OperationKind::Http
    } else {
        OperationKind::File
    }
}

/// The kind of a Dockerfile instruction's step (`RUN make`, `COPY . /src`).
fn instruction_kind(name: &str) -> OperationKind {
    let (keyword, args) = name.split_once(char::is_whitespace).unwrap_or((name, ""));
    match keyword.to_ascii_uppercase().as_str() {
        "FROM" => OperationKind::ImagePull,
        "RUN" => OperationKind::Exec,
        "COPY" | "WORKDIR" => OperationKind::File,
        "ADD" => add_kind(args),
        _ => OperationKind::Other,
    }
}

/// What a step does, read from its vertex name as BuildKit's Dockerfile frontend, buildx and
/// LLB's default names word it.
pub fn classify(step: &Step) -> OperationKind {
    let name = step.name.trim();
    if step.position.is_some() {
        return instruction_kind(name);
    }
    if step.stage.as_deref() == Some("auth") {
        // `[auth] library/busybox:pull token for registry-1.docker.io`
        return OperationKind::ImagePull;
    }
    let lower = name.to_ascii_lowercase();
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| lower.starts_with(p));
    if starts(&["load build definition", "load .dockerignore", "load build context", "load from client", "local://"]) {
        OperationKind::LocalTransfer
    } else if starts(&["load remote build context", "https://", "http://"]) {
        OperationKind::Http
    } else if starts(&["load git source", "git://"]) {
        OperationKind::Git
    } else if starts(&["load metadata for", "resolve image config", "docker-image://"]) {
        OperationKind::ImagePull
    } else if starts(&["exporting", "preparing layers for inline cache", "writing image", "naming to"]) {
        OperationKind::Export
    } else if lower.contains("generating sbom") {
        OperationKind::Sbom
    } else if starts(&["copy ", "mkdir ", "mkfile ", "rm ", "merge ", "diff "]) {
        OperationKind::File
    } else if starts(&["/bin/sh -c"]) {
        OperationKind::Exec
    } else {
        OperationKind::Other
    }
}

/// One kind's share of a build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct KindTiming {
    pub kind: OperationKind,
    pub steps: u32,
    pub cached: u32,
    /// Wall-clock time at least one of its steps ran.
    pub real_ms: u64,
    /// Its steps' own times added up.
    pub accumulated_ms: u64,
}

/// How much of the build came from the cache.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CacheUsage {
    /// Steps that are the Dockerfile's instructions (`[stage n/m] …`) but `FROM` (BuildKit
    /// resolves its image again each build and never says it came from the cache), and how many
    /// were cached: a rebuild of an unchanged project has them all cached.
    pub instructions: u32,
    pub cached_instructions: u32,
    /// `cached_instructions` of `instructions` in percent, rounded half to even (as buildx rounds
    /// its "n% cached"); none without instructions.
    pub instructions_percent: Option<u32>,
    /// Every step, as BuildKit counts them for a record's "n% cached" (transfers, metadata and
    /// exports are never cached).
    pub steps: u32,
    pub cached_steps: u32,
}

/// A slice of the build's time axis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ParallelismBucket {
    pub start_ms: u64,
    /// The most steps running at one instant in it.
    pub max: u32,
    /// Per kind, in [`BuildTiming::kinds`]' order, the step time spent in it: over the bucket's
    /// length, how many of that kind ran on average.
    pub busy_ms: Vec<u64>,
}

/// Where one build's time went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BuildTiming {
    /// From the axis' zero to the build's end (or its last step's).
    pub duration_ms: u64,
    /// Wall-clock time at least one step ran.
    pub busy_ms: u64,
    /// Time no step ran (waiting on the client, the frontend, or between steps).
    pub idle_ms: u64,
    /// Every step's own time added up.
    pub accumulated_ms: u64,
    /// Wall-clock time two or more steps ran at once.
    pub parallel_ms: u64,
    pub max_parallelism: u32,
    /// Steps that started and never finished (a cancelled or failed build): counted to its end.
    pub unfinished: u32,
    /// The kinds the build's steps have, in legend order.
    pub kinds: Vec<KindTiming>,
    pub cache: CacheUsage,
    /// The length of each parallelism bucket (the last one may be cut short by the build's end).
    pub bucket_ms: u64,
    pub parallelism: Vec<ParallelismBucket>,
}

/// One platform's steps and the shared ones (loading the context, exporting), which serve every platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PlatformTiming {
    pub platform: String,
    pub timing: BuildTiming,
}

/// A build's timing, whole and, when it built more than one platform, per platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Timings {
    pub overall: BuildTiming,
    pub platforms: Vec<PlatformTiming>,
}

impl Timings {
    /// The timing of `steps` (times in milliseconds on one axis), the build having ended at
    /// `end_ms` on it (none: at its last step's end).
    pub fn of(steps: &[Step], end_ms: Option<u64>) -> Self {
        let mut lanes: Vec<&str> = steps.iter().map(|s| s.lane.as_str()).filter(|l| *l != SHARED_LANE).collect();
        lanes.sort_unstable();
        lanes.dedup();
        let platforms = if lanes.len() > 1 {
            lanes
                .iter()
                .map(|lane| {
                    let own: Vec<&Step> = steps.iter().filter(|s| s.lane == *lane || s.lane == SHARED_LANE).collect();
                    PlatformTiming { platform: (*lane).to_owned(), timing: BuildTiming::of(own, end_ms) }
                })
                .collect()
        } else {
            Vec::new()
        };
        Timings { overall: BuildTiming::of(steps, end_ms), platforms }
    }
}

/// The union of intervals sorted by start.
fn union_ms(sorted: impl Iterator<Item = (u64, u64)>) -> u64 {
    let mut total = 0;
    let mut current: Option<(u64, u64)> = None;
    for (start, end) in sorted {
        current = match current {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                total += e - s;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    total + current.map_or(0, |(s, e)| e - s)
}

impl BuildTiming {
    /// The timing of `steps`, the build having ended at `end_ms` (none: at its last step's end).
    pub fn of<'a>(steps: impl IntoIterator<Item = &'a Step>, end_ms: Option<u64>) -> Self {
        let steps: Vec<&Step> = steps.into_iter().collect();
        let duration_ms =
            steps.iter().flat_map(|s| [s.started_ms, s.completed_ms]).flatten().chain(end_ms).max().unwrap_or(0);

        let mut by_kind: BTreeMap<OperationKind, KindTiming> = BTreeMap::new();
        let mut cache = CacheUsage::default();
        let mut unfinished = 0;
        // Each step's time on the axis, with its kind; steps without any are counted, not timed.
        let mut intervals: Vec<(u64, u64, OperationKind)> = Vec::new();
        for step in &steps {
            let kind = classify(step);
            let timing =
                by_kind.entry(kind).or_insert(KindTiming { kind, steps: 0, cached: 0, real_ms: 0, accumulated_ms: 0 });
            let cached = step.state == StepState::Cached;
            timing.steps += 1;
            cache.steps += 1;
            if cached {
                timing.cached += 1;
                cache.cached_steps += 1;
            }
            if step.position.is_some() && kind != OperationKind::ImagePull {
                cache.instructions += 1;
                if cached {
                    cache.cached_instructions += 1;
                }
            }
            let Some(start) = step.started_ms else { continue };
            let end = match step.completed_ms {
                Some(end) => end.max(start),
                None => {
                    unfinished += 1;
                    duration_ms.max(start)
                }
            };
            timing.accumulated_ms += end - start;
            if end > start {
                intervals.push((start, end, kind));
            }
        }
        cache.instructions_percent = (cache.instructions > 0).then(|| {
            (f64::from(cache.cached_instructions) / f64::from(cache.instructions) * 100.0).round_ties_even() as u32
        });
        intervals.sort_unstable();
        for (kind, timing) in by_kind.iter_mut() {
            timing.real_ms = union_ms(intervals.iter().filter(|i| i.2 == *kind).map(|i| (i.0, i.1)));
        }
        let kinds: Vec<KindTiming> = by_kind.into_values().collect();

        let bucket_ms = duration_ms.div_ceil(PARALLELISM_BUCKETS).max(1);
        let buckets = duration_ms.div_ceil(bucket_ms) as usize;
        let (mut busy_ms, mut parallel_ms, mut max_parallelism) = (0, 0, 0u32);
        let mut bucket_max = vec![0u32; buckets];
        // Ends before starts at one instant: steps that only touch did not run at once.
        let mut events: Vec<(u64, i8)> = intervals.iter().flat_map(|&(s, e, _)| [(s, 1), (e, -1)]).collect();
        events.sort_unstable();
        let (mut running, mut since) = (0u32, 0u64);
        for (at, change) in events {
            if running > 0 && at > since {
                busy_ms += at - since;
                if running > 1 {
                    parallel_ms += at - since;
                }
                for max in &mut bucket_max[(since / bucket_ms) as usize..=((at - 1) / bucket_ms) as usize] {
                    *max = (*max).max(running);
                }
            }
            running = running.saturating_add_signed(i32::from(change));
            max_parallelism = max_parallelism.max(running);
            since = at;
        }

        // Each kind's step time per bucket: partial buckets at an interval's ends, whole ones
        // between them through a difference array, so a long step costs two additions.
        let slot = |kind: OperationKind| kinds.iter().position(|k| k.kind == kind).unwrap_or(0);
        let mut partial = vec![vec![0u64; buckets]; kinds.len()];
        let mut whole = vec![vec![0i64; buckets + 1]; kinds.len()];
        for &(start, end, kind) in &intervals {
            let k = slot(kind);
            let (first, last) = ((start / bucket_ms) as usize, ((end - 1) / bucket_ms) as usize);
            if first == last {
                partial[k][first] += end - start;
                continue;
            }
            partial[k][first] += (first as u64 + 1) * bucket_ms - start;
            partial[k][last] += end - last as u64 * bucket_ms;
            whole[k][first + 1] += 1;
            whole[k][last] -= 1;
        }
        let mut parallelism: Vec<ParallelismBucket> = (0..buckets)
            .map(|b| ParallelismBucket { start_ms: b as u64 * bucket_ms, max: bucket_max[b], busy_ms: Vec::new() })
            .collect();
        for (partial, whole) in partial.iter().zip(&whole) {
            let mut spanning = 0i64;
            for (b, bucket) in parallelism.iter_mut().enumerate() {
                spanning += whole[b];
                bucket.busy_ms.push(partial[b] + spanning.max(0) as u64 * bucket_ms);
            }
        }

        BuildTiming {
            duration_ms,
            busy_ms,
            idle_ms: duration_ms - busy_ms,
            accumulated_ms: kinds.iter().map(|k| k.accumulated_ms).sum(),
            parallel_ms,
            max_parallelism,
            unfinished,
            kinds,
            cache,
            bucket_ms,
            parallelism,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::parse_vertex_name;

    /// A step as the progress model makes it from BuildKit's vertex `name`, run from `started` to
    /// `completed` (milliseconds on the build's axis).
    fn step(name: &str, started: Option<u64>, completed: Option<u64>, state: StepState) -> Step {
        let (lane, stage, position, text) = parse_vertex_name(name, None);
        Step {
            id: format!("sha256:{name}"),
            lane,
            node: None,
            name: text,
            stage,
            position,
            state,
            started_ms: started,
            completed_ms: completed,
            error: None,
            bytes_current: 0,
            bytes_total: 0,
            log_lines: 0,
            dockerfile_line: None,
            attempt: None,
        }
    }

    fn done(name: &str, started: u64, completed: u64) -> Step {
        step(name, Some(started), Some(completed), StepState::Done)
    }

    fn kind(timing: &BuildTiming, kind: OperationKind) -> &KindTiming {
        timing.kinds.iter().find(|k| k.kind == kind).unwrap_or_else(|| panic!("no {kind:?} in {timing:#?}"))
    }

    #[test]
    fn each_step_is_classified_as_docker_desktop_charts_its_operation() {
        use OperationKind::*;
        let cases = [
            ("[internal] load build definition from Dockerfile", LocalTransfer),
            ("[internal] load .dockerignore", LocalTransfer),
            ("[internal] load build context", LocalTransfer),
            ("[context assets] load from client", LocalTransfer),
            ("[internal] load metadata for docker.io/library/alpine:3.19", ImagePull),
            ("[linux/arm64 internal] load metadata for 127.0.0.1:5055/busybox:latest", ImagePull),
            ("[auth] library/alpine:pull token for registry-1.docker.io", ImagePull),
            ("resolve image config for docker-image://docker.io/docker/dockerfile:1", ImagePull),
            ("docker-image://docker.io/docker/dockerfile:1@sha256:ac85f380a63b13dfcefa89046420e1781752bab2", ImagePull),
            ("[builder 1/4] FROM docker.io/library/golang:1.22@sha256:0123", ImagePull),
            ("[linux/amd64->arm64 builder 3/4] RUN go build ./...", Exec),
            ("[stage-1 2/3] COPY --from=builder /app /app", File),
            ("[2/5] WORKDIR /src", File),
            ("[3/5] ADD --chown=1000 app.tar.gz /opt/", File),
            ("[4/5] ADD https://example.com/tool.tgz /opt/tool.tgz", Http),
            ("[5/5] ADD --keep-git-dir=true https://github.com/moby/buildkit.git#v0.13.0 /src", Git),
            ("[1/2] ADD [\"git@github.com:moby/buildkit.git\", \"/src\"]", Git),
            ("[internal] load git source https://github.com/docker/buildx.git", Git),
            ("[internal] load remote build context", Http),
            ("exporting to image", Export),
            ("exporting to docker image format", Export),
            ("exporting to client directory", Export),
            ("exporting cache to registry", Export),
            ("preparing layers for inline cache", Export),
            ("[linux/amd64] generating sbom using docker.io/docker/buildkit-syft-scanner:stable-1", Sbom),
            ("[internal] settings cache mount permissions", Other),
            ("importing cache manifest from 127.0.0.1:5055/cache", Other),
            ("mkdir /out", File),
            ("copy /src /dst", File),
            ("/bin/sh -c make", Exec),
        ];
        for (name, expected) in cases {
            assert_eq!(classify(&done(name, 0, 1)), expected, "{name}");
        }
    }

    #[test]
    fn real_time_is_the_union_of_a_kinds_steps_and_accumulated_time_their_sum() {
        let steps = [
            done("[internal] load build context", 0, 100),
            done("[a 2/2] RUN make a", 0, 1000),
            done("[b 2/2] RUN make b", 500, 1500),
            done("[stage-2 2/3] COPY --from=a /a /a", 1500, 1700),
        ];
        let timing = BuildTiming::of(&steps, Some(2000));
        let exec = kind(&timing, OperationKind::Exec);
        assert_eq!((exec.steps, exec.real_ms, exec.accumulated_ms), (2, 1500, 2000));
        assert_eq!(kind(&timing, OperationKind::File).real_ms, 200);
        assert_eq!(timing.duration_ms, 2000);
        assert_eq!(timing.busy_ms, 1700, "the union of every step");
        assert_eq!(timing.idle_ms, 300);
        assert_eq!(timing.accumulated_ms, 2300);
        // The context loads beside the first RUN, then the two RUNs overlap.
        assert_eq!(timing.parallel_ms, 100 + 500);
        assert_eq!(timing.max_parallelism, 2);
        let kinds: Vec<OperationKind> = timing.kinds.iter().map(|k| k.kind).collect();
        assert_eq!(kinds, [OperationKind::LocalTransfer, OperationKind::File, OperationKind::Exec], "legend order");
    }

    #[test]
    fn steps_that_only_touch_did_not_run_at_once() {
        let timing = BuildTiming::of(&[done("[1/2] RUN a", 0, 100), done("[2/2] RUN b", 100, 200)], None);
        assert_eq!((timing.max_parallelism, timing.parallel_ms, timing.busy_ms), (1, 0, 200));
        assert_eq!(timing.duration_ms, 200, "without an end, the last step's");
    }

    #[test]
    fn a_rebuild_has_every_step_but_from_cached_and_its_transfers_and_exports_not() {
        let cached = |name: &str| step(name, Some(40), Some(40), StepState::Cached);
        let steps = [
            done("[internal] load build definition from Dockerfile", 0, 20),
            done("[internal] load metadata for 127.0.0.1:5055/busybox:latest", 20, 40),
            done("[internal] load build context", 20, 30),
            // As BuildKit sends it in a rebuild: resolved again, not cached.
            done("[1/3] FROM 127.0.0.1:5055/busybox:latest@sha256:0123", 40, 40),
            cached("[2/3] COPY app.txt /app.txt"),
            cached("[3/3] RUN cat /app.txt"),
            done("exporting to image", 40, 60),
        ];
        let timing = BuildTiming::of(&steps, Some(60));
        let cache = &timing.cache;
        assert_eq!((cache.instructions, cache.cached_instructions, cache.instructions_percent), (2, 2, Some(100)));
        assert_eq!((cache.steps, cache.cached_steps), (7, 2));
        let exec = kind(&timing, OperationKind::Exec);
        assert_eq!((exec.cached, exec.real_ms, exec.accumulated_ms), (1, 0, 0), "a cached step takes no time");
        let pulls = kind(&timing, OperationKind::ImagePull);
        assert_eq!((pulls.steps, pulls.cached, pulls.real_ms), (2, 0, 20));
    }

    #[test]
    fn a_cancelled_builds_unfinished_steps_run_to_its_end_and_queued_ones_take_no_time() {
        let steps = [
            done("[1/3] FROM busybox", 0, 50),
            step("[2/3] RUN sleep 60", Some(100), None, StepState::Cancelled),
            step("[3/3] RUN echo never", None, None, StepState::Cancelled),
        ];
        let timing = BuildTiming::of(&steps, Some(5000));
        assert_eq!(timing.unfinished, 1);
        let exec = kind(&timing, OperationKind::Exec);
        assert_eq!((exec.steps, exec.real_ms, exec.accumulated_ms), (2, 4900, 4900));
        assert_eq!(timing.cache.instructions_percent, Some(0));
        // Without the build's end, the unfinished step runs to the last instant any step reached.
        assert_eq!(BuildTiming::of(&steps, None).duration_ms, 100);
        assert_eq!(kind(&BuildTiming::of(&steps, None), OperationKind::Exec).accumulated_ms, 0);
    }

    #[test]
    fn parallelism_is_a_step_function_in_buckets_per_kind() {
        let steps = [done("[1/2] RUN long", 0, 1000), done("[2/2] COPY . /", 250, 750)];
        let timing = BuildTiming::of(&steps, Some(1200));
        assert_eq!((timing.bucket_ms, timing.parallelism.len()), (10, 120));
        let bucket = |ms: u64| &timing.parallelism[(ms / 10) as usize];
        // Kinds in legend order: file, then exec.
        assert_eq!((bucket(0).max, bucket(0).busy_ms.clone()), (1, vec![0, 10]));
        assert_eq!((bucket(300).max, bucket(300).busy_ms.clone()), (2, vec![10, 10]));
        assert_eq!((bucket(900).max, bucket(900).busy_ms.clone()), (1, vec![0, 10]));
        assert_eq!((bucket(1100).max, bucket(1100).busy_ms.clone()), (0, vec![0, 0]));
        assert_eq!(bucket(300).start_ms, 300);
    }

    #[test]
    fn a_build_of_100000_steps_charts_in_at_most_120_buckets_and_loses_no_time() {
        // Each step runs 25 ms, one starting every 10 ms: three at once most of the time.
        let steps: Vec<Step> = (0..100_000u64).map(|i| done("[1/1] RUN x", i * 10, i * 10 + 25)).collect();
        let timing = BuildTiming::of(&steps, None);
        assert_eq!(timing.duration_ms, 999_990 + 25);
        assert!(timing.parallelism.len() <= PARALLELISM_BUCKETS as usize);
        assert_eq!(timing.max_parallelism, 3);
        assert_eq!(timing.parallelism.iter().map(|b| b.max).max(), Some(3));
        let charted: u64 = timing.parallelism.iter().map(|b| b.busy_ms.iter().sum::<u64>()).sum();
        assert_eq!(charted, timing.accumulated_ms, "every step's time lands in some bucket");
        assert_eq!(timing.accumulated_ms, 100_000 * 25);
    }

    #[test]
    fn a_multi_platform_build_is_timed_per_platform_with_the_shared_steps() {
        let steps = [
            done("[internal] load build context", 0, 100),
            done("[linux/amd64 2/2] RUN make", 100, 300),
            done("[linux/arm64 2/2] RUN make", 100, 900),
            done("exporting to image", 900, 1000),
        ];
        let timings = Timings::of(&steps, Some(1000));
        let platforms: Vec<&str> = timings.platforms.iter().map(|p| p.platform.as_str()).collect();
        assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
        let arm = &timings.platforms[1].timing;
        assert_eq!((arm.cache.steps, kind(arm, OperationKind::Exec).real_ms), (3, 800));
        assert_eq!(timings.overall.max_parallelism, 2);
        assert!(Timings::of(&steps[..2], None).platforms.is_empty(), "one platform: nothing to split");
    }
}
