//! The `Host` check against DNS rebinding: [`AllowedHosts`].

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// One more name (and optionally port) clients may use to reach the server, as in
/// `--public-host chat.example.com` or `--public-host chat.example.com:8443`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicHost {
    host: Host,
    port: Option<u16>,
}

impl FromStr for PublicHost {
    type Err = String;

    /// `NAME`, `NAME:PORT`, `IP`, `IP:PORT`, `[IPV6]` or `[IPV6]:PORT`.
    ///
    /// ```
    /// use chat_example::PublicHost;
    ///
    /// assert!("chat.example.com".parse::<PublicHost>().is_ok());
    /// assert!("chat.example.com:8443".parse::<PublicHost>().is_ok());
    /// assert!("[2001:db8::1]:80".parse::<PublicHost>().is_ok());
    /// assert!("https://chat.example.com".parse::<PublicHost>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let authority = Authority::parse(text)
            .ok_or_else(|| format!("{text:?} is not a host name or IP, with an optional :port"))?;
        Ok(PublicHost {
            host: authority.host,
            port: authority.port,
        })
    }
}

/// A host as compared: an IP address, or a lower-case name without a trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Ip(IpAddr),
    Name(String),
}

/// The parts of a `Host` header value.
#[derive(Debug, PartialEq, Eq)]
struct Authority {
    host: Host,
    port: Option<u16>,
}

impl Authority {
    /// `host[:port]`, with an IPv6 address in brackets; `None` for anything else.
    fn parse(text: &str) -> Option<Authority> {
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (ip, after) = rest.split_once(']')?;
            let ip: std::net::Ipv6Addr = ip.parse().ok()?;
            (Host::Ip(IpAddr::V6(ip)), after)
        } else {
            let (host, port) = match text.rsplit_once(':') {
                Some((host, _)) => (host, &text[host.len()..]),
                None => (text, ""),
            };
            (Host::name_or_ipv4(host)?, port)
        };
        let port = match port {
            "" | ":" => None,
            port => Some(port.strip_prefix(':')?.parse().ok()?),
        };
        Some(Authority { host, port })
    }
}

impl Host {
    /// An IPv4 address, or a DNS name (letters, digits, `-`, `_`, `.`).
    fn name_or_ipv4(text: &str) -> Option<Host> {
        if let Ok(ip) = text.parse::<std::net::Ipv4Addr>() {
            return Some(Host::Ip(IpAddr::V4(ip)));
        }
        let name = text.strip_suffix('.').unwrap_or(text);
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        valid.then(|| Host::Name(name.to_ascii_lowercase()))
    }
}

/// The `Host` values this server answers, against DNS rebinding.
///
/// A web page on `attacker.example` can point its own name at 127.0.0.1 and then read this
/// server's answers as same-origin (`/chat/users`, the streams). Its requests still say
/// `Host: attacker.example:8888`, so the server answers only requests whose `Host` (or the
/// authority of an absolute-form request target) is one of its own:
///
/// - the bound address, `IP:PORT` (`[IP]:PORT` for IPv6, compared as addresses);
/// - for a loopback bind (127.0.0.0/8, `::1`): also `localhost:PORT` and any loopback IP
///   with that port (`127.0.0.1:PORT`, `[::1]:PORT`);
/// - for a wildcard bind (`0.0.0.0`, `::`): any IP literal with that port, and
///   `localhost:PORT` (a rebinding attack needs a name, never an IP literal; every name
///   clients use must be listed);
/// - each [`PublicHost`] (`--public-host`): `name` with any port, `name:port` with that port
///   only; names are compared without case and without a trailing dot.
///
/// A `Host` without a port means port 80. Anything else is answered
/// `421 Misdirected Request` with a plain message; a request without a usable `Host` gets 400.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    bound: SocketAddr,
    public: Vec<PublicHost>,
}

impl AllowedHosts {
    /// The hosts of a server listening on `bound` (the listener's real address, so that port
    /// 0 is resolved) plus `public`.
    pub fn new(bound: SocketAddr, public: Vec<PublicHost>) -> AllowedHosts {
        AllowedHosts { bound, public }
    }

    /// Whether a request with this `Host` value is answered.
    ///
    /// ```
    /// use chat_example::AllowedHosts;
    ///
    /// let hosts = AllowedHosts::new("127.0.0.1:8888".parse()?, vec!["chat.example.com".parse()?]);
    /// assert!(hosts.allows("127.0.0.1:8888"));
    /// assert!(hosts.allows("localhost:8888"));
    /// assert!(hosts.allows("chat.example.com"));
    /// assert!(!hosts.allows("attacker.example:8888"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allows(&self, host: &str) -> bool {
        let Some(authority) = Authority::parse(host) else {
            return false;
        };
        let public = self.public.iter().any(|public| {
            public.host == authority.host && public.port.is_none_or(|p| authority.port == Some(p))
        });
        // No port in `Host` is the scheme's default; this server speaks plain HTTP.
        let port_matches = authority.port.unwrap_or(80) == self.bound.port();
        let bound_ip = self.bound.ip();
        let ours = match &authority.host {
            Host::Ip(ip) => {
                *ip == bound_ip
                    || bound_ip.is_unspecified()
                    || (bound_ip.is_loopback() && ip.is_loopback())
            }
            Host::Name(name) => {
                name == "localhost" && (bound_ip.is_loopback() || bound_ip.is_unspecified())
            }
        };
        public || (ours && port_matches)
    }

    /// `router` behind the check: requests for other hosts never reach it.
    pub fn protect(self, router: Router) -> Router {
        router.layer(axum::middleware::from_fn_with_state(
            Arc::new(self),
            check_host,
        ))
    }
}

async fn check_host(
    State(allowed): State<Arc<AllowedHosts>>,
    request: Request,
    next: Next,
) -> Response {
    // An absolute-form target's authority takes precedence over `Host` (RFC 9112, 3.2.2).
    let host = match request.uri().authority() {
        Some(authority) => Some(authority.as_str()),
        None => request
            .headers()
            .get(header::HOST)
            .and_then(|value| value.to_str().ok()),
    };
    match host {
        None => (
            StatusCode::BAD_REQUEST,
            "the request has no usable Host header",
        )
            .into_response(),
        Some(host) if allowed.allows(host) => next.run(request).await,
        Some(host) => (
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "this server does not answer for host {host:?}; \
                 its operator can allow that name with --public-host"
            ),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(bound: &str, public: &[&str]) -> AllowedHosts {
        AllowedHosts::new(
            bound.parse().unwrap(),
            public.iter().map(|p| p.parse().unwrap()).collect(),
        )
    }

    #[test]
    fn a_loopback_bind_answers_its_loopback_names_on_its_port() {
        let hosts = hosts("127.0.0.1:8888", &[]);
        for good in [
            "127.0.0.1:8888",
            "localhost:8888",
            "LOCALHOST:8888",
            "localhost.:8888",
            "[::1]:8888",
            "127.0.0.2:8888",
        ] {
            assert!(hosts.allows(good), "{good}");
        }
        for bad in [
            "attacker.example:8888",
            "127.0.0.1:8889",
            "127.0.0.1",
            "localhost",
            "10.0.0.1:8888",
            "",
            "localhost:8888:1",
            "[::1:8888",
            "local host:8888",
            "localhost:99999",
        ] {
            assert!(!hosts.allows(bad), "{bad}");
        }
    }

    #[test]
    fn a_specific_bind_answers_only_its_address() {
        let hosts = hosts("10.1.2.3:80", &[]);
        assert!(hosts.allows("10.1.2.3"));
        assert!(hosts.allows("10.1.2.3:80"));
        assert!(!hosts.allows("127.0.0.1:80"));
        assert!(!hosts.allows("localhost"));
        let v6 = self::hosts("[2001:db8::1]:8888", &[]);
        assert!(v6.allows("[2001:db8:0::1]:8888"));
        assert!(!v6.allows("[2001:db8::2]:8888"));
    }

    #[test]
    fn a_wildcard_bind_answers_ip_literals_and_localhost_but_no_other_name() {
        let hosts = hosts("0.0.0.0:8888", &[]);
        assert!(hosts.allows("192.168.1.20:8888"));
        assert!(hosts.allows("[fe80::1]:8888"));
        assert!(hosts.allows("localhost:8888"));
        assert!(!hosts.allows("192.168.1.20:9999"));
        assert!(!hosts.allows("myhost.lan:8888"));
    }

    #[test]
    fn public_hosts_match_by_name_and_optionally_port() {
        let hosts = hosts(
            "127.0.0.1:8888",
            &["Chat.Example.com", "other.example:8443"],
        );
        assert!(hosts.allows("chat.example.com"));
        assert!(hosts.allows("chat.example.com:443"));
        assert!(hosts.allows("CHAT.example.com."));
        assert!(hosts.allows("other.example:8443"));
        assert!(!hosts.allows("other.example"));
        assert!(!hosts.allows("other.example:8888"));
        assert!(!hosts.allows("example.com"));
    }

    #[test]
    fn bad_public_hosts_are_refused_with_a_message() {
        for bad in [
            "",
            "http://x",
            "a/b",
            "x:port",
            "[::1",
            "a b",
            ":80",
            "[nothex]:1",
        ] {
            let error = bad.parse::<PublicHost>().unwrap_err();
            assert!(error.contains("is not a host name"), "{bad}: {error}");
        }
    }
}
