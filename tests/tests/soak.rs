//! The soak binary in its short form: 1,000 concurrent event streams for 10 seconds through a
//! hub, checked for delivery, memory growth and leaks (see `tests/src/bin/soak.rs`; the full
//! form is `cargo run --release -p sse-tests --bin soak`).

use std::process::Command;

#[test]
fn soak_short() {
    let output = Command::new(env!("CARGO_BIN_EXE_soak"))
        .args(["--connections", "1000", "--seconds", "10", "--rate", "20"])
        .output()
        .expect("run the soak binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(output.status.success(), "soak failed: {stderr}");
    assert!(stdout.contains("RESULT connections=1000 complete=1000 events=200 "));
    assert!(stdout.trim_end().ends_with("soak: ok"), "{stdout}");
}
