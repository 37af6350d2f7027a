//! Accounts (tenants).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use portcullis_domain::{Account, AccountId, AccountSlug, IpRestrictions, User};

use crate::connection::{concrete, AnyConnection};
use crate::convert::{db_time, db_time_opt, parse, utc, utc_opt};
use crate::schema::{account_member_counts, accounts};
use crate::user::UserRow;
use crate::{Store, StoreError};

/// How many people the account has: the sum of its member-count slots, which triggers
/// keep (migrations 5 and 20; zero when it has none).
pub(crate) fn member_count(conn: &mut AnyConnection, account: &str) -> Result<i64, StoreError> {
    Ok(member_count_and_changes(conn, account)?.0)
}

/// [`member_count`] and how many times a person was added to or removed from the account
/// (migration 22), read together: the second never goes down while the account exists,
/// so two equal readings mean its members were the same in between.
pub(crate) fn member_count_and_changes(
    conn: &mut AnyConnection,
    account: &str,
) -> Result<(i64, i64), StoreError> {
    // The slots' rows, summed here: a typed statement, prepared once per connection
    // (`concrete!`), where SQL's `SUM` (numeric on PostgreSQL, so cast back) needs SQL
    // text of diesel's that it prepares anew on every call; every page reads this twice.
    let slots = account_member_counts::table
        .filter(account_member_counts::account_id.eq(account))
        .select((
            account_member_counts::members,
            account_member_counts::changes,
        ));
    let slots: Vec<(i64, i64)> = concrete!(conn, |c| slots.load(c))?;
    Ok(slots
        .into_iter()
        .fold((0, 0), |(members, changes), (m, c)| {
            (members + m, changes + c)
        }))
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = accounts)]
pub(crate) struct AccountRow {
    id: String,
    slug: String,
    name: String,
    enforcement: String,
    provisioning: String,
    /// JSON array of CIDR strings.
    api_ip_restrictions: String,
    created_at: NaiveDateTime,
    provision_only_verified_domains: bool,
    suspended_at: Option<NaiveDateTime>,
}

impl AccountRow {
    fn from_domain(a: &Account) -> Result<Self, StoreError> {
        let ranges: Vec<String> = a
            .api_ip_restrictions
            .ranges()
            .iter()
            .map(ToString::to_string)
            .collect();
        Ok(Self {
            id: a.id.to_string(),
            slug: a.slug.as_str().to_owned(),
            name: a.name.clone(),
            enforcement: a.enforcement.as_str().to_owned(),
            provisioning: a.provisioning.as_str().to_owned(),
            api_ip_restrictions: serde_json::to_string(&ranges)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            created_at: db_time(a.created_at),
            provision_only_verified_domains: a.provision_only_verified_domains,
            suspended_at: db_time_opt(a.suspended_at),
        })
    }

    pub(crate) fn into_domain(self) -> Result<Account, StoreError> {
        let ranges: Vec<String> = serde_json::from_str(&self.api_ip_restrictions)
            .map_err(|e| StoreError::Corrupt(format!("api_ip_restrictions: {e}")))?;
        Ok(Account {
            id: parse(&self.id, "account id")?,
            slug: AccountSlug::parse(&self.slug).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            name: self.name,
            enforcement: parse(&self.enforcement, "enforcement")?,
            provisioning: parse(&self.provisioning, "provisioning")?,
            api_ip_restrictions: IpRestrictions::parse(&ranges)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            provision_only_verified_domains: self.provision_only_verified_domains,
            created_at: utc(self.created_at),
            suspended_at: utc_opt(self.suspended_at),
        })
    }
}

impl Store {
    /// Creates an account and, when given, its first admin, in one transaction: a
    /// conflicting admin leaves no account behind. A taken slug is
    /// `Conflict { what: "slug" }`.
    pub fn create_account(
        &self,
        account: &Account,
        first_admin: Option<&User>,
    ) -> Result<(), StoreError> {
        let row = AccountRow::from_domain(account)?;
        let admin = first_admin.map(UserRow::from_domain);
        self.write(|conn| {
            diesel::insert_into(accounts::table)
                .values(&row)
                .execute(conn)?;
            if let Some(admin) = admin {
                admin.insert(conn)?;
            }
            Ok(())
        })
    }

    /// The account with this id.
    pub fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.read(|conn| {
            accounts::table
                .find(id.to_string())
                .select(AccountRow::as_select())
                .first(conn)
                .optional()?
                .map(AccountRow::into_domain)
                .transpose()
        })
    }

    /// The account with this slug.
    pub fn account_by_slug(&self, slug: &AccountSlug) -> Result<Option<Account>, StoreError> {
        self.read(|conn| {
            accounts::table
                .filter(accounts::slug.eq(slug.as_str()))
                .select(AccountRow::as_select())
                .first(conn)
                .optional()?
                .map(AccountRow::into_domain)
                .transpose()
        })
    }

    /// Holds the account's row until the transaction this runs in ends, so that decisions
    /// over the account's members taken in concurrent transactions (the last admin) are
    /// taken one after another, each seeing what the one before committed. On PostgreSQL
    /// a `SELECT … FOR UPDATE`; on SQLite nothing more is needed, since a write
    /// transaction takes the database's one write lock when it begins. Outside a
    /// transaction it holds nothing.
    pub fn lock_account(&self, id: AccountId) -> Result<(), StoreError> {
        let id = id.to_string();
        self.read(|conn| match conn {
            AnyConnection::Postgresql(c) => {
                accounts::table
                    .find(&id)
                    .select(accounts::id)
                    .for_update()
                    .load::<String>(c)?;
                Ok(())
            }
            AnyConnection::Sqlite(_) => Ok(()),
        })
    }

    /// How many accounts exist (zero means a first start).
    pub fn count_accounts(&self) -> Result<i64, StoreError> {
        self.read(|conn| Ok(accounts::table.count().get_result(conn)?))
    }

    /// Saves an account's name, enforcement, provisioning mode and its domain rule, and
    /// API IP restrictions (id, slug and creation time never change). `NotFound` when it does not exist.
    pub fn update_account(&self, account: &Account) -> Result<(), StoreError> {
        let row = AccountRow::from_domain(account)?;
        self.write(|conn| {
            let n = diesel::update(accounts::table.find(&row.id))
                .set((
                    accounts::name.eq(&row.name),
                    accounts::enforcement.eq(&row.enforcement),
                    accounts::provisioning.eq(&row.provisioning),
                    accounts::api_ip_restrictions.eq(&row.api_ip_restrictions),
                    accounts::provision_only_verified_domains
                        .eq(row.provision_only_verified_domains),
                ))
                .execute(conn)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
    }
}
