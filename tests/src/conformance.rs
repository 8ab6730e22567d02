//! The conformance vectors of `tests/fixtures/conformance.json` (format in
//! `tests/fixtures/CONFORMANCE.md`), loaded once for every test that replays them: the parser's
//! conformance test and `sse-cat -`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// The path of the vector file.
pub const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/conformance.json");

/// One vector: the stream cut into chunks and the records a correct parser produces.
#[derive(Debug, Clone)]
pub struct Case {
    /// Unique slug.
    pub name: String,
    /// What the case checks, in one sentence.
    pub why: String,
    /// The byte chunks, repeat forms expanded and base64 decoded.
    pub chunks: Vec<Vec<u8>>,
    /// The expected records (`{"type","data","last_event_id"}` or `{"retry"}`), in order.
    pub expect: Vec<Value>,
}

impl Case {
    /// All chunks concatenated.
    #[must_use]
    pub fn bytes(&self) -> Vec<u8> {
        self.chunks.concat()
    }
}

/// Loads every case.
///
/// # Panics
///
/// When the file is missing or does not follow format 1: the tests cannot run without it.
#[must_use]
pub fn load_cases() -> Vec<Case> {
    let text = std::fs::read_to_string(PATH).unwrap_or_else(|e| panic!("{PATH}: {e}"));
    let file: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{PATH}: {e}"));
    assert_eq!(file["format"], 1, "{PATH}: unknown format");
    let cases = file["cases"].as_array().expect("`cases` is a list");
    cases
        .iter()
        .map(|case| {
            let (list, base64) = match (case.get("chunks"), case.get("chunks_b64")) {
                (Some(list), None) => (list, false),
                (None, Some(list)) => (list, true),
                _ => panic!(
                    "case {} needs exactly one of chunks / chunks_b64",
                    case["name"]
                ),
            };
            let text = |key: &str| case[key].as_str().expect("a string field").to_owned();
            Case {
                name: text("name"),
                why: text("why"),
                chunks: list
                    .as_array()
                    .expect("chunks are a list")
                    .iter()
                    .map(|c| chunk_bytes(c, base64))
                    .collect(),
                expect: case["expect"]
                    .as_array()
                    .expect("`expect` is a list")
                    .clone(),
            }
        })
        .collect()
}

/// One chunk element: text (UTF-8) or base64, or `{"repeat": unit, "times": n}`.
fn chunk_bytes(element: &Value, base64: bool) -> Vec<u8> {
    let decode = |text: &str| {
        if base64 {
            STANDARD.decode(text).expect("valid base64 chunk")
        } else {
            text.as_bytes().to_vec()
        }
    };
    match element {
        Value::String(text) => decode(text),
        Value::Object(repeat) => {
            let unit = decode(repeat["repeat"].as_str().expect("`repeat` is a string"));
            let times = repeat["times"].as_u64().expect("`times` is a number");
            unit.repeat(usize::try_from(times).expect("`times` fits in memory"))
        }
        other => panic!("bad chunk {other}"),
    }
}
