-- fincore's PostgreSQL roles in production: run once as a superuser, then after each release's
-- migrations (GRANTs on new tables). psql -v db=fincore -v app_password=... -v owner_password=... -f
--
-- The triggers that keep the audit journal and the ledger append-only stop UPDATE and DELETE, but
-- a table's owner (or a superuser) can disable triggers, and TRUNCATE fires no row trigger. So the
-- running application must neither own the tables nor hold TRUNCATE: web and workers connect as
-- fincore_app; only migrations run as fincore_owner.

CREATE ROLE fincore_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE fincore_app LOGIN PASSWORD :'app_password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
ALTER DATABASE :db OWNER TO fincore_owner;
GRANT CONNECT ON DATABASE :db TO fincore_app;
GRANT USAGE ON SCHEMA public TO fincore_app;

-- Everything the application uses, then less where the books are kept.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO fincore_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO fincore_app;
REVOKE UPDATE, DELETE ON audit_auditevent, audit_auditseal, ledger_transfer, ledger_entry FROM fincore_app;
REVOKE DELETE ON ledger_account FROM fincore_app;

-- Tables later migrations create get the same grants; review new journal-like tables by hand.
ALTER DEFAULT PRIVILEGES FOR ROLE fincore_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO fincore_app;
ALTER DEFAULT PRIVILEGES FOR ROLE fincore_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO fincore_app;
