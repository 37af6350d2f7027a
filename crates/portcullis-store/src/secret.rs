//! Server secrets shared by every replica (the session signing key and the like), sealed
//! with the encryption key like the other secrets Portcullis reads back, so that a copy
//! of the database alone cannot forge a session cookie.

use diesel::prelude::*;

use crate::cipher::{self, is_sealed};
use crate::schema::server_secrets;
use crate::{Store, StoreError};

impl Store {
    /// Returns the secret called `name`, storing `fresh` (sealed) first when there is none
    /// yet. Replicas starting together all get the same value: the primary key decides
    /// which `fresh` wins and every caller reads the winner back. A value stored in clear
    /// by an older release is sealed in place the first time it is read with an
    /// encryption key.
    pub fn get_or_create_secret(&self, name: &str, fresh: String) -> Result<String, StoreError> {
        let cipher = self.cipher.as_ref();
        let sealed = cipher::seal(cipher, &fresh)?;
        self.read(|conn| {
            // Not in a transaction: on PostgreSQL a unique violation would abort it.
            let inserted = diesel::insert_into(server_secrets::table)
                .values((
                    server_secrets::name.eq(name),
                    server_secrets::value.eq(&sealed),
                ))
                .execute(conn)
                .map_err(StoreError::from);
            match inserted {
                Ok(_) | Err(StoreError::Conflict { .. }) => {}
                Err(err) => return Err(err),
            }
            let stored = server_secrets::table
                .find(name)
                .select(server_secrets::value)
                .first::<String>(conn)?;
            let value = cipher::open(cipher, &stored)?;
            if cipher.is_some() && !is_sealed(&stored) {
                // Only while it is still the value in clear that was read: a replica
                // sealing it at the same moment wins or loses as a whole.
                diesel::update(
                    server_secrets::table
                        .find(name)
                        .filter(server_secrets::value.eq(&stored)),
                )
                .set(server_secrets::value.eq(cipher::seal(cipher, &value)?))
                .execute(conn)?;
            }
            Ok(value)
        })
    }
}
