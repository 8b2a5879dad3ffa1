//! Memory the app process freed, handed back to the system.

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
