// The IPC contract's types, all generated from Rust by ts-rs into ./bindings (never edit those).
export type { AppError } from './bindings/AppError';
export type { ErrorCode } from './bindings/ErrorCode';
export type { ContextList } from './bindings/ContextList';

export type { Builder } from './bindings/Builder';
export type { PlatformRoute } from './bindings/PlatformRoute';
export type { BuilderAction } from './bindings/BuilderAction';
export type { BuilderList } from './bindings/BuilderList';
export type { BuilderInspection } from './bindings/BuilderInspection';
export type { BuildkitdFile } from './bindings/BuildkitdFile';
export type { DriverDetails } from './bindings/DriverDetails';
export type { GcRule } from './bindings/GcRule';
export type { InspectedNode } from './bindings/InspectedNode';
export type { RemoteTls } from './bindings/RemoteTls';
export type { BuilderNode } from './bindings/BuilderNode';
export type { CreateBuilderRequest } from './bindings/CreateBuilderRequest';
export type { DockerContext } from './bindings/DockerContext';
export type { EngineInfo } from './bindings/EngineInfo';
export type { EngineStatus } from './bindings/EngineStatus';
export type { LifecycleEvent } from './bindings/LifecycleEvent';
export type { NodePlatform } from './bindings/NodePlatform';
export type { NodeStatus } from './bindings/NodeStatus';
export type { RemoveOptions } from './bindings/RemoveOptions';
export type { UseOptions } from './bindings/UseOptions';

// The Build view.
export type { BuildFailure } from './bindings/BuildFailure';
export type { BuildOutcome } from './bindings/BuildOutcome';
export type { BuildOutput } from './bindings/BuildOutput';
export type { BuildRecord } from './bindings/BuildRecord';
export type { BuildRequest } from './bindings/BuildRequest';
export type { BuildState } from './bindings/BuildState';
export type { DockerfileOutline } from './bindings/DockerfileOutline';
export type { LineRange } from './bindings/LineRange';
export type { LogChunk } from './bindings/LogChunk';

// BuildKit's build history.
export type { HistoryEntry } from './bindings/HistoryEntry';
export type { HistoryEvent } from './bindings/HistoryEvent';
export type { HistoryOutput } from './bindings/HistoryOutput';
export type { HistoryStatus } from './bindings/HistoryStatus';
export type { HistorySupport } from './bindings/HistorySupport';
export type { HistoryCapability } from './bindings/HistoryCapability';
export type { CapabilityNote } from './bindings/CapabilityNote';
export type { KeyValue } from './bindings/KeyValue';
export type { RecordedError } from './bindings/RecordedError';
export type { Replay } from './bindings/Replay';
export type { Attachment } from './bindings/Attachment';
export type { ProvenanceMaterial } from './bindings/ProvenanceMaterial';
export type { RecordBlobs } from './bindings/RecordBlobs';
export type { OutlineArg } from './bindings/OutlineArg';
export type { OutlineMount } from './bindings/OutlineMount';
export type { OutlineOrigin } from './bindings/OutlineOrigin';
export type { OutlineStage } from './bindings/OutlineStage';
export type { ProgressUpdate } from './bindings/ProgressUpdate';
export type { ProvenanceMode } from './bindings/ProvenanceMode';
export type { Step } from './bindings/Step';
export type { StepState } from './bindings/StepState';

// The Images view.
export type { Attestation } from './bindings/Attestation';
export type { AttestationStatement } from './bindings/AttestationStatement';
export type { Comparison } from './bindings/Comparison';
export type { ComposeRequest } from './bindings/ComposeRequest';
export type { ComposedEntry } from './bindings/ComposedEntry';
export type { ComposedSource } from './bindings/ComposedSource';
export type { Composition } from './bindings/Composition';
export type { PlatformConflict } from './bindings/PlatformConflict';
export type { PushEvent } from './bindings/PushEvent';
export type { FieldDiff } from './bindings/FieldDiff';
export type { HistoryPair } from './bindings/HistoryPair';
export type { HistoryStep } from './bindings/HistoryStep';
export type { ImageConfig } from './bindings/ImageConfig';
export type { ImageReference } from './bindings/ImageReference';
export type { Inspection } from './bindings/Inspection';
export type { Layer } from './bindings/Layer';
export type { LayerPair } from './bindings/LayerPair';
export type { ManifestKind } from './bindings/ManifestKind';
export type { Material } from './bindings/Material';
export type { NestedIndex } from './bindings/NestedIndex';
export type { OtherEntry } from './bindings/OtherEntry';
export type { Page } from './bindings/Page';
export type { PlatformImage } from './bindings/PlatformImage';
export type { Provenance } from './bindings/Provenance';
export type { Referrer } from './bindings/Referrer';
export type { RegistryEntry } from './bindings/RegistryEntry';
export type { RegistryList } from './bindings/RegistryList';
export type { RegistrySource } from './bindings/RegistrySource';
export type { Sbom } from './bindings/Sbom';
export type { SbomPackage } from './bindings/SbomPackage';
export type { SizeMatrix } from './bindings/SizeMatrix';
export type { SizeRow } from './bindings/SizeRow';
export type { StepMark } from './bindings/StepMark';

// The Builders view's Cache panel.
export type { CacheAction } from './bindings/CacheAction';
export type { CacheRecord } from './bindings/CacheRecord';
export type { CacheTotals } from './bindings/CacheTotals';
export type { DiskUsage } from './bindings/DiskUsage';
export type { NodeUsage } from './bindings/NodeUsage';
export type { PruneForm } from './bindings/PruneForm';
export type { PruneOutcome } from './bindings/PruneOutcome';
export type { PrunePreview } from './bindings/PrunePreview';
export type { PruneProgress } from './bindings/PruneProgress';
export type { UsageSegment } from './bindings/UsageSegment';
