//! The built `quickstart-server` binary: its command line, and SIGTERM and Ctrl-C with an
//! open stream (which ends with the shutdown comment and `retry` hint).

use example_ops::testing::{
    Refusal, ServerProcess, assert_command_line_errors, assert_graceful_shutdown,
    assert_help_and_version, open_streams,
};

const BIN: &str = env!("CARGO_BIN_EXE_quickstart-server");

#[tokio::test]
async fn help_and_version() {
    assert_help_and_version(
        BIN,
        "quickstart-server",
        env!("CARGO_PKG_VERSION"),
        &[
            "[ADDR]",
            "QUICKSTART_ADDR",
            "[default: 127.0.0.1:8888]",
            "QUICKSTART_LOG_FORMAT",
        ],
    )
    .await;
}

#[tokio::test]
async fn each_command_line_error_exits_non_zero_with_a_message() {
    let cases: &[Refusal<'_>] = &[
        (&["8888"], &[], "invalid value '8888' for '[ADDR]'"),
        (
            &["127.0.0.1:1", "127.0.0.1:2"],
            &[],
            "unexpected argument '127.0.0.1:2' found",
        ),
        (
            &[],
            &[("QUICKSTART_LOG_FORMAT", "text")],
            "invalid value 'text' for '--log-format <FORMAT>'",
        ),
    ];
    assert_command_line_errors(BIN, cases).await;
}

#[tokio::test]
async fn sigterm_and_ctrl_c_end_the_open_stream_with_a_retry_hint() {
    for (signal, name) in [
        (ServerProcess::terminate as fn(&ServerProcess), "SIGTERM"),
        (ServerProcess::interrupt, "SIGINT"),
    ] {
        let mut server = ServerProcess::start(BIN, &["127.0.0.1:0"], &[]).await;
        let mut streams = open_streams(server.addr(), &["/sse".to_owned()]).await;
        streams[0]
            .read_until(|t| t.contains("event: timestamp\nid: 1\n"))
            .await;
        let (_, bodies) = assert_graceful_shutdown(&mut server, signal, streams).await;
        assert!(
            bodies[0].ends_with("\n\n: server shutting down\nretry: 5000\n\n"),
            "{name}: {:?}",
            bodies[0]
        );
        assert!(server.logs().contains(name), "{}", server.logs());
    }
}
