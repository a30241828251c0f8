// The SQLite schema, as migrations applied in order by agentgatectl init. Never edit a published
// migration: append a new one. Version N of a store means migrations 1..N have been applied.
#include "registry/sqlite_schema.hpp"

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
  actions INTEGER NOT NULL,
  principals TEXT NOT NULL,
  targets TEXT NOT NULL,
  accept_from TEXT NOT NULL,
  grant_issuers TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  revocation_trigger TEXT NOT NULL,
  credential_type TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  round INTEGER NOT NULL,
  renewal_expires_at INTEGER,
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
  round INTEGER NOT NULL,
  role TEXT NOT NULL,
  actor TEXT NOT NULL,
  at INTEGER NOT NULL,
  comment TEXT NOT NULL,
  PRIMARY KEY (identity_id, round, role)
);
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY,
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
    R"sql(
CREATE TABLE grants (
  id TEXT PRIMARY KEY,
  identity_id TEXT NOT NULL REFERENCES identities(id),
  task_id TEXT NOT NULL,
  purpose TEXT NOT NULL,
  actions INTEGER NOT NULL,
  targets TEXT NOT NULL,
  public_key TEXT NOT NULL,
  issued_by TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  max_messages INTEGER,
  max_recipients INTEGER,
  revoked INTEGER NOT NULL DEFAULT 0,
  revoked_at INTEGER NOT NULL DEFAULT 0,
  revoked_by TEXT NOT NULL DEFAULT '',
  revoke_reason TEXT NOT NULL DEFAULT '',
  messages_used INTEGER NOT NULL DEFAULT 0,
  recipients_used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX grants_identity ON grants(identity_id);
CREATE INDEX grants_expires ON grants(expires_at);
CREATE TABLE proof_replay (
  jti TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL,
  digest TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX proof_replay_expires ON proof_replay(expires_at);
CREATE TABLE ledger (
  inbox TEXT NOT NULL,
  message_id TEXT NOT NULL,
  participants TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (inbox, message_id)
);
CREATE INDEX ledger_expires ON ledger(expires_at);
)sql",
    // 3: the quarantine index (SOC review)
    R"sql(
CREATE TABLE quarantine (
  mta_host TEXT NOT NULL,
  queue_id TEXT NOT NULL,
  at INTEGER NOT NULL,
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
  acted_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (mta_host, queue_id)
);
CREATE INDEX quarantine_at ON quarantine(at);
CREATE INDEX quarantine_identity ON quarantine(identity);
)sql",
    // 4: every identity write replaces its principals; without this index that was a scan of
    // the whole table (minutes per thousand writes at 10^6 identities)
    R"sql(
CREATE INDEX principals_identity ON principals(identity_id);
)sql",
};

}  // namespace

std::span<const char* const> sqlite_migrations() {
  return kMigrations;
}

}  // namespace agentgate::registry
