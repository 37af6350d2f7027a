-- Email identity keys (portcullis_domain::email): the local part with ASCII letters
-- lower-cased and nothing else changed, the domain in IDNA ASCII form. The keys stored
-- before were Unicode lower-cased, under which look-alikes such as U+212A KELVIN SIGN
-- became ASCII letters. translate() lower-cases ASCII letters only (lower() would follow
-- the database's collation), so this gives every address with an ASCII domain its new
-- key; a member's work email that was their email follows it. Addresses with a
-- non-ASCII domain are re-keyed by the store right after this migration
-- (`migrate::rekey_emails`), which needs IDNA.
-- The new keys only tell apart what the old ones merged, so no two rows can collide.
UPDATE users SET
    email_lower = translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'),
    work_email_lower = CASE WHEN work_email_lower = email_lower
        THEN translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
        ELSE work_email_lower END;
UPDATE invitations SET
    email_lower = translate(email, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');
