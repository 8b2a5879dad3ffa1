// The IPC contract's types, all generated from Rust by ts-rs into ./bindings (never edit those).
export type { AppError } from './bindings/AppError';
export type { ErrorCode } from './bindings/ErrorCode';
export type { ContextList } from './bindings/ContextList';

export type { Builder } from './bindings/Builder';
export type { BuilderAction } from './bindings/BuilderAction';
export type { BuilderList } from './bindings/BuilderList';
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
