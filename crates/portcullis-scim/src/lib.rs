//! A SCIM 2.0 protocol library (RFC 7643, RFC 7644). It knows nothing of Portcullis and
//! must never depend on a web framework, a database or another Portcullis crate.
