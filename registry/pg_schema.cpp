// The PostgreSQL schema: the same migrations as sqlite_schema.cpp, number for number, in
// PostgreSQL's dialect (BIGINT for integers and times), with the same table, column and index
// names and the same CHECKs, so that schema version N means the same thing on both backends.
// PostgreSQL-only objects live in the migration of the same number as the tables they serve.
// Never edit a published migration: append a new one, to both backends.
#include "registry/pg_schema.hpp"

namespace agentgate::registry {
namespace {

const char* const kMigrations[] = {
    R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta(key, value) VALUES ('generation', '0');
CREATE TABLE identities (
  id TEXT PRIMARY KEY,
  inbox TEXT NOT NULL,
  status TEXT NOT NULL,
  purpose TEXT NOT NULL,
  business_owner TEXT NOT NULL,
  system_owner TEXT NOT NULL,
  requester TEXT NOT NULL,
  ig_reviewer TEXT NOT NULL,
  actions BIGINT NOT NULL,
  principals TEXT NOT NULL,
  targets TEXT NOT NULL,
  accept_from TEXT NOT NULL,
  grant_issuers TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  revocation_trigger TEXT NOT NULL,
  credential_type TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  round BIGINT NOT NULL,
  renewal_expires_at BIGINT,
  status_reason TEXT NOT NULL
);
CREATE INDEX identities_inbox ON identities(inbox);
CREATE INDEX identities_expires ON identities(expires_at);
CREATE TABLE principals (
  principal TEXT NOT NULL,
  identity_id TEXT NOT NULL REFERENCES identities(id),
  PRIMARY KEY (principal, identity_id)
);
CREATE TABLE approvals (
  identity_id TEXT NOT NULL REFERENCES identities(id),
  round BIGINT NOT NULL,
  role TEXT NOT NULL,
  actor TEXT NOT NULL,
  at BIGINT NOT NULL,
  comment TEXT NOT NULL,
  PRIMARY KEY (identity_id, round, role)
);
CREATE TABLE audit (
  seq BIGINT PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  os_user TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
)sql",
    // 2: grants and the per-message session state. agentgate_spend_proof is Store::spend_proof
    // in one round trip, with the outcomes of sqlite_store.cpp's spend_in_tx. It claims the jti
    // first: a concurrent spend of the same jti waits on the unique index until this one
    // commits (then sees it: identical retry or replay) or rolls back. The grant's counters
    // change only through one guarded UPDATE, re-checked on the locked row (READ COMMITTED), so
    // two gateways can never both take the last message. A spend the quotas refuse forgets its
    // claim before anyone can see it. Each statement of a VOLATILE function takes a fresh
    // snapshot, so the digest of a jti committed meanwhile is visible to the SELECT.
    R"sql(
CREATE TABLE grants (
  id TEXT PRIMARY KEY,
  identity_id TEXT NOT NULL REFERENCES identities(id),
  task_id TEXT NOT NULL,
  purpose TEXT NOT NULL,
  actions BIGINT NOT NULL,
  targets TEXT NOT NULL,
  public_key TEXT NOT NULL,
  issued_by TEXT NOT NULL,
  issued_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  max_messages BIGINT,
  max_recipients BIGINT,
  revoked BIGINT NOT NULL DEFAULT 0,
  revoked_at BIGINT NOT NULL DEFAULT 0,
  revoked_by TEXT NOT NULL DEFAULT '',
  revoke_reason TEXT NOT NULL DEFAULT '',
  messages_used BIGINT NOT NULL DEFAULT 0,
  recipients_used BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX grants_identity ON grants(identity_id);
CREATE INDEX grants_expires ON grants(expires_at);
CREATE TABLE proof_replay (
  jti TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL,
  digest TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX proof_replay_expires ON proof_replay(expires_at);
CREATE TABLE ledger (
  inbox TEXT NOT NULL,
  message_id TEXT NOT NULL,
  participants TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (inbox, message_id)
);
CREATE INDEX ledger_expires ON ledger(expires_at);
CREATE FUNCTION agentgate_spend_proof(p_jti TEXT, p_grant TEXT, p_digest TEXT,
                                      p_expires_at BIGINT, p_recipients BIGINT)
RETURNS TEXT LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  seen TEXT;
BEGIN
  INSERT INTO proof_replay (jti, grant_id, digest, expires_at)
    VALUES (p_jti, p_grant, p_digest, p_expires_at) ON CONFLICT (jti) DO NOTHING;
  IF NOT FOUND THEN
    SELECT digest INTO seen FROM proof_replay WHERE jti = p_jti;
    RETURN CASE WHEN seen = p_digest THEN 'identical_retry' ELSE 'replayed' END;
  END IF;
  UPDATE grants SET messages_used = messages_used + 1,
                    recipients_used = recipients_used + p_recipients
    WHERE id = p_grant
      AND (max_messages IS NULL OR messages_used < max_messages)
      AND (max_recipients IS NULL OR recipients_used + p_recipients <= max_recipients);
  IF FOUND THEN
    RETURN 'spent';
  END IF;
  DELETE FROM proof_replay WHERE jti = p_jti;
  RETURN CASE WHEN EXISTS (SELECT 1 FROM grants WHERE id = p_grant)
              THEN 'exhausted' ELSE 'unknown_grant' END;
END
$$;
)sql",
    // 3: the quarantine index (SOC review)
    R"sql(
CREATE TABLE quarantine (
  mta_host TEXT NOT NULL,
  queue_id TEXT NOT NULL,
  at BIGINT NOT NULL,
  identity TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  task TEXT NOT NULL,
  mail_from TEXT NOT NULL,
  recipients TEXT NOT NULL,
  header_from TEXT NOT NULL,
  subject TEXT NOT NULL,
  message_id TEXT NOT NULL,
  reasons TEXT NOT NULL,
  event_id TEXT NOT NULL,
  context TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'released', 'deleted')),
  acted_by TEXT NOT NULL DEFAULT '',
  justification TEXT NOT NULL DEFAULT '',
  acted_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (mta_host, queue_id)
);
CREATE INDEX quarantine_at ON quarantine(at);
CREATE INDEX quarantine_identity ON quarantine(identity);
)sql",
    // 4: every identity write replaces its principals (see sqlite_schema.cpp)
    R"sql(
CREATE INDEX principals_identity ON principals(identity_id);
)sql",
};

}  // namespace

std::span<const char* const> pg_migrations() {
  return kMigrations;
}

}  // namespace agentgate::registry
