//! Server secrets shared by every replica (the session signing key and the like).

use diesel::prelude::*;

use crate::schema::server_secrets;
use crate::{Store, StoreError};

impl Store {
    /// Returns the secret called `name`, storing `fresh` first when there is none yet.
    /// Replicas starting together all get the same value: the primary key decides which
    /// `fresh` wins and every caller reads the winner back.
    pub fn get_or_create_secret(&self, name: &str, fresh: String) -> Result<String, StoreError> {
        self.read(|conn| {
            // Not in a transaction: on PostgreSQL a unique violation would abort it.
            let inserted = diesel::insert_into(server_secrets::table)
                .values((
                    server_secrets::name.eq(name),
                    server_secrets::value.eq(&fresh),
                ))
                .execute(conn)
                .map_err(StoreError::from);
            match inserted {
                Ok(_) | Err(StoreError::Conflict { .. }) => {}
                Err(err) => return Err(err),
            }
            Ok(server_secrets::table
                .find(name)
                .select(server_secrets::value)
                .first::<String>(conn)?)
        })
    }
}
