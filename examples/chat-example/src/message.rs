//! [`ChatMessage`]: the JSON each chat event carries, and its RFC 3339 timestamp.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Whether a message went to everyone or to one user; also the SSE event name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    /// Sent to every connected user (event `broadcast`).
    Broadcast,
    /// Sent to one user, on all of that user's connections (event `direct`).
    Direct,
}

impl MessageKind {
    /// The SSE event type of the message.
    pub fn event_type(self) -> sse_axum::EventType {
        const BROADCAST: sse_axum::EventType = sse_axum::EventType::from_static("broadcast");
        const DIRECT: sse_axum::EventType = sse_axum::EventType::from_static("direct");
        match self {
            Self::Broadcast => BROADCAST,
            Self::Direct => DIRECT,
        }
    }

    /// The SSE event name and the JSON `Type`: `broadcast` or `direct`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Broadcast => "broadcast",
            Self::Direct => "direct",
        }
    }
}

/// The data of one chat event, serialized with exactly the keys `Type`, `From`, `To`,
/// `Message` and `Timestamp`, in that order.
///
/// ```
/// use chat_example::{ChatMessage, MessageKind};
///
/// let message = ChatMessage {
///     kind: MessageKind::Direct,
///     from: "alice".into(),
///     to: "hertz".into(),
///     message: "hi".into(),
///     timestamp: "2023-04-10T15:48:55.019742+00:00".into(),
/// };
/// assert_eq!(
///     serde_json::to_string(&message)?,
///     r#"{"Type":"direct","From":"alice","To":"hertz","Message":"hi","Timestamp":"2023-04-10T15:48:55.019742+00:00"}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    /// `broadcast` or `direct`.
    #[serde(rename = "Type")]
    pub kind: MessageKind,
    /// The sender's name.
    #[serde(rename = "From")]
    pub from: String,
    /// The recipient's name; empty for a broadcast.
    #[serde(rename = "To")]
    pub to: String,
    /// The text, exactly as sent (newlines and quotes included).
    #[serde(rename = "Message")]
    pub message: String,
    /// When the server accepted the message, RFC 3339 with microseconds and offset.
    #[serde(rename = "Timestamp")]
    pub timestamp: String,
}

/// The current time as RFC 3339 in UTC with microseconds, e.g.
/// `2023-04-10T15:48:55.019742+00:00`.
///
/// UTC (`+00:00`) rather than the local offset: finding the local offset needs the system's
/// time zone database, which is more than an example should carry.
pub fn rfc3339_now() -> String {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339_utc(since_epoch.as_secs(), since_epoch.subsec_micros())
}

/// Formats Unix seconds plus microseconds as RFC 3339 in UTC.
///
/// ```
/// assert_eq!(chat_example::rfc3339_utc(0, 0), "1970-01-01T00:00:00.000000+00:00");
/// assert_eq!(
///     chat_example::rfc3339_utc(1_681_141_735, 19_742),
///     "2023-04-10T15:48:55.019742+00:00"
/// );
/// ```
pub fn rfc3339_utc(unix_seconds: u64, micros: u32) -> String {
    let days = unix_seconds / 86_400;
    let rest = unix_seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}+00:00",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`, for non-negative day counts).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_dates() {
        assert_eq!(
            rfc3339_utc(951_782_400, 1),
            "2000-02-29T00:00:00.000001+00:00"
        );
        assert_eq!(
            rfc3339_utc(4_107_542_399, 999_999),
            "2100-02-28T23:59:59.999999+00:00"
        );
        assert_eq!(
            rfc3339_utc(1_709_251_199, 0),
            "2024-02-29T23:59:59.000000+00:00"
        );
    }

    #[test]
    fn now_has_the_rfc3339_shape() {
        let now = rfc3339_now();
        assert_eq!(now.len(), "2023-04-10T15:48:55.019742+00:00".len());
        assert!(now.ends_with("+00:00"));
        assert_eq!(&now[10..11], "T");
    }
}
