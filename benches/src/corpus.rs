//! The byte streams the parsers read, each with what a correct parser finds in it.

/// What a parser saw in a stream: compared between contenders and with the corpus.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Events dispatched.
    pub events: u64,
    /// The sum of the data lengths of those events, in bytes.
    pub data_bytes: u64,
    /// The last event ID of the last event.
    pub last_id: String,
    /// `retry` fields reported.
    pub retries: u64,
}

impl Summary {
    /// Adds one event.
    pub fn event(&mut self, data: &str, last_id: &str) {
        self.events += 1;
        self.data_bytes += data.len() as u64;
        // Compared inline: `!=` on strings calls libc's `memcmp` even for two empty ids, and
        // that call was a third of every parser's time in a profile of the id-less corpus
        // (`perf record … compare --parse-once ours small-json 16384`), the same for each
        // contender, which pulled every ratio toward 1.
        let same = self.last_id.len() == last_id.len()
            && self
                .last_id
                .bytes()
                .zip(last_id.bytes())
                .all(|(a, b)| a == b);
        if !same {
            last_id.clone_into(&mut self.last_id);
        }
    }
}

/// A stream of events as bytes, and what it holds.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// A short name for tables.
    pub name: &'static str,
    /// The stream.
    pub bytes: Vec<u8>,
    /// What a correct parser finds in it.
    pub expected: Summary,
}

/// LLM-style token events of about 100 bytes, each with an id and a type, with a `retry`
/// field in every 1000th, up to about `size` bytes.
///
/// ```
/// let corpus = sse_benches::corpus::token_events(10_000);
/// assert!(corpus.bytes.starts_with(b"id: 0\nevent: token\nretry: 3000\ndata: {"));
/// assert_eq!(corpus.expected.last_id, (corpus.expected.events - 1).to_string());
/// ```
#[must_use]
pub fn token_events(size: usize) -> Corpus {
    const WORDS: [&str; 8] = [
        "The",
        " quick",
        " brown",
        " fox",
        " jumps",
        " over",
        " the",
        " lazy dog.",
    ];
    let mut bytes = Vec::with_capacity(size + 256);
    let mut expected = Summary::default();
    let mut n = 0_u64;
    while bytes.len() < size {
        let data = format!(
            r#"{{"id":"chatcmpl-7f3a","choices":[{{"index":0,"delta":{{"content":"{}"}}}}]}}"#,
            WORDS[(n % 8) as usize]
        );
        let id = n.to_string();
        bytes.extend_from_slice(format!("id: {id}\nevent: token\n").as_bytes());
        if n.is_multiple_of(1000) {
            bytes.extend_from_slice(b"retry: 3000\n");
            expected.retries += 1;
        }
        bytes.extend_from_slice(format!("data: {data}\n\n").as_bytes());
        expected.event(&data, &id);
        n += 1;
    }
    Corpus {
        name: "token events (~100 B)",
        bytes,
        expected,
    }
}

/// Small JSON events of about 100 bytes with no `id` and no `event` field (telemetry, metrics,
/// chat deltas sent as plain `message`s), up to about `size` bytes: each is one `data:` line
/// and the blank line; the values vary so no two lines are alike.
///
/// ```
/// let corpus = sse_benches::corpus::small_json_events(10_000);
/// assert!(corpus.bytes.starts_with(b"data: {\"sensor\":\"temp-0000\""));
/// assert!(corpus.expected.last_id.is_empty());
/// let per_event = corpus.bytes.len() as u64 / corpus.expected.events;
/// assert!((90..=110).contains(&per_event), "{per_event}");
/// ```
#[must_use]
pub fn small_json_events(size: usize) -> Corpus {
    const UNITS: [&str; 4] = ["C", "kPa", "%RH", "lux"];
    let mut bytes = Vec::with_capacity(size + 256);
    let mut expected = Summary::default();
    let mut n = 0_u64;
    while bytes.len() < size {
        let data = format!(
            r#"{{"sensor":"temp-{:04}","site":"plant-3","ts":{},"value":{}.{:02},"unit":"{}","ok":{}}}"#,
            n % 10_000,
            1_700_000_000_000_u64 + n * 37,
            n % 97,
            n % 100,
            UNITS[(n % 4) as usize],
            !n.is_multiple_of(13)
        );
        bytes.extend_from_slice(format!("data: {data}\n\n").as_bytes());
        expected.event(&data, "");
        n += 1;
    }
    Corpus {
        name: "id-less JSON events (~100 B)",
        bytes,
        expected,
    }
}

/// A CRLF stream with everything mixed in, up to about `size` bytes: every line ends in
/// `\r\n`; events of three types (and untyped ones), an `id` on three events in four (the
/// others keep the last one), a comment line in every fifth event, a `retry` in every 200th,
/// and an event of three data lines in every seventh; as a proxy or a server written in
/// another language sends them.
///
/// ```
/// let corpus = sse_benches::corpus::crlf_mixed(10_000);
/// assert!(corpus.bytes.starts_with(b": heartbeat 0\r\nevent: quote\r\nid: 0\r\nretry: 5000\r\n"));
/// assert!(!corpus.bytes.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));
/// assert_eq!(corpus.expected.retries, 1);
/// ```
#[must_use]
pub fn crlf_mixed(size: usize) -> Corpus {
    const TYPES: [&str; 4] = ["quote", "trade", "", "status"];
    let mut bytes = Vec::with_capacity(size + 256);
    let mut expected = Summary::default();
    let mut last_id = String::new();
    let mut n = 0_u64;
    while bytes.len() < size {
        if n.is_multiple_of(5) {
            bytes.extend_from_slice(format!(": heartbeat {n}\r\n").as_bytes());
        }
        let event_type = TYPES[(n % 4) as usize];
        if !event_type.is_empty() {
            bytes.extend_from_slice(format!("event: {event_type}\r\n").as_bytes());
        }
        if n % 4 != 3 {
            last_id = n.to_string();
            bytes.extend_from_slice(format!("id: {last_id}\r\n").as_bytes());
        }
        if n.is_multiple_of(200) {
            bytes.extend_from_slice(b"retry: 5000\r\n");
            expected.retries += 1;
        }
        let lines = if n.is_multiple_of(7) { 3 } else { 1 };
        let mut data = String::new();
        for line in 0..lines {
            let text = format!(
                r#"{{"sym":"AC{}","px":{}.{:02},"qty":{},"part":{line}}}"#,
                n % 26,
                100 + n % 50,
                n % 100,
                n % 1000
            );
            bytes.extend_from_slice(format!("data: {text}\r\n").as_bytes());
            if line > 0 {
                data.push('\n');
            }
            data.push_str(&text);
        }
        bytes.extend_from_slice(b"\r\n");
        expected.event(&data, &last_id);
        n += 1;
    }
    Corpus {
        name: "CRLF, comments, types, ids, retry mixed",
        bytes,
        expected,
    }
}

/// Large JSON events of about 4 KiB, pretty-printed over about 50 `data` lines, each with an
/// id, up to about `size` bytes.
#[must_use]
pub fn large_events(size: usize) -> Corpus {
    let mut bytes = Vec::with_capacity(size + 8192);
    let mut expected = Summary::default();
    let mut n = 0_u64;
    while bytes.len() < size {
        let id = format!("evt-{n}");
        let mut lines = Vec::with_capacity(52);
        lines.push("{".to_owned());
        for field in 0..50 {
            lines.push(format!(
                r#"  "field_{field:02}": {{"value": {}, "label": "a moderately long label for {n}"}},"#,
                n * 50 + field
            ));
        }
        lines.push("}".to_owned());
        bytes.extend_from_slice(format!("event: update\nid: {id}\n").as_bytes());
        for line in &lines {
            bytes.extend_from_slice(b"data: ");
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
        }
        bytes.push(b'\n');
        expected.event(&lines.join("\n"), &id);
        n += 1;
    }
    Corpus {
        name: "large JSON events (~4 KiB)",
        bytes,
        expected,
    }
}

/// One event whose data is a single line of `size` bytes.
#[must_use]
pub fn long_line(size: usize) -> Corpus {
    let data: String = (0..size)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let mut bytes = Vec::with_capacity(size + 32);
    bytes.extend_from_slice(b"id: long\ndata: ");
    bytes.extend_from_slice(data.as_bytes());
    bytes.extend_from_slice(b"\n\n");
    let mut expected = Summary::default();
    expected.event(&data, "long");
    Corpus {
        name: "one long line",
        bytes,
        expected,
    }
}
