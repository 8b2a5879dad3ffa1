//! A `.dockerbuild` bundle read from any bytes (gzip'd or plain tar, any entries, any JSON): opening
//! never panics, and a bundle that opens lists records whose refs each find their own record again.
#![no_main]

use std::path::Path;

use buildlane_core::history::bundle::Bundle;
use buildlane_core::history::BuildSpec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = Bundle::read(Path::new("fuzz.dockerbuild"), data) {
        for entry in bundle.entries() {
            let found = bundle.get(&BuildSpec::Ref(entry.build_ref.clone()));
            assert!(found.is_ok_and(|f| f.build_ref == entry.build_ref), "{}", entry.build_ref);
            let _ = bundle.blobs(&BuildSpec::Ref(entry.build_ref.clone()));
        }
    }
});
