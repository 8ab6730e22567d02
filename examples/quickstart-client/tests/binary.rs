//! The built `quickstart-client` binary's command line.

use example_ops::testing::{assert_refused, run};

const BIN: &str = env!("CARGO_BIN_EXE_quickstart-client");

#[tokio::test]
async fn help_and_version() {
    let help = run(BIN, &["--help"], &[]).await;
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for needle in [
        "[URL]",
        "QUICKSTART_URL",
        "[default: http://127.0.0.1:8888/sse]",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let version = run(BIN, &["--version"], &[]).await;
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("quickstart-client {}", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn command_line_errors_exit_non_zero_with_a_message() {
    assert_refused(
        BIN,
        &["--verbose"],
        &[],
        "unexpected argument '--verbose' found",
    )
    .await;
    assert_refused(
        BIN,
        &["--versoin"],
        &[],
        "a similar argument exists: '--version'",
    )
    .await;
    assert_refused(
        BIN,
        &["http://a", "b"],
        &[],
        "unexpected argument 'b' found",
    )
    .await;
    assert_refused(
        BIN,
        &["localhost:8888"],
        &[],
        "invalid value 'localhost:8888' for '[URL]'",
    )
    .await;
    assert_refused(
        BIN,
        &[],
        &[("QUICKSTART_URL", "http:///sse")],
        "not an http:// or https:// URL",
    )
    .await;
}
