//! Portcullis persistence.
