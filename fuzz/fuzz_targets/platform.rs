//! `--platform` values: parsing never panics, a parsed platform prints in a form that parses back to
//! it, and a list parses to platforms each of which parses on its own.
#![no_main]

use buildlane_core::platform::{parse_list, Platform};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(platform) = text.parse::<Platform>() {
        let printed = platform.to_string();
        let again: Platform = printed.parse().unwrap_or_else(|e| panic!("{printed:?} does not parse back: {e}"));
        assert_eq!(again, platform, "{text:?} printed as {printed:?}");
    }
    if let Ok(list) = parse_list([text]) {
        for platform in list {
            assert!(platform.to_string().parse::<Platform>().is_ok());
        }
    }
});
