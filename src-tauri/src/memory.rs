//! Memory the app process freed, handed back to the system.

use std::time::Duration;

/// How long the page takes to ask for what it shows once an operation (or the launch) ended.
const AFTER_THE_PAGE_READ: Duration = Duration::from_secs(2);

/// Hands back what the app freed once the page has read what it shows now: its reads allocate too.
pub fn return_freed_memory_once_the_page_read() {
    tauri::async_runtime::spawn(async {
        tokio::time::sleep(AFTER_THE_PAGE_READ).await;
        return_freed_memory();
    });
}

/// A build's transfers and progress allocate tens of MiB across the runtime's threads; glibc keeps
/// what they free in each thread's arena, so the window held it idle long after the build.
/// `malloc_trim` returns the free pages of every arena.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn return_freed_memory() {
    // SAFETY: malloc_trim only releases free memory of the allocator's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn return_freed_memory() {}
