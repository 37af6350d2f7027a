//! The rules that give members a role from their IdP groups ([`RoleRule`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use portcullis_domain::{AccountId, RoleRule, RoleRuleId};

use crate::convert::{db_time, parse, utc};
use crate::schema::role_rules;
use crate::{Store, StoreError};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = role_rules)]
struct RoleRuleRow {
    id: String,
    account_id: String,
    source: String,
    claim: Option<String>,
    value: String,
    role: String,
    created_at: NaiveDateTime,
}

impl RoleRuleRow {
    fn from_domain(r: &RoleRule) -> Self {
        Self {
            id: r.id.to_string(),
            account_id: r.account.to_string(),
            source: r.source.as_str().to_owned(),
            claim: r.claim.clone(),
            value: r.value.clone(),
            role: r.role.as_str().to_owned(),
            created_at: db_time(r.created_at),
        }
    }

    fn into_domain(self) -> Result<RoleRule, StoreError> {
        Ok(RoleRule {
            id: parse(&self.id, "role rule id")?,
            account: parse(&self.account_id, "account id")?,
            source: parse(&self.source, "role rule source")?,
            claim: self.claim,
            value: self.value,
            role: parse(&self.role, "role")?,
            created_at: utc(self.created_at),
        })
    }
}

impl Store {
    /// Stores a new rule. One with the same source, claim and value in the account is
    /// `Conflict { what: "role rule" }`.
    pub fn insert_role_rule(&self, rule: &RoleRule) -> Result<(), StoreError> {
        let row = RoleRuleRow::from_domain(rule);
        self.write(|conn| {
            diesel::insert_into(role_rules::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    /// The account's rules, oldest first.
    pub fn role_rules(&self, account: AccountId) -> Result<Vec<RoleRule>, StoreError> {
        let account = account.to_string();
        self.read(|conn| {
            role_rules::table
                .filter(role_rules::account_id.eq(&account))
                .order((role_rules::created_at.asc(), role_rules::id.asc()))
                .select(RoleRuleRow::as_select())
                .load(conn)?
                .into_iter()
                .map(RoleRuleRow::into_domain)
                .collect()
        })
    }

    /// Removes one of the account's rules; `false` when it has no such rule.
    pub fn delete_role_rule(&self, account: AccountId, id: RoleRuleId) -> Result<bool, StoreError> {
        let (account, id) = (account.to_string(), id.to_string());
        self.write(|conn| {
            let n = diesel::delete(
                role_rules::table
                    .filter(role_rules::account_id.eq(&account))
                    .filter(role_rules::id.eq(&id)),
            )
            .execute(conn)?;
            Ok(n > 0)
        })
    }
}
