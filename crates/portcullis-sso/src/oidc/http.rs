//! The HTTP client for talking to an OpenID provider: no redirects, no private addresses
//! (unless allowed, for tests and on-premises IdPs), bounded time and body size.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use openidconnect::reqwest;
use openidconnect::{HttpRequest, HttpResponse};
use tracing::Instrument as _;

use crate::{error_chain, SsoError};

/// Where the HTTP client may connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HttpPolicy {
    /// Allow loopback, private, link-local and other non-public addresses (and plain
    /// `http://` to loopback). Off in production: discovery must not become a way to probe
    /// the server's own network.
    pub allow_private_addresses: bool,
}

/// Largest response body read from an IdP.
const MAX_BODY: usize = 1024 * 1024;

/// Why an HTTP request was not made or failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("refused by the HTTP policy: {0}")]
    Refused(String),
    #[error("the identity provider answered with a redirect, which is not followed")]
    Redirect,
    #[error("the response body is over {MAX_BODY} bytes")]
    TooLarge,
    #[error("{0}")]
    Transport(String),
}

/// Whether `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
                || first == 0x0064)
        }
    }
}

/// Resolves names and refuses non-public answers unless allowed. Checking here, where the
/// connection's address is chosen, closes the DNS-rebinding gap a check before the
/// request would leave.
struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private && addrs.iter().any(|a| !is_public(a.ip())) {
                return Err(Box::new(HttpError::Refused(format!(
                    "{host} resolves to a non-public address"
                )))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The guarded client.
pub(crate) struct GuardedClient {
    client: reqwest::Client,
    policy: HttpPolicy,
}

impl GuardedClient {
    pub(crate) fn new(policy: HttpPolicy) -> Result<Self, SsoError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: policy.allow_private_addresses,
            }))
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .map_err(|e| SsoError::Http(e.to_string()))?;
        Ok(Self { client, policy })
    }

    /// Checks a URL against the policy before any connection: scheme, and literal IPs
    /// (which never reach the resolver).
    pub(crate) fn check_url(&self, url: &openidconnect::url::Url) -> Result<(), HttpError> {
        let host = url
            .host()
            .ok_or_else(|| HttpError::Refused("URL without host".into()))?;
        let literal = match host {
            openidconnect::url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            openidconnect::url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            openidconnect::url::Host::Domain(d) if d.eq_ignore_ascii_case("localhost") => {
                Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
            }
            openidconnect::url::Host::Domain(_) => None,
        };
        if let Some(ip) = literal {
            if !self.policy.allow_private_addresses && !is_public(ip) {
                return Err(HttpError::Refused(format!("{ip} is not a public address")));
            }
        }
        match url.scheme() {
            "https" => Ok(()),
            "http"
                if self.policy.allow_private_addresses
                    && literal.is_some_and(|ip| ip.is_loopback()) =>
            {
                Ok(())
            }
            other => Err(HttpError::Refused(format!("scheme {other} is not allowed"))),
        }
    }

    /// Sends `request` (metadata, discovery, JWKS, token) in a `debug` span `idp.http`
    /// naming the method, host and path (never the query, never the body), with the
    /// status the IdP answered.
    pub(crate) async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let url = openidconnect::url::Url::parse(&request.uri().to_string())
            .map_err(|e| HttpError::Refused(e.to_string()))?;
        let span = tracing::debug_span!(
            "idp.http",
            otel.kind = "client",
            http.request.method = %request.method(),
            server.address = url.host_str().unwrap_or_default(),
            url.path = url.path(),
            http.response.status_code = tracing::field::Empty,
        );
        let response = self.send(&url, request).instrument(span.clone()).await?;
        span.record("http.response.status_code", response.status().as_u16());
        Ok(response)
    }

    /// [`GuardedClient::execute`] without the span.
    async fn send(
        &self,
        url: &openidconnect::url::Url,
        request: HttpRequest,
    ) -> Result<HttpResponse, HttpError> {
        self.check_url(url)?;
        let request =
            reqwest::Request::try_from(request).map_err(|e| HttpError::Transport(e.to_string()))?;
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|e| HttpError::Transport(error_chain(&e)))?;
        if response.status().is_redirection() {
            return Err(HttpError::Redirect);
        }
        let mut builder = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| HttpError::Transport(e.to_string()))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(HttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        builder
            .body(body)
            .map_err(|e| HttpError::Transport(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_addresses() {
        for (ip, public) in [
            ("8.8.8.8", true),
            ("2606:4700::1111", true),
            ("127.0.0.1", false),
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("0.0.0.0", false),
            ("::1", false),
            ("fd00::1", false),
            ("fe80::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.0.0.1", false),
        ] {
            assert_eq!(is_public(ip.parse().unwrap()), public, "{ip}");
        }
    }
}
