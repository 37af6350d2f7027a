//! A SCIM 2.0 protocol library (RFC 7643, RFC 7644). It knows nothing of Portcullis and
//! must never depend on a web framework, a database or another Portcullis crate: it turns
//! SCIM wire data into checked values and back, and leaves storage and HTTP to its caller.
//!
//! Entry points:
//! - [`filter::Filter::parse`], [`filter::Filter::matches`], [`filter::Filter::fold`]:
//!   filters, their evaluation and their translation.
//! - [`patch::apply`]: PATCH requests, all-or-nothing.
//! - [`resource::prepare`]: a client's body for create or replace, cleaned and checked.
//! - [`projection::project`]: what to return, by `returned` and attributes.
//! - [`render::render`]: a stored resource's JSON text as the default projection shows it.
//! - [`query::ListQuery`], [`list::ListResponse`]: list and search requests and responses.
//! - [`discovery`]: `/Schemas`, `/ResourceTypes` and `/ServiceProviderConfig` documents.
//! - [`bulk`], [`etag`]: Bulk requests and conditional requests.
//! - [`ScimError`]: every error, with its HTTP status and `scimType`.
//!
//! Where Okta or Microsoft Entra ID deviate from the RFCs, this crate follows them and says
//! so in the documentation of the function concerned (look for "leniency" and "deviation").

pub mod error;
pub mod filter;
mod json;
pub mod path;
pub mod schema;

pub use error::{ScimError, ScimType};
pub mod bulk;
mod coerce;
pub mod discovery;
pub mod etag;
pub mod list;
pub mod patch;
pub mod projection;
pub mod query;
pub mod render;
pub mod resource;
pub mod sort;

/// The README's example, run as a doctest so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
