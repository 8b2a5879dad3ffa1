//! Generates the Rust side of the protocols Buildlane speaks beyond what bollard ships (BuildKit's
//! gateway bridge, containerd's content service) from `proto/`, at build time, so a message's field
//! numbers are written once, in its `.proto`. protox compiles the `.proto` files in Rust: a fresh
//! machine needs no `protoc`.

use std::error::Error;

/// Where the `.proto` files live, relative to this crate.
const PROTO_ROOT: &str = "proto";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    // Buildlane only calls the gateway bridge.
    generate("moby/buildkit/v1/frontend/gateway.proto", false)?;
    // Buildlane serves the content service on its sessions and calls BuildKit's own.
    generate("containerd/services/content/v1/content.proto", true)?;
    Ok(())
}

/// Generates `file`'s messages and its service's client (and server, if `server`) into OUT_DIR,
/// one file per package for `tonic::include_proto!`.
fn generate(file: &str, server: bool) -> Result<(), Box<dyn Error>> {
    let descriptors = protox::compile([file], [PROTO_ROOT])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(server)
        // The channels are made by buildkit/transport.rs, not by tonic's `connect`.
        .build_transport(false)
        .compile_fds(descriptors)?;
    Ok(())
}
