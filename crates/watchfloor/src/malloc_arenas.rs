//! Keeps the long-running server's memory flat on glibc: at most two malloc arenas.
//!
//! glibc gives threads that allocate at the same time arenas of their own, up to eight
//! per core, and memory freed in one arena is not reused by another: a server whose
//! HTTP workers, store calls and pipeline allocate and free across threads all day
//! keeps growing (10-minute benchmark: 184 → 232 MB resident, +5.4 MB/min, most of it
//! in thread arenas; with two arenas 150 MB and flat). The arena count is read from
//! `MALLOC_ARENA_MAX` when the process starts, so `serve`, `demo` and `bench serve`
//! start themselves again with it set (same process id, arguments, descriptors) unless
//! the environment already names a value, which is then kept.

/// The arena bound the server runs with.
const ARENAS: &str = "2";
const VARIABLE: &str = "MALLOC_ARENA_MAX";

/// On Linux with glibc, replaces this process by itself with `MALLOC_ARENA_MAX` set,
/// unless it is set already. Returns only when it is set already, on another platform,
/// or when the exec failed (the server then runs with glibc's default).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn limit_for_server() {
    use std::os::unix::process::CommandExt as _;
    if std::env::var_os(VARIABLE).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let error = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(VARIABLE, ARENAS)
        .exec();
    eprintln!("warning: could not restart with {VARIABLE}={ARENAS} ({error}); going on");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_for_server() {
    let _ = (ARENAS, VARIABLE);
}
