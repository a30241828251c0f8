// The quarantine index on PostgreSQL: the statements behind Store::record_quarantine,
// list_quarantine and StoreTx::set_quarantine_status (the twin of sqlite_quarantine.hpp).
#pragma once

#include <string_view>
#include <vector>

#include "registry/pg_db.hpp"
#include "registry/quarantine.hpp"

namespace agentgate::registry::pg {

void insert_quarantine(Conn& conn, const QuarantineRecord& record);
std::vector<QuarantineRecord> select_quarantine(Conn& conn, const QuarantineFilter& filter);
bool update_quarantine_status(Conn& conn, std::string_view host, std::string_view queue_id,
                              std::string_view status, std::string_view actor,
                              std::string_view justification, policy::Time at);

}  // namespace agentgate::registry::pg
