DROP TABLE account_domains;
