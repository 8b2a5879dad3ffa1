//! The window's own process carries no GL driver (it paints nothing with GL; Mesa's llvmpipe held
//! 20 MiB of it), while its web process, which WebKit cannot start without an EGL display, still
//! finds one and the page renders.

use buildlane_e2e::{descendants, App};

fn maps(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default()
}

fn command_name(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_owned()
}

#[tokio::test]
async fn the_app_process_loads_no_gl_driver_and_the_page_still_lists_the_builders() {
    let app = App::launch().await;
    app.wait_for("[data-testid=builders-loaded]", 30).await;
    let row = app.wait_for("[data-testid=builder-row][data-builder=default]", 10).await;
    assert!(row.text().await.unwrap().contains("default"));

    let pid = app.app_pid();
    let own = maps(pid);
    for driver in ["libLLVM", "_dri.so", "libEGL_mesa", "libGLX_mesa"] {
        assert!(!own.contains(driver), "the app process maps {driver}");
    }
    let web = descendants(pid)
        .into_iter()
        .find(|p| command_name(*p).starts_with("WebKitWebProces"))
        .expect("the window's web process runs");
    let environment = std::fs::read(format!("/proc/{web}/environ")).unwrap();
    assert!(
        !environment.split(|b| *b == 0).any(|var| var.starts_with(b"__EGL_VENDOR_LIBRARY_FILENAMES=")),
        "the web process inherited the app's empty EGL vendor list"
    );
    app.close().await;
}
