//! The one portable schema, written for both backends: ids are uuid text, times are UTC
//! `Timestamp`s, JSON is text. It must match `migrations/sqlite` and `migrations/postgres`
//! after every migration has run.

diesel::table! {
    server_secrets (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    accounts (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        enforcement -> Text,
        provisioning -> Text,
        api_ip_restrictions -> Text,
        created_at -> Timestamp,
        provision_only_verified_domains -> Bool,
        suspended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        account_id -> Text,
        email -> Text,
        email_lower -> Text,
        display_name -> Text,
        kind -> Text,
        role -> Text,
        active -> Bool,
        password_hash -> Nullable<Text>,
        external_id -> Nullable<Text>,
        origin -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        display_name_lower -> Text,
        scim_json -> Nullable<Text>,
        version -> BigInt,
        scim_view -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        account_id -> Text,
        user_id -> Text,
        method -> Text,
        idp_id -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        logout_hint -> Nullable<Text>,
        logout_subject -> Nullable<Text>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        account_id -> Text,
        owner_id -> Text,
        description -> Text,
        prefix -> Text,
        secret_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        scopes -> Text,
        legacy_full_access -> Bool,
    }
}

diesel::table! {
    identity_providers (id) {
        id -> Text,
        account_id -> Text,
        description -> Text,
        enabled -> Bool,
        protocol -> Text,
        settings -> Text,
        created_at -> Timestamp,
        sp_signing_key -> Nullable<Text>,
        sp_certificate -> Nullable<Text>,
        sp_encryption_keys -> Nullable<Text>,
    }
}

diesel::table! {
    sso_links (idp_id, subject) {
        idp_id -> Text,
        subject -> Text,
        user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    pending_logins (id) {
        id -> Text,
        idp_id -> Text,
        browser_binding -> Text,
        nonce -> Nullable<Text>,
        pkce_verifier -> Nullable<Text>,
        return_to -> Nullable<Text>,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    assertion_replay (idp_id, assertion_id) {
        idp_id -> Text,
        assertion_id -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        account_id -> Text,
        email -> Text,
        email_lower -> Text,
        role -> Text,
        invited_by -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        accepted_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        account_id -> Text,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        target -> Nullable<Text>,
        ip -> Nullable<Text>,
        detail -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    groups (id) {
        id -> Text,
        account_id -> Text,
        display_name -> Text,
        display_name_lower -> Text,
        external_id -> Nullable<Text>,
        scim_json -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    group_members (group_id, user_id) {
        group_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    /// The email domains accounts claim (migration 13).
    account_domains (id) {
        id -> Text,
        account_id -> Text,
        domain -> Text,
        token -> Text,
        verified_at -> Nullable<Timestamp>,
        checked_at -> Nullable<Timestamp>,
        missing_since -> Nullable<Timestamp>,
        sso_required -> Bool,
        idp_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The sign-in debugger's traces (migration 16).
    sign_in_attempts (id) {
        id -> Text,
        account_id -> Text,
        idp_id -> Text,
        protocol -> Text,
        succeeded -> Bool,
        reason -> Text,
        email -> Nullable<Text>,
        steps -> Text,
        response -> Nullable<Text>,
        at -> Timestamp,
    }
}

diesel::table! {
    /// Where an account's events are sent (migration 15).
    webhooks (id) {
        id -> Text,
        account_id -> Text,
        url -> Text,
        events -> Text,
        description -> Text,
        secret -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The outbox: one row per event per webhook, with its attempts (migration 15).
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        account_id -> Text,
        event_type -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        due_since -> Timestamp,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        last_attempt_at -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        attempt_log -> Text,
    }
}

diesel::table! {
    /// Rules that give members a role from their IdP groups (migration 14).
    role_rules (id) {
        id -> Text,
        account_id -> Text,
        source -> Text,
        claim -> Nullable<Text>,
        value -> Text,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Every element of a member's SCIM `emails` (migration 12), for filters.
    user_emails (user_id, position) {
        user_id -> Text,
        position -> Integer,
        account_id -> Text,
        value_key -> Nullable<Text>,
        type_lower -> Nullable<Text>,
        is_primary -> Nullable<Bool>,
    }
}

diesel::table! {
    /// Kept by triggers (migrations 5, 20 and 22): how many people (`kind = 'human'`)
    /// each account has, and how many times one was added or removed, each the sum of
    /// its rows (one per slot; see `member_count`).
    account_member_counts (account_id, slot) {
        account_id -> Text,
        slot -> Integer,
        members -> BigInt,
        changes -> BigInt,
    }
}

diesel::table! {
    /// Kept by triggers (migration 6): moves forward with every change that could alter
    /// an API-key authentication in the account (see `auth_cache.rs`).
    api_auth_epochs (account_id) {
        account_id -> Text,
        epoch -> BigInt,
    }
}

diesel::table! {
    /// What operators did to accounts (migration 18); outlives the accounts it names.
    operator_log (id) {
        id -> Text,
        at -> Timestamp,
        action -> Text,
        account_id -> Text,
        account_slug -> Text,
        detail -> Text,
    }
}

diesel::table! {
    /// Links that open a few settings sections to a customer's IT admin (migration 18).
    setup_links (id) {
        id -> Text,
        account_id -> Text,
        token_hash -> Text,
        sections -> Text,
        idp_id -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(users -> accounts (account_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_keys -> users (owner_id));
diesel::joinable!(sso_links -> users (user_id));
diesel::joinable!(group_members -> groups (group_id));
diesel::joinable!(group_members -> users (user_id));
diesel::joinable!(user_emails -> users (user_id));

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));

diesel::allow_tables_to_appear_in_same_query!(
    server_secrets,
    accounts,
    account_member_counts,
    api_auth_epochs,
    users,
    sessions,
    api_keys,
    identity_providers,
    sso_links,
    pending_logins,
    assertion_replay,
    invitations,
    audit_events,
    groups,
    group_members,
    user_emails,
    account_domains,
    role_rules,
    webhooks,
    webhook_deliveries,
    sign_in_attempts,
    operator_log,
    setup_links,
);
