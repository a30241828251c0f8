// StoreTx on PostgreSQL: the statements a registry transaction runs, on a connection whose
// transaction PgStore opened (write: READ COMMITTED behind the generation row lock; read:
// REPEATABLE READ READ ONLY). Never begins, commits or rolls back itself.
#pragma once

#include "registry/pg_db.hpp"
#include "registry/store.hpp"

namespace agentgate::registry::pg {

class PgTx final : public StoreTx {
 public:
  explicit PgTx(Conn& conn) : conn_(conn) {}

  std::optional<policy::Identity> find_identity(std::string_view id) override;
  std::optional<policy::Identity> find_live_by_inbox(std::string_view inbox) override;
  std::optional<policy::Identity> find_by_inbox(std::string_view inbox) override;
  bool is_agent_name(std::string_view name) override;
  std::optional<std::string> live_identity_for_principal(std::string_view principal) override;
  void put_identity(const policy::Identity& identity) override;
  std::optional<policy::Grant> find_grant(std::string_view id) override;
  void insert_grant(const policy::Grant& grant) override;
  void mark_grant_revoked(const policy::Grant& revoked) override;
  std::optional<AuditRecord> last_audit() override;
  void insert_audit(const AuditRecord& record) override;
  bool set_quarantine_status(std::string_view host, std::string_view queue_id,
                             std::string_view status, std::string_view actor,
                             std::string_view justification, policy::Time at) override;

 private:
  void load_approvals(policy::Identity& identity);

  Conn& conn_;
};

}  // namespace agentgate::registry::pg
