//! Images wherever they live: references, the registries the user knows, the OCI distribution client,
//! manifest inspection and comparison, images in the engine's own store, and their command lines.

pub mod command_line;
pub mod compose;
pub mod engine;
pub mod manifest;
pub mod reference;
pub mod registries;
pub mod registry;
