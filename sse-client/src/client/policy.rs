//! [`Reconnect`]: whether a stream that ended is sent again, the rule that keeps an LLM
//! completion from being bought twice.

use reqwest::Method;

use crate::error::{DisconnectReason, Error};

/// Whether a subscription sends its request again when the stream ends.
///
/// Set on the builder ([`ClientBuilder::reconnect`](crate::ClientBuilder::reconnect)) or per
/// subscription ([`Subscription::reconnect`](crate::Subscription::reconnect)). By default it
/// follows the request's method: `GET` is [`Always`](Self::Always) (the WHATWG behaviour);
/// every other method is [`OnFailure`](Self::OnFailure), so a `POST` that started paid work
/// is not sent twice.
///
/// Whatever the policy, a `204 No Content` ends the subscription cleanly, an end marker
/// ([`Subscription::until_data`](crate::Subscription::until_data)) too, and
/// [`max_retries`](crate::ClientBuilder::max_retries) bounds the attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reconnect {
    /// Reconnect after a clean end of stream (after the server's `retry`) and after a
    /// failure, with `Last-Event-ID`: the browser's `EventSource`.
    Always,
    /// A clean end of stream ends the subscription. After a failure (connection cut, idle
    /// timeout, incomplete body) the request is sent again with `Last-Event-ID` only when the
    /// stream has an event ID, so the server can resume it; without one the subscription ends
    /// with [`Error::CannotResume`]. A connection that could not be made, or a status retried
    /// by [`retry_server_errors`](crate::ClientBuilder::retry_server_errors), is retried: the
    /// server did not start the work.
    OnFailure,
    /// One request: a clean end ends the subscription, a failure ends it with
    /// [`Error::Disconnected`].
    Never,
}

impl Reconnect {
    /// The default for a request with this method.
    pub(crate) fn for_method(method: &Method) -> Self {
        if method == Method::GET {
            Self::Always
        } else {
            Self::OnFailure
        }
    }

    /// What to do after a stream ended for `reason`. `resumable`: the stream has an event ID
    /// to resume from.
    pub(crate) fn verdict(self, reason: &DisconnectReason, resumable: bool) -> Verdict {
        let clean = matches!(reason, DisconnectReason::EndOfStream);
        match self {
            Self::Always => Verdict::Reconnect,
            Self::OnFailure | Self::Never if clean => Verdict::End,
            Self::OnFailure if resumable || reason.request_not_sent() => Verdict::Reconnect,
            Self::OnFailure => Verdict::CannotResume,
            Self::Never => Verdict::Disconnected,
        }
    }
}

/// What a [`Reconnect`] policy says after a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Send the request again (after the delay, within `max_retries`).
    Reconnect,
    /// End the subscription cleanly.
    End,
    /// End with [`Error::CannotResume`].
    CannotResume,
    /// End with [`Error::Disconnected`].
    Disconnected,
}

impl Verdict {
    /// How the subscription ends for a verdict other than [`Verdict::Reconnect`] (`None`:
    /// cleanly).
    pub(crate) fn ending(self, reason: DisconnectReason) -> Option<Error> {
        match self {
            Self::Reconnect | Self::End => None,
            Self::CannotResume => Some(Error::CannotResume { reason }),
            Self::Disconnected => Some(Error::Disconnected { reason }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_follows_the_method() {
        assert_eq!(Reconnect::for_method(&Method::GET), Reconnect::Always);
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert_eq!(Reconnect::for_method(&method), Reconnect::OnFailure);
        }
    }

    #[test]
    fn a_clean_end_reconnects_only_with_always() {
        let end = DisconnectReason::EndOfStream;
        assert_eq!(Reconnect::Always.verdict(&end, false), Verdict::Reconnect);
        assert_eq!(Reconnect::OnFailure.verdict(&end, true), Verdict::End);
        assert_eq!(Reconnect::Never.verdict(&end, true), Verdict::End);
    }

    #[test]
    fn a_failure_resends_a_non_get_only_when_it_can_resume() {
        let idle = DisconnectReason::IdleTimeout(std::time::Duration::from_secs(1));
        assert_eq!(
            Reconnect::OnFailure.verdict(&idle, true),
            Verdict::Reconnect
        );
        assert_eq!(
            Reconnect::OnFailure.verdict(&idle, false),
            Verdict::CannotResume
        );
        assert!(matches!(
            Verdict::CannotResume.ending(idle),
            Some(Error::CannotResume {
                reason: DisconnectReason::IdleTimeout(_)
            })
        ));
        let refused = DisconnectReason::Status(reqwest::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            Reconnect::OnFailure.verdict(&refused, false),
            Verdict::Reconnect,
            "the server refused the work: sending again repeats nothing"
        );
        let cut = DisconnectReason::IdleTimeout(std::time::Duration::from_secs(1));
        assert_eq!(Reconnect::Never.verdict(&cut, true), Verdict::Disconnected);
    }
}
