//! The web view's settings, chosen by measurement (`scripts/bench-window.sh cost`, numbers in the
//! README's benchmarks).

/// The environment WebKit's processes start with, set before any of them (or another thread)
/// exists: the web process inherits the app's. JavaScriptCore's JIT is off: it held about 20 MiB of
/// the tree's PSS, split between the app and the web process, for a page whose script is small and
/// mostly waits on the core (README, "Where the memory goes"). A `JSC_useJIT` the user set is kept.
pub fn configure_process() {
    if std::env::var_os("JSC_useJIT").is_none() {
        std::env::set_var("JSC_useJIT", "0");
    }
}

/// Turns WebKitGTK's hardware acceleration off for the window's web view. With it on (WebKitGTK's
/// default), the web process composites the page through GL, which without a GPU (or under Xvfb)
/// is Mesa's llvmpipe, and every composited layer keeps render buffers: for a page of text, tables
/// and a few bars the process tree held 327 MiB PSS idle and 467 MiB after a 3-platform build
/// (median of 5 release launches). Painted without compositing: 241 MiB and 257 MiB, looking the
/// same. (WebDriver's screenshot then never answers, so the e2e harness takes its pictures from the
/// X server.) The other candidates measured alone (cache model "document viewer", page cache off,
/// WebGL off) saved nothing and are left as WebKit sets them.
#[cfg(target_os = "linux")]
pub fn configure(window: &tauri::WebviewWindow) -> tauri::Result<()> {
    window.with_webview(|webview| {
        use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
        if let Some(settings) = WebViewExt::settings(&webview.inner()) {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
    })
}

/// Elsewhere the system's web view keeps its own settings.
#[cfg(not(target_os = "linux"))]
pub fn configure(_window: &tauri::WebviewWindow) -> tauri::Result<()> {
    Ok(())
}
