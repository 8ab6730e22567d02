//! A minimal HTTP/1.1 client over a plain `TcpStream`, so the tests see the exact bytes the
//! server writes: status line, headers, and the chunks of a chunked body one by one.

use std::{net::SocketAddr, time::Duration};

use axum::Router;
use tokio::{
    io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader},
    net::{TcpListener, TcpStream},
};

/// A generous bound for anything that should happen "at once" on a loaded machine.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// Serves `app` on 127.0.0.1 on a free port.
pub(crate) async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A response being read.
pub(crate) struct RawResponse {
    reader: BufReader<TcpStream>,
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    /// What the first chunk held after the opening comment.
    after_opening: Option<Vec<u8>>,
}

/// The comment every event stream opens with, checked and consumed by [`RawResponse::get`].
pub(crate) const OPENING: &[u8] = b":\n\n";

impl RawResponse {
    /// Sends `GET path` with the extra header lines (each `Name: value`, raw bytes) and reads
    /// the status line and headers.
    pub(crate) async fn get(addr: SocketAddr, path: &str, extra_headers: &[&[u8]]) -> Self {
        let tcp = TcpStream::connect(addr).await.unwrap();
        Self::send(tcp, addr, path, extra_headers).await
    }

    /// As [`get`](Self::get), from a socket bound to `local` (another loopback address).
    pub(crate) async fn get_from(
        local: std::net::IpAddr,
        addr: SocketAddr,
        path: &str,
        extra_headers: &[&[u8]],
    ) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(local, 0)).unwrap();
        let tcp = socket.connect(addr).await.unwrap();
        Self::send(tcp, addr, path, extra_headers).await
    }

    async fn send(
        mut tcp: TcpStream,
        addr: SocketAddr,
        path: &str,
        extra_headers: &[&[u8]],
    ) -> Self {
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n").into_bytes();
        for header in extra_headers {
            request.extend_from_slice(header);
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"\r\n");
        tcp.write_all(&request).await.unwrap();
        let mut reader = BufReader::new(tcp);

        let mut line = String::new();
        tokio::time::timeout(PATIENCE, reader.read_line(&mut line))
            .await
            .unwrap()
            .unwrap();
        let status = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line).await.unwrap();
            let trimmed = line.trim_end_matches("\r\n");
            if trimmed.is_empty() {
                break;
            }
            let (name, value) = trimmed.split_once(':').unwrap();
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        let mut response = Self {
            reader,
            status,
            headers,
            after_opening: None,
        };
        let event_stream = response.header("content-type") == Some("text/event-stream")
            && response.header("transfer-encoding") == Some("chunked")
            && response.header("content-encoding").is_none();
        if event_stream {
            // The headers leave with the opening comment, before any event.
            let first = response.next_chunk().await.expect("an opening chunk");
            let rest = first.strip_prefix(OPENING).unwrap_or_else(|| {
                panic!("no opening comment: {:?}", String::from_utf8_lossy(&first))
            });
            response.after_opening = (!rest.is_empty()).then(|| rest.to_vec());
        }
        response
    }

    /// The value of a header (first occurrence), by lower-case name.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    }

    /// The next chunk of a chunked body; `None` at the clean end (the zero-size chunk).
    /// Panics if nothing arrives within [`PATIENCE`] or the connection breaks mid-body.
    pub(crate) async fn next_chunk(&mut self) -> Option<Vec<u8>> {
        if let Some(rest) = self.after_opening.take() {
            return Some(rest);
        }
        tokio::time::timeout(PATIENCE, self.read_chunk())
            .await
            .expect("no chunk within the time limit")
    }

    async fn read_chunk(&mut self) -> Option<Vec<u8>> {
        assert_eq!(self.header("transfer-encoding"), Some("chunked"));
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).await.unwrap();
        assert!(
            n > 0,
            "connection closed before the end of the chunked body"
        );
        let size = usize::from_str_radix(line.trim_end(), 16).unwrap();
        let mut data = vec![0; size + 2];
        self.reader.read_exact(&mut data).await.unwrap();
        assert_eq!(&data[size..], b"\r\n");
        data.truncate(size);
        if size == 0 { None } else { Some(data) }
    }

    /// The next chunk as text.
    pub(crate) async fn next_text(&mut self) -> Option<String> {
        self.next_chunk()
            .await
            .map(|chunk| String::from_utf8(chunk).unwrap())
    }

    /// Everything the server still sends, until it closes the connection.
    pub(crate) async fn rest(&mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        // A reset connection is an acceptable end too.
        let _ = tokio::time::timeout(PATIENCE, self.reader.read_to_end(&mut rest))
            .await
            .expect("the connection stayed open");
        rest
    }

    /// The whole body of a response with `Content-Length`.
    pub(crate) async fn body(&mut self) -> String {
        let len: usize = self.header("content-length").unwrap().parse().unwrap();
        let mut body = vec![0; len];
        tokio::time::timeout(PATIENCE, self.reader.read_exact(&mut body))
            .await
            .unwrap()
            .unwrap();
        String::from_utf8(body).unwrap()
    }
}
