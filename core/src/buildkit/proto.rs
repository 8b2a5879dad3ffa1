//! The protocols generated from `core/proto/` by `core/build.rs`, one module per protobuf package.
//! bollard (bollard-buildkit-proto) ships BuildKit's Control, session and health protocols, but
//! neither the gateway bridge nor containerd's content service.

/// `moby.buildkit.v1.frontend`: the gateway bridge (`LLBBridge`) client.
pub mod frontend {
    tonic::include_proto!("moby.buildkit.v1.frontend");
}

/// `containerd.services.content.v1`: the content service's client and server.
pub mod content {
    tonic::include_proto!("containerd.services.content.v1");
}
