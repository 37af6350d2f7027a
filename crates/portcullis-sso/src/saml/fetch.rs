//! Fetching IdP metadata from its URL, through the same guarded HTTP client OIDC
//! discovery uses: redirects are not followed, non-public addresses are refused unless the
//! policy allows them, and time and size are bounded.

use crate::oidc::http::GuardedClient;
use crate::oidc::HttpPolicy;
use crate::SsoError;

use super::metadata::{parse_idp_metadata, ParsedIdpMetadata, MAX_METADATA};

/// Fetches the metadata at `url` (HTTPS; plain HTTP only to loopback when the policy
/// allows private addresses) and parses it. Returns the XML as fetched with what it says,
/// so the caller can keep the document as its last good copy.
pub async fn fetch_metadata(
    url: &str,
    policy: &HttpPolicy,
) -> Result<(String, ParsedIdpMetadata), SsoError> {
    let parsed_url = openidconnect::url::Url::parse(url).map_err(|e| SsoError::InvalidUrl {
        field: "metadata URL",
        reason: e.to_string(),
    })?;
    let client = GuardedClient::new(*policy)?;
    client
        .check_url(&parsed_url)
        .map_err(|e| SsoError::Http(e.to_string()))?;
    let request = openidconnect::http::Request::builder()
        .method(openidconnect::http::Method::GET)
        .uri(parsed_url.as_str())
        .header(
            "accept",
            "application/samlmetadata+xml, application/xml, text/xml",
        )
        .body(Vec::new())
        .map_err(|e| SsoError::Http(e.to_string()))?;
    let response = client
        .execute(request)
        .await
        .map_err(|e| SsoError::Http(e.to_string()))?;
    if !response.status().is_success() {
        return Err(SsoError::Http(format!(
            "the metadata URL answered {}",
            response.status()
        )));
    }
    let body = response.into_body();
    if body.len() > MAX_METADATA {
        return Err(SsoError::TooLarge {
            limit: MAX_METADATA,
        });
    }
    let xml = String::from_utf8(body)
        .map_err(|_| SsoError::InvalidMetadata("the metadata is not UTF-8".into()))?;
    let parsed = parse_idp_metadata(&xml)?;
    Ok((xml, parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn private_and_plain_http_urls_are_refused_by_default() {
        let policy = HttpPolicy::default();
        for url in [
            "http://127.0.0.1:1/metadata",
            "https://127.0.0.1:1/metadata",
            "https://169.254.169.254/latest",
            "ftp://idp.example.com/m",
            "not a url",
        ] {
            let err = fetch_metadata(url, &policy).await.unwrap_err();
            assert!(
                matches!(err, SsoError::Http(_) | SsoError::InvalidUrl { .. }),
                "{url}: {err:?}"
            );
        }
    }
}
