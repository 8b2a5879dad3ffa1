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
    #[cfg(target_os = "linux")]
    keep_gl_out_of_the_app_process();
}

/// The app process paints nothing with GL (the web view paints without acceleration, GTK's widgets
/// with cairo), yet GTK picks GLX visuals at start and WebKit's web context opens an EGL display:
/// both load the GL driver, and without a GPU (or under Xvfb) that is Mesa's llvmpipe, whose
/// libLLVM alone held 20 MiB PSS of the app process. GTK is told not to use GL (`GDK_GL=disable`);
/// libglvnd's EGL reads its vendor list once per process, so the app process reads an empty one
/// (a path that cannot exist) and the variable is gone again before any thread or web process
/// starts: the web process, which needs its EGL display, finds Mesa as always. A user's own
/// `GDK_GL` or EGL vendor setting is kept.
#[cfg(target_os = "linux")]
fn keep_gl_out_of_the_app_process() {
    if std::env::var_os("GDK_GL").is_none() {
        std::env::set_var("GDK_GL", "disable");
    }
    const VENDOR_FILES: &str = "__EGL_VENDOR_LIBRARY_FILENAMES";
    if std::env::var_os(VENDOR_FILES).is_some() || std::env::var_os("__EGL_VENDOR_LIBRARY_DIRS").is_some() {
        return;
    }
    std::env::set_var(VENDOR_FILES, "/dev/null/no-vendor.json");
    read_egl_vendors();
    std::env::remove_var(VENDOR_FILES);
}

/// Has libglvnd's EGL read its vendor list now: any EGL call does, `eglQueryString` the cheapest.
#[cfg(target_os = "linux")]
fn read_egl_vendors() {
    const EGL_EXTENSIONS: i32 = 0x3055;
    type QueryString = unsafe extern "C" fn(*mut std::ffi::c_void, i32) -> *const std::ffi::c_char;
    // SAFETY: libEGL.so.1 is libglvnd's (or a vendor's) EGL, whose initialisers only set up its
    // dispatch; it stays loaded for the process's life (WebKit links it), so the symbol outlives
    // the call, and eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS) only reads.
    unsafe {
        let Ok(egl) = libloading::Library::new("libEGL.so.1") else { return };
        if let Ok(query) = egl.get::<QueryString>(b"eglQueryString\0") {
            query(std::ptr::null_mut(), EGL_EXTENSIONS);
        }
        std::mem::forget(egl);
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
