-- pg_milter_role.sql: the least-privilege PostgreSQL role agentgated connects as when many MTAs
-- share one store (postgresql:// in [store] url). Run it as the store's owner (the role that ran
-- `agentgatectl init`; agentgatectl keeps connecting as that owner), in the agentgate database,
-- AFTER `agentgatectl init`:
--
--   psql "postgresql://OWNER@HOST/agentgate" -v ON_ERROR_STOP=1 -f pg_milter_role.sql
--
-- What agentgated does with the store, and nothing more:
--   reads     the registry (identities, principals, approvals, grants) and the generation
--             counter / schema version (meta, schema_version);
--   writes    the per-message session state: spent proofs (proof_replay, replay and quota),
--             the received-mail ledger (ledger, for replies), the quarantine index (quarantine);
--   updates   only the quota counters of a grant (grants.messages_used, recipients_used).
-- It can neither change an identity or a grant's status nor touch the audit chain: a
-- compromised MTA host cannot approve, un-revoke or rewrite history.
-- The role has no password here (the e2e cluster trusts loopback); in production add one
-- (ALTER ROLE agentgate_milter PASSWORD '...') or use client certificates, and put the
-- credentials in the daemon's [store] url or ~/.pgpass / PGPASSFILE.
--
-- Used by tests/e2e/scaleout_test.sh (AG_STORE=postgresql); referenced by the docs.

CREATE ROLE agentgate_milter LOGIN;

GRANT CONNECT ON DATABASE agentgate TO agentgate_milter;
GRANT USAGE ON SCHEMA public TO agentgate_milter;

GRANT SELECT ON meta, schema_version, identities, principals, approvals, grants
  TO agentgate_milter;
GRANT SELECT, INSERT, UPDATE, DELETE ON proof_replay, ledger, quarantine TO agentgate_milter;
GRANT UPDATE (messages_used, recipients_used) ON grants TO agentgate_milter;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO agentgate_milter;
