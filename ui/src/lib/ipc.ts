// The only module that talks to Tauri. Each function wraps exactly one command of the core; every
// rejection is normalised to an AppError ({ code, message }) so callers can present it.
import { Channel, invoke } from '@tauri-apps/api/core';
import { toAppError } from './errors';
import type {
  BuildComparison,
  BuildOutcome,
  BuildRecord,
  BuildRequest,
  BuilderAction,
  BuilderInspection,
  CacheAction,
  BuilderList,
  Comparison,
  ComposeRequest,
  Composition,
  ContextList,
  CreateBuilderRequest,
  DiskUsage,
  DockerfileOutline,
  EngineStatus,
  ExportProgress,
  ExportSummary,
  HistoryEvent,
  BuilderHistorySupport,
  Inspection,
  LifecycleEvent,
  LogChunk,
  NodePlatform,
  OpenedBundle,
  Page,
  PlatformImage,
  ProgressUpdate,
  PruneForm,
  PruneOutcome,
  PrunePreview,
  PruneProgress,
  PushEvent,
  RegistryList,
  RemoveOptions,
  ProjectHistory,
  RecordAttestation,
  RecordBlobs,
  RecordSource,
  Replay,
  Timings,
  UseOptions,
} from './types';

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (reason) {
    throw toAppError(reason);
  }
}

/** A fresh id for a long operation, so it can be cancelled. */
export function newOperationId(): string {
  return crypto.randomUUID();
}

export function listContexts(): Promise<ContextList> {
  return call('list_contexts');
}

export function selectContext(name: string): Promise<ContextList> {
  return call('select_context', { name });
}

/** Starts streaming the selected context's engine status; replaces any earlier watch. */
export function watchEngine(onStatus: (status: EngineStatus) => void): Promise<void> {
  return call('watch_engine', { onStatus: new Channel<EngineStatus>(onStatus) });
}

/** Calls `onChange` each time another program (the docker CLI) changed a builder or a context; replaces any earlier watch. */
export function watchBuilders(onChange: () => void): Promise<void> {
  return call('watch_builders', { onChange: new Channel<null>(onChange) });
}

/** The builders; `onPartial` gets them first, their slow nodes `unknown`, if some node is slow to answer. */
export function listBuilders(onPartial: (list: BuilderList) => void): Promise<BuilderList> {
  return call('list_builders', { onPartial: new Channel<BuilderList>(onPartial) });
}

export type ProgressHandler = (event: LifecycleEvent) => void;

export function createBuilder(
  request: CreateBuilderRequest,
  operation: string,
  onProgress: ProgressHandler,
): Promise<string> {
  return call('create_builder', { request, operation, onProgress: new Channel<LifecycleEvent>(onProgress) });
}

export function bootBuilder(name: string, operation: string, onProgress: ProgressHandler): Promise<void> {
  return call('boot_builder', { name, operation, onProgress: new Channel<LifecycleEvent>(onProgress) });
}

/** The builder as `docker buildx inspect [--bootstrap]` sees it; with `bootstrap`, booting shows progress (cancel with cancelOperation). */
export function inspectBuilder(
  name: string,
  bootstrap: boolean,
  operation: string,
  onProgress: ProgressHandler,
): Promise<BuilderInspection> {
  return call('inspect_builder', { name, bootstrap, operation, onProgress: new Channel<LifecycleEvent>(onProgress) });
}

export function stopBuilder(name: string, operation: string, onProgress: ProgressHandler): Promise<void> {
  return call('stop_builder', { name, operation, onProgress: new Channel<LifecycleEvent>(onProgress) });
}

export function removeBuilder(
  name: string,
  options: RemoveOptions,
  operation: string,
  onProgress: ProgressHandler,
): Promise<void> {
  return call('remove_builder', { name, options, operation, onProgress: new Channel<LifecycleEvent>(onProgress) });
}

export function leaveBuilderNode(name: string, node: string): Promise<void> {
  return call('leave_builder_node', { name, node });
}

export function useBuilder(name: string, options: UseOptions): Promise<void> {
  return call('use_builder', { name, options });
}

/** Aborts a running create/boot/stop/remove; false when it had already ended. */
export function cancelOperation(operation: string): Promise<boolean> {
  return call('cancel_operation', { operation });
}

/** The equivalent `docker buildx …` command line. */
export function cliCommand(action: BuilderAction): Promise<string> {
  return call('cli_command', { action });
}

// The Build view.

/** Runs a build, streaming coalesced progress; resolves with how it ended (cancel with cancelOperation). */
export function startBuild(
  request: BuildRequest,
  operation: string,
  onProgress: (update: ProgressUpdate) => void,
): Promise<BuildOutcome> {
  return call('start_build', { request, operation, onProgress: new Channel<ProgressUpdate>(onProgress) });
}

/**
 * Builds one platform of a recorded build again, alone, and assembles the build's result from it and
 * the others' earlier ones; progress streams as for startBuild, the earlier steps first.
 */
export function retryPlatform(
  buildRef: string,
  platform: string,
  operation: string,
  onProgress: (update: ProgressUpdate) => void,
): Promise<BuildOutcome> {
  return call('retry_platform', { buildRef, platform, operation, onProgress: new Channel<ProgressUpdate>(onProgress) });
}

/** The equivalent `docker buildx build …` command line. */
export function buildCliCommand(request: BuildRequest): Promise<string> {
  return call('build_cli_command', { request });
}

/** The platforms a builder can build for ('' = the current builder), each marked native or emulated. */
export function offeredPlatforms(builder: string): Promise<NodePlatform[]> {
  return call('offered_platforms', { builder });
}

/**
 * The Dockerfile's stages and the target's ARGs, secrets and SSH mounts, as the builder's Dockerfile
 * frontend reports them ('' = the current builder, the default stage); the local parse when the
 * builder cannot be reached (its `origin` says which).
 */
export function dockerfileOutline(builder: string, context: string, dockerfile: string, target: string): Promise<DockerfileOutline> {
  return call('dockerfile_outline', { builder, context, dockerfile, target });
}

/** The Dockerfile's text. */
export function dockerfileSource(context: string, dockerfile: string): Promise<string> {
  return call('dockerfile_source', { context, dockerfile });
}

/** Recorded builds, newest first. */
export function recentBuilds(): Promise<BuildRecord[]> {
  return call('recent_builds');
}

/** The full logs of a recorded build. */
export function buildLogs(buildRef: string): Promise<LogChunk[]> {
  return call('build_logs', { buildRef });
}

// BuildKit's build history of a builder ('' = the current one).

/** Streams the builder's history: every record in the first batch, then each change (cancel with cancelOperation). */
export function watchBuildHistory(
  builder: string,
  operation: string,
  onEvents: (events: HistoryEvent[]) => void,
): Promise<void> {
  return call('watch_build_history', { builder, operation, onEvents: new Channel<HistoryEvent[]>(onEvents) });
}

/** What the builder's BuildKit lacks of what the History view shows, each with a note to show beside it. */
export function historySupport(builder: string): Promise<BuilderHistorySupport> {
  return call('history_support', { builder });
}

// A build record wherever it lives: the builder's history, or a `.dockerbuild` file opened read-only.

/** Replays a record into lanes; resolves with the record and how it ended (cancel with cancelOperation). */
export function replayRecord(
  source: RecordSource,
  buildRef: string,
  operation: string,
  onProgress: (update: ProgressUpdate) => void,
): Promise<Replay> {
  return call('replay_record', { source, buildRef, operation, onProgress: new Channel<ProgressUpdate>(onProgress) });
}

/** A record's attachments (provenance, SBOM), the materials its provenance names, and the image it pushed. */
export function recordBlobs(source: RecordSource, buildRef: string): Promise<RecordBlobs> {
  return call('record_blobs', { source, buildRef });
}

/** One attachment of a record, as the Images inspector shows an attestation. */
export function recordAttestation(source: RecordSource, buildRef: string, digest: string): Promise<RecordAttestation> {
  return call('record_attestation', { source, buildRef, digest });
}

/** Where a record's time went, by kind of operation and platform (cancel with cancelOperation). */
export function buildTiming(source: RecordSource, buildRef: string, operation: string): Promise<Timings> {
  return call('build_timing', { source, buildRef, operation });
}

/** The finished builds of the project a record belongs to (among its source's), oldest first. */
export function projectHistory(source: RecordSource, buildRef: string): Promise<ProjectHistory> {
  return call('project_history', { source, buildRef });
}

/** Two records of the builder compared step by step, in either order (cancel with cancelOperation). */
export function compareBuilds(builder: string, first: string, second: string, operation: string): Promise<BuildComparison> {
  return call('compare_builds', { builder, first, second, operation });
}

// `.dockerbuild` bundles: a builder's records exported into one, and one opened read-only (by its path).

/** Exports `refs` of `builder`, or every completed record with `all`, into the file at `path` (cancel with cancelOperation). */
export function exportBuilds(
  builder: string,
  refs: string[],
  all: boolean,
  path: string,
  operation: string,
  onProgress: (progress: ExportProgress) => void,
): Promise<ExportSummary> {
  return call('export_builds', { builder, refs, all, path, operation, onProgress: new Channel<ExportProgress>(onProgress) });
}

/** Opens the bundle at `path`: its builds, newest first. */
export function openBundle(path: string): Promise<OpenedBundle> {
  return call('open_bundle', { path });
}

export function pinBuild(builder: string, buildRef: string, pinned: boolean): Promise<void> {
  return call('pin_build', { builder, buildRef, pinned });
}

export function deleteBuild(builder: string, buildRef: string): Promise<void> {
  return call('delete_build', { builder, buildRef });
}

// The Images view. Registry calls are long: each takes an operation id for cancelOperation.

/** Registries from the docker config and those the user added (kept between runs). */
export function listRegistries(): Promise<RegistryList> {
  return call('list_registries');
}

/** Adds a registry host; plainHttp null lets the core decide (loopback is plain http). */
export function addRegistry(name: string, plainHttp: boolean | null): Promise<RegistryList> {
  return call('add_registry', { name, plainHttp });
}

/** Forgets a registry the user added. */
export function removeRegistry(name: string): Promise<RegistryList> {
  return call('remove_registry', { name });
}

/** One page of a registry's catalog, after `last`. */
export function listRepositories(registry: string, last: string | null, operation: string): Promise<Page> {
  return call('list_repositories', { registry, last, operation });
}

/** One page of a repository's tags, after `last`. */
export function listTags(registry: string, repository: string, last: string | null, operation: string): Promise<Page> {
  return call('list_tags', { registry, repository, last, operation });
}

/** The repositories of the selected context's engine's tagged images (one page: all of them). */
export function listEngineRepositories(operation: string): Promise<Page> {
  return call('list_engine_repositories', { operation });
}

/** The tags of one repository in the engine's image store. */
export function listEngineTags(repository: string, operation: string): Promise<Page> {
  return call('list_engine_tags', { repository, operation });
}

/** An image of the engine's store (`repo:tag`), as the inspector shows it. */
export function inspectEngineImage(reference: string, operation: string): Promise<Inspection> {
  return call('inspect_engine_image', { reference, operation });
}

/** Everything the inspector shows for any reference (normalised by the core as docker does). */
export function inspectImage(reference: string, operation: string): Promise<Inspection> {
  return call('inspect_image', { reference, operation });
}

/** Config and layer differences between two platform images. */
export function comparePlatforms(left: PlatformImage, right: PlatformImage): Promise<Comparison> {
  return call('compare_platforms', { left, right });
}

/** `docker buildx imagetools inspect` for a reference that could not be inspected. */
export function imageCliCommand(reference: string): Promise<string> {
  return call('image_cli_command', { reference });
}

// The Builders view's Cache panel.

/** A builder's cache records per node, totals as buildx prints them, and the bar's parts. */
export function diskUsage(builder: string, filters: string[]): Promise<DiskUsage> {
  return call('disk_usage', { builder, filters });
}

/** What a prune with `form` would remove now, and the bytes it would free. */
export function prunePreview(builder: string, form: PruneForm): Promise<PrunePreview> {
  return call('prune_preview', { builder, form });
}

/**
 * Prunes, streaming each removed record against `expected` (the preview's bytes) as the total;
 * cancel with cancelOperation.
 */
export function pruneCache(
  builder: string,
  form: PruneForm,
  expected: number | null,
  operation: string,
  onProgress: (progress: PruneProgress) => void,
): Promise<PruneOutcome> {
  return call('prune_cache', {
    builder,
    form,
    expected,
    operation,
    onProgress: new Channel<PruneProgress>(onProgress),
  });
}

/** The equivalent `docker buildx du` / `prune` command line. */
export function cacheCliCommand(action: CacheAction): Promise<string> {
  return call('cache_cli_command', { action });
}

/** The index a composition makes, without writing anything (imagetools create --dry-run). */
export function composePlan(request: ComposeRequest, operation: string): Promise<Composition> {
  return call('compose_plan', { request, operation });
}

/** Composes and pushes under the request's tags; each step arrives through onProgress. */
export function composePush(
  request: ComposeRequest,
  operation: string,
  onProgress: (event: PushEvent) => void,
): Promise<Composition> {
  return call('compose_push', { request, operation, onProgress: new Channel<PushEvent>(onProgress) });
}
