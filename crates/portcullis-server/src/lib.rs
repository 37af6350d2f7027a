//! The Portcullis server.
