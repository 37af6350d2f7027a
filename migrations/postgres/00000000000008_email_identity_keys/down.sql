-- Back to the keys before this migration: the whole address Unicode lower-cased.
UPDATE users SET
    work_email_lower = CASE WHEN work_email_lower = email_lower THEN lower(email)
                            ELSE work_email_lower END,
    email_lower = lower(email);
UPDATE invitations SET email_lower = lower(email);
