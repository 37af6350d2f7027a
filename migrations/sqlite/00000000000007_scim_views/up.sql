-- A SCIM member's stored attributes as SCIM shows them (the default projection of
-- `scim_json` without the attributes the server answers from its own columns: id, meta,
-- groups, userName, displayName, active, externalId), written with `scim_json` so that a
-- read copies it instead of working it out again. NULL where it was never written (rows
-- from before this migration, members SCIM never described): readers then work it out
-- from `scim_json`, as before.
ALTER TABLE users ADD COLUMN scim_view TEXT;
