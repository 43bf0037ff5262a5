//! Who is asking: the client's address for throttling and logs. It is the socket's peer unless
//! the peer is a proxy the operator named (LIGHTSYNC_TRUSTED_PROXY); only then is a request
//! header read. Behind lightsync's own front door (`front_door`) the peer is the one the door
//! names, in a header carrying the door's secret. Rocket's own `client_ip()` (which believes `X-Real-IP` from anyone) is never used.
//! Throttling keys IPv6 clients by their /64, the block one subscriber usually holds.

use std::fmt;
use std::net::IpAddr;

use rocket::request::{FromRequest, Outcome, Request};

use super::WebState;
use crate::config::TrustedProxy;

/// The client's address as far as it can be known (`None` for a connection without a peer
/// address, e.g. Rocket's local test client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

/// What the throttle counts failures under: one IPv4 address, one IPv6 /64, or "unknown".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    V4(u32),
    V6Prefix(u64),
    Unknown,
    /// Every client that arrives while the throttle's table is full (see `throttle`).
    Overflow,
}

impl ClientAddr {
    /// The throttle key: IPv4-mapped IPv6 counts as IPv4, other IPv6 by its /64.
    pub fn key(self) -> ClientKey {
        match self.0 {
            None => ClientKey::Unknown,
            Some(IpAddr::V4(v4)) => ClientKey::V4(u32::from(v4)),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(u32::from(v4)),
                None => ClientKey::V6Prefix((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("an unknown address"),
        }
    }
}

/// The client of a request from `peer` carrying `header_values` (every value of the trusted
/// proxy's header, in order). Without a trusted proxy, or from a peer that is not one, the peer
/// is the client. Through the proxy, the client is the rightmost address in the header that is
/// not itself a trusted proxy (the proxy appends the peer it saw; anything left of that came
/// from the client and may be forged). An unreadable header leaves the proxy as the client.
pub fn resolve_client(
    peer: Option<IpAddr>,
    header_values: &[&str],
    proxy: Option<&TrustedProxy>,
) -> Option<IpAddr> {
    let Some(proxy) = proxy else { return peer };
    let through_proxy = peer.is_some_and(|peer| proxy.addresses.contains(&normalize(peer)));
    if !through_proxy {
        return peer;
    }
    let entries = header_values
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty());
    for entry in entries.collect::<Vec<_>>().into_iter().rev() {
        match parse_entry(entry) {
            Some(ip) if proxy.addresses.contains(&ip) => continue,
            Some(ip) => return Some(ip),
            None => return peer,
        }
    }
    peer
}

/// One address of a forwarding header: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or
/// `[2001:db8::1]:443`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .map(normalize)
}

/// IPv4-mapped IPv6 addresses as the IPv4 address they are.
fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientAddr {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        let state = request.rocket().state::<WebState>();
        // Behind the front door the socket's peer is the door; its header names the client.
        let door_peer = state
            .and_then(|state| state.door_secret.as_ref())
            .and_then(|secret| {
                request
                    .headers()
                    .get_one(super::front_door::PEER_HEADER)
                    .and_then(|value| secret.client_in(value))
            });
        let peer = door_peer.or_else(|| request.remote().map(|remote| remote.ip()));
        let proxy = state.and_then(|state| state.trusted_proxy.as_ref());
        let values: Vec<&str> = match proxy {
            Some(proxy) => request.headers().get(&proxy.header).collect(),
            None => Vec::new(),
        };
        Outcome::Success(ClientAddr(resolve_client(peer, &values, proxy)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxy(addresses: &[&str]) -> TrustedProxy {
        TrustedProxy {
            addresses: addresses.iter().map(|a| ip(a)).collect(),
            header: "X-Forwarded-For".into(),
        }
    }

    #[test]
    fn without_a_trusted_proxy_the_peer_is_the_client_whatever_the_headers_say() {
        let peer = Some(ip("198.51.100.7"));
        assert_eq!(resolve_client(peer, &["203.0.113.1"], None), peer);
        let other = proxy(&["127.0.0.1"]);
        assert_eq!(
            resolve_client(peer, &["203.0.113.1"], Some(&other)),
            peer,
            "a peer that is not the proxy cannot name someone else"
        );
        assert_eq!(resolve_client(None, &["203.0.113.1"], Some(&other)), None);
    }

    #[test]
    fn through_the_proxy_the_rightmost_untrusted_address_is_the_client() {
        let trusted = proxy(&["127.0.0.1", "10.0.0.2"]);
        let peer = Some(ip("127.0.0.1"));
        assert_eq!(
            resolve_client(peer, &["203.0.113.9"], Some(&trusted)),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            resolve_client(peer, &["1.1.1.1, 203.0.113.9", "10.0.0.2"], Some(&trusted)),
            Some(ip("203.0.113.9")),
            "the forged leftmost entry is ignored, the chain of proxies skipped"
        );
        assert_eq!(
            resolve_client(peer, &["[2001:db8::5]:443"], Some(&trusted)),
            Some(ip("2001:db8::5"))
        );
        assert_eq!(
            resolve_client(peer, &["::ffff:203.0.113.9"], Some(&trusted)),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(resolve_client(peer, &[], Some(&trusted)), peer);
        assert_eq!(
            resolve_client(peer, &["1.1.1.1, garbage"], Some(&trusted)),
            peer,
            "an unreadable entry leaves the proxy as the client"
        );
    }

    #[test]
    fn ipv6_clients_share_a_key_per_64_and_mapped_ipv4_is_ipv4() {
        let a = ClientAddr(Some(ip("2001:db8:1:2::1"))).key();
        let b = ClientAddr(Some(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))).key();
        let c = ClientAddr(Some(ip("2001:db8:1:3::1"))).key();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            ClientAddr(Some(ip("::ffff:192.0.2.1"))).key(),
            ClientAddr(Some(ip("192.0.2.1"))).key()
        );
        assert_ne!(
            ClientAddr(Some(ip("192.0.2.1"))).key(),
            ClientAddr(Some(ip("192.0.2.2"))).key()
        );
        assert_eq!(ClientAddr(None).key(), ClientKey::Unknown);
    }
}
