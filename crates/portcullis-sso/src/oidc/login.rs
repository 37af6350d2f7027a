//! Discovery, the authorization request and the callback.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IdTokenVerifier,
    IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError, TokenResponse as _,
};
use portcullis_domain::policy::SsoIdentity;
use portcullis_domain::{Email, IdpId, LogoutHint, OidcSettings};
use subtle::ConstantTimeEq;

use super::claims::{Client, Metadata, ALLOWED_ALGS};
use super::http::GuardedClient;
use super::{HttpPolicy, OidcRejection};
use crate::{error_chain, SsoError};

/// What discovery found about an OpenID provider. Cache it with the IdP; discover again
/// when its signing keys rotate.
#[derive(Debug, Clone)]
pub struct ProviderInfo {
    metadata: Metadata,
}

impl ProviderInfo {
    /// The issuer, exactly as configured and as the discovery document states it.
    pub fn issuer(&self) -> &str {
        self.metadata.issuer().as_str()
    }

    /// Whether the provider sends the RFC 9207 `iss` parameter on its authorization
    /// responses; when it does, a callback without it is refused.
    pub fn iss_parameter_supported(&self) -> bool {
        self.metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported
    }

    /// The provider's `end_session_endpoint` (RP-Initiated Logout), when it has one.
    pub fn end_session_endpoint(&self) -> Option<&str> {
        self.metadata
            .additional_metadata()
            .end_session_endpoint
            .as_deref()
    }
}

/// Fetches and validates `{issuer}/.well-known/openid-configuration` and the JWKS it
/// names. The document's `issuer` must equal `issuer` exactly; redirects are not followed
/// and non-public addresses are refused unless `policy` allows them.
pub async fn discover(issuer: &str, policy: &HttpPolicy) -> Result<ProviderInfo, SsoError> {
    let issuer_url = IssuerUrl::new(issuer.to_owned()).map_err(|e| SsoError::InvalidUrl {
        field: "issuer",
        reason: e.to_string(),
    })?;
    let client = GuardedClient::new(*policy)?;
    client
        .check_url(issuer_url.url())
        .map_err(|e| SsoError::Http(e.to_string()))?;
    let http = |request| client.execute(request);
    let metadata = Metadata::discover_async(issuer_url, &http)
        .await
        .map_err(|e| SsoError::Discovery(error_chain(&e)))?;
    Ok(ProviderInfo { metadata })
}

/// Fresh random material for one login attempt: 32 bytes each, from the caller's CSPRNG.
#[derive(Clone)]
pub struct OidcRandom {
    /// For `state`.
    pub state: [u8; 32],
    /// For `nonce`.
    pub nonce: [u8; 32],
    /// For the PKCE code verifier.
    pub pkce_verifier: [u8; 32],
}

/// The authorization request, and what the server must persist for the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcStart {
    /// Where to send the browser.
    pub authorize_url: String,
    /// The `state`: persist it as the attempt's key.
    pub state: String,
    /// The `nonce` expected in the ID token.
    pub nonce: String,
    /// The PKCE verifier (its S256 challenge is in the URL).
    pub pkce_verifier: String,
}

/// A login attempt as the server persisted it (single-use: delete it when loading it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttempt {
    /// The state sent.
    pub state: String,
    /// The nonce sent.
    pub nonce: String,
    /// The PKCE verifier.
    pub pkce_verifier: String,
    /// The IdP the attempt was started at.
    pub idp: IdpId,
}

/// The query parameters of the callback.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackParams {
    /// `code`.
    pub code: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// The RFC 9207 `iss`.
    pub iss: Option<String>,
    /// `error`, when the IdP refused.
    pub error: Option<String>,
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn client(
    provider: &ProviderInfo,
    settings: &OidcSettings,
    redirect_uri: &str,
) -> Result<Client, SsoError> {
    let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| SsoError::InvalidUrl {
        field: "redirect URI",
        reason: e.to_string(),
    })?;
    let secret = (!settings.client_secret.is_empty())
        .then(|| ClientSecret::new(settings.client_secret.clone()));
    Ok(Client::from_provider_metadata(
        provider.metadata.clone(),
        ClientId::new(settings.client_id.clone()),
        secret,
    )
    .set_redirect_uri(redirect))
}

/// Builds the authorization request: code flow, PKCE S256, state, nonce, `openid` plus
/// the configured scopes (`email profile` when none are configured).
pub fn start_login(
    provider: &ProviderInfo,
    settings: &OidcSettings,
    redirect_uri: &str,
    random: &OidcRandom,
) -> Result<OidcStart, SsoError> {
    let client = client(provider, settings, redirect_uri)?;
    let state = b64url(&random.state);
    let nonce = b64url(&random.nonce);
    let pkce_verifier = b64url(&random.pkce_verifier);
    let challenge =
        PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(pkce_verifier.clone()));
    let (state_for_url, nonce_for_url) = (state.clone(), nonce.clone());
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state_for_url),
            move || Nonce::new(nonce_for_url),
        )
        .set_pkce_challenge(challenge);
    let scopes: Vec<&str> = if settings.scopes.is_empty() {
        vec!["email", "profile"]
    } else {
        settings.scopes.iter().map(String::as_str).collect()
    };
    for scope in scopes.into_iter().filter(|s| *s != "openid") {
        request = request.add_scope(Scope::new(scope.to_owned()));
    }
    let (url, _, _) = request.url();
    Ok(OidcStart {
        authorize_url: url.to_string(),
        state,
        nonce,
        pkce_verifier,
    })
}

/// Finishes a login: checks the callback against the stored attempt (state in constant
/// time, RFC 9207 `iss` against this IdP's issuer), redeems the code with the PKCE
/// verifier, and verifies the ID token (asymmetric signature, `iss`, `aud`/`azp`, `exp`
/// with `skew`, `iat` and `nbf` not beyond `now + skew`, `nonce`). An ID token signed with
/// a key the discovered set lacks is verified again with what `refresh_keys` gives: the
/// provider's keys fetched anew, or `None` when the caller may not fetch them now.
///
/// Email: the `email` claim when the IdP marks it `email_verified: true`. An IdP whose
/// settings trust its emails (`trust_unverified_email`) may leave the claim out, and
/// when its `email` is absent an email-shaped `preferred_username`, then `upn`, stand
/// for it (Entra ID sends no `email` for many accounts). `email_verified: false` is
/// refused either way.
#[allow(clippy::too_many_arguments)]
pub async fn finish_login(
    provider: &ProviderInfo,
    settings: &OidcSettings,
    idp: IdpId,
    redirect_uri: &str,
    callback: &CallbackParams,
    stored: &StoredAttempt,
    policy: &HttpPolicy,
    now: DateTime<Utc>,
    skew: Duration,
    refresh_keys: impl AsyncFnOnce() -> Option<ProviderInfo>,
) -> Result<SsoIdentity, OidcRejection> {
    if stored.idp != idp {
        return Err(OidcRejection::WrongIdp);
    }
    if let Some(error) = &callback.error {
        return Err(OidcRejection::IdpError(error.chars().take(200).collect()));
    }
    let (Some(code), Some(state)) = (callback.code.as_deref(), callback.state.as_deref()) else {
        return Err(OidcRejection::MissingParameter);
    };
    if state.is_empty()
        || stored.state.is_empty()
        || !bool::from(state.as_bytes().ct_eq(stored.state.as_bytes()))
    {
        return Err(OidcRejection::StateMismatch);
    }
    // RFC 9207: the issuer this answer comes from must be the issuer this attempt went to.
    match callback.iss.as_deref() {
        Some(iss) if iss != provider.issuer() || iss != settings.issuer => {
            return Err(OidcRejection::IssMismatch)
        }
        Some(_) => {}
        None if provider.iss_parameter_supported() => {
            return Err(OidcRejection::MissingIssParameter)
        }
        None => {}
    }
    if provider.issuer() != settings.issuer {
        return Err(OidcRejection::Configuration(
            "the discovered issuer differs from the configured one".into(),
        ));
    }

    let client = client(provider, settings, redirect_uri)
        .map_err(|e| OidcRejection::Configuration(e.to_string()))?;
    let http_client =
        GuardedClient::new(*policy).map_err(|e| OidcRejection::Configuration(e.to_string()))?;
    let http = |request| http_client.execute(request);
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| OidcRejection::Configuration(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(stored.pkce_verifier.clone()))
        .request_async(&http)
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => {
                OidcRejection::TokenEndpoint(r.error().as_ref().to_owned())
            }
            other => OidcRejection::TokenEndpoint(error_chain(&other)),
        })?;
    let id_token = response.id_token().ok_or(OidcRejection::MissingIdToken)?;

    let verify = |jwks: &ProviderInfo| {
        // A public-client verifier: it holds no client secret, so no HMAC can ever verify.
        let verifier = IdTokenVerifier::new_public_client(
            ClientId::new(settings.client_id.clone()),
            provider.metadata.issuer().clone(),
            jwks.metadata.jwks().clone(),
        )
        .set_allowed_algs(ALLOWED_ALGS)
        .set_time_fn(move || now - skew)
        .set_issue_time_verifier_fn(move |iat| {
            if iat > now + skew {
                Err(IAT_IN_FUTURE.into())
            } else {
                Ok(())
            }
        });
        id_token.claims(&verifier, &Nonce::new(stored.nonce.clone()))
    };
    let claims = match verify(provider) {
        // A key the discovered set does not have: the provider may have rotated its keys
        // since (OIDC Core §10.1.1). Verify again with its keys as published now, when
        // the caller may fetch them (it limits how often).
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => match refresh_keys().await {
            Some(fresh) if fresh.issuer() == provider.issuer() => verify(&fresh),
            _ => Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )),
        },
        other => other,
    }
    .map_err(from_claims_error)?;
    // RFC 7519 §4.1.5: not before `nbf` (with the same clock skew as `iat` and `exp`).
    if claims
        .additional_claims()
        .nbf
        .is_some_and(|nbf| nbf > (now + skew).timestamp() as f64)
    {
        return Err(OidcRejection::NotYetValid);
    }

    // openidconnect checks `azp` only when there are several audiences; OIDC Core 3.1.3.7
    // step 5 says a present `azp` must be this client in every case.
    if claims
        .authorized_party()
        .is_some_and(|azp| azp.as_str() != settings.client_id)
    {
        return Err(OidcRejection::WrongAudience);
    }
    // An email identifies a member only when the IdP vouches for it (`email_verified:
    // true`), or when the admin configured the IdP as one whose addresses are its own
    // (`trust_unverified_email`): then a missing claim is taken as verified and the
    // Entra ID-style fallbacks below apply. `false` is refused either way.
    match (claims.email_verified(), settings.trust_unverified_email) {
        (Some(false), _) | (None, false) => return Err(OidcRejection::EmailNotVerified),
        (Some(true), _) | (None, true) => {}
    }
    let email = match claims.email() {
        Some(email) => Email::parse(email.as_str()).map_err(|_| OidcRejection::InvalidEmail)?,
        // Only a trusted IdP's usernames stand for emails: `email_verified` says nothing
        // about them.
        None if !settings.trust_unverified_email => return Err(OidcRejection::MissingEmail),
        None => claims
            .preferred_username()
            .map(|u| u.as_str().to_owned())
            .into_iter()
            .chain(claims.additional_claims().upn.clone())
            .find_map(|candidate| Email::parse(&candidate).ok())
            .ok_or(OidcRejection::MissingEmail)?,
    };
    let display_name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().trim().to_owned())
        .filter(|n| !n.is_empty())
        .or_else(|| {
            let parts: Vec<String> = [
                claims
                    .given_name()
                    .and_then(|n| n.get(None))
                    .map(|n| n.to_string()),
                claims
                    .family_name()
                    .and_then(|n| n.get(None))
                    .map(|n| n.to_string()),
            ]
            .into_iter()
            .flatten()
            .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        });
    Ok(SsoIdentity {
        idp,
        subject: claims.subject().as_str().to_owned(),
        email,
        display_name,
        transient: false,
        claims: claims.additional_claims().text_values(),
        logout_hint: Some(LogoutHint::Oidc {
            id_token: id_token.to_string(),
        }),
    })
}

const IAT_IN_FUTURE: &str = "issued in the future";

fn from_claims_error(error: ClaimsVerificationError) -> OidcRejection {
    match error {
        // openidconnect reports a refused `iat` as `Expired` with our message.
        ClaimsVerificationError::Expired(message) if message == IAT_IN_FUTURE => {
            OidcRejection::IssuedInFuture
        }
        ClaimsVerificationError::Expired(_) => OidcRejection::Expired,
        ClaimsVerificationError::InvalidAudience(_) => OidcRejection::WrongAudience,
        ClaimsVerificationError::InvalidIssuer(_) => OidcRejection::WrongIssuer,
        ClaimsVerificationError::InvalidNonce(_) => OidcRejection::NonceMismatch,
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::DisallowedAlg(_) | SignatureVerificationError::NoSignature,
        ) => OidcRejection::WeakAlgorithm,
        ClaimsVerificationError::SignatureVerification(_) => OidcRejection::BadSignature,
        other => OidcRejection::InvalidToken(other.to_string()),
    }
}
