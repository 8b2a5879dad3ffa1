//! BuildKit's Status stream, as any builder (a remote one included) may send it: a sequence of
//! StatusResponse messages folded into lanes never panics, and every step it reports is one a
//! vertex named.
#![no_main]

use bollard::moby::buildkit::v1::StatusResponse;
use buildlane_core::progress::ProgressModel;
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the build's platforms; the rest is length-prefixed messages.
    let Some((&platforms, mut rest)) = data.split_first() else { return };
    let platforms: Vec<String> = ["linux/amd64", "linux/arm64", "linux/arm/v7"]
        .iter()
        .take(usize::from(platforms % 4))
        .map(|p| p.to_string())
        .collect();
    let mut model = ProgressModel::new(&platforms);
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (message, tail) = tail.split_at(len);
        rest = tail;
        if let Ok(response) = StatusResponse::decode(message) {
            model.apply(&response);
            let _ = model.take_update();
        }
    }
    model.cancel_unfinished();
    for step in model.steps() {
        let _ = model.log(&step.id);
    }
});
