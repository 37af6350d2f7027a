DROP TABLE role_rules;
ALTER TABLE accounts DROP COLUMN provision_only_verified_domains;
