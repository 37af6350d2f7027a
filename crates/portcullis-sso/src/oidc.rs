//! OpenID Connect relying party (placeholder while SAML lands).
