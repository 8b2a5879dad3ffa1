//! Image references as users type them and registries echo them: parsing never panics, and a parsed
//! reference printed in full form parses back to itself.
#![no_main]

use buildlane_core::images::reference::ImageReference;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(reference) = text.parse::<ImageReference>() {
        let printed = reference.to_string();
        let again: ImageReference = printed.parse().unwrap_or_else(|e| panic!("{printed:?} does not parse back: {e}"));
        assert_eq!(again, reference, "{text:?} printed as {printed:?}");
    }
});
