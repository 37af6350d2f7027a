//! SAML 2.0 and OpenID Connect adapters that turn an identity provider's answer into a
//! verified identity or a precise rejection. Never depends on the store or the server.
