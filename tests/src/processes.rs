//! External programs: finding them (or skipping the test with a printed reason), free ports,
//! throw-away directories.

use std::io::Write as _;
use std::net::{Ipv4Addr, TcpListener as StdTcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Set to `1` to turn every skip for a missing program into a test failure (CI sets it).
pub const REQUIRE_ALL_VAR: &str = "SSE_TEST_REQUIRE_ALL";

/// Looks `name` up on `PATH`.
///
/// When it is missing, prints `SKIP: <test>: <name> not found (install Debian package <pkg>)`
/// and returns `None`, so the caller returns early; when `SSE_TEST_REQUIRE_ALL=1` it panics with
/// that message instead, so the test fails. `<test>` is the current test's name (libtest names
/// the thread after the test).
///
/// ```no_run
/// let Some(redis) = sse_tests::require_binary("redis-server") else { return };
/// assert!(redis.is_absolute());
/// ```
pub fn require_binary(name: &str) -> Option<PathBuf> {
    if let Some(path) = find_binary(name) {
        return Some(path);
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_owned();
    let message = format!(
        "SKIP: {test}: {name} not found (install Debian package {})",
        debian_package(name)
    );
    if std::env::var(REQUIRE_ALL_VAR).is_ok_and(|v| v == "1") {
        panic!("{message} and {REQUIRE_ALL_VAR}=1");
    }
    // Straight to the process's stderr: libtest captures `eprintln!` of passing tests, and a
    // skip must be seen.
    let _ = writeln!(std::io::stderr(), "{message}");
    None
}

/// Looks `name` up on `PATH` without printing anything: the first executable file found.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn debian_package(binary: &str) -> &str {
    match binary {
        "chromedriver" => "chromium-driver",
        "chromium" | "chromium-browser" => "chromium",
        other => other,
    }
}

/// A port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
pub fn free_port() -> u16 {
    StdTcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// A fresh, empty directory under the system temp dir, removed (with its content) on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `<tmp>/sse-tests-<prefix>-<pid>-<nanos>-<n>`.
    pub fn new(prefix: &str) -> std::io::Result<TempDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!(
            "sse-tests-{prefix}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
