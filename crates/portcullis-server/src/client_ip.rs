//! The client's address: the peer, unless the peer is a trusted proxy, in which case the
//! nearest `X-Forwarded-For` entry that is not itself a trusted proxy.

use std::net::IpAddr;

use actix_web::HttpRequest;

/// The address a request comes from, given the proxies whose headers are believed.
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    Some(resolve(peer, &forwarded, trusted_proxies))
}

/// Walks `X-Forwarded-For` from the right (nearest hop first) while the hop is trusted.
fn resolve(peer: IpAddr, forwarded: &[&str], trusted: &[IpAddr]) -> IpAddr {
    let mut current = peer;
    for hop in forwarded.iter().rev() {
        if !trusted.contains(&current) {
            break;
        }
        match hop.parse::<IpAddr>() {
            Ok(ip) => current = ip,
            Err(_) => break,
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy = ip("10.0.0.1");
        let check = |peer: &str, xff: &[&str], trusted: &[IpAddr], expected: &str| {
            assert_eq!(
                resolve(ip(peer), xff, trusted),
                ip(expected),
                "{peer} {xff:?}"
            );
        };
        check("203.0.113.5", &[], &[], "203.0.113.5");
        // An untrusted peer cannot claim another address.
        check("203.0.113.5", &["198.51.100.1"], &[], "203.0.113.5");
        check("203.0.113.5", &["198.51.100.1"], &[proxy], "203.0.113.5");
        check("10.0.0.1", &["198.51.100.1"], &[proxy], "198.51.100.1");
        // A client-supplied entry to the left of the real one is ignored.
        check(
            "10.0.0.1",
            &["1.2.3.4", "198.51.100.1"],
            &[proxy],
            "198.51.100.1",
        );
        check("10.0.0.1", &["garbage"], &[proxy], "10.0.0.1");
        check(
            "10.0.0.1",
            &["1.2.3.4", "10.0.0.2"],
            &[proxy, ip("10.0.0.2")],
            "1.2.3.4",
        );
    }
}
