ALTER TABLE users DROP COLUMN scim_view;
