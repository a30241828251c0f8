// The quarantine index on SQLite: the statements behind Store::record_quarantine,
// list_quarantine and StoreTx::set_quarantine_status, kept apart from sqlite_store.cpp.
#pragma once

#include <string_view>
#include <vector>

#include "registry/quarantine.hpp"
#include "registry/sqlite_db.hpp"

namespace agentgate::registry::sqlite {

void insert_quarantine(Db& db, const QuarantineRecord& record);
std::vector<QuarantineRecord> select_quarantine(Db& db, const QuarantineFilter& filter);
bool update_quarantine_status(Db& db, std::string_view host, std::string_view queue_id,
                              std::string_view status, std::string_view actor,
                              std::string_view justification, policy::Time at);

}  // namespace agentgate::registry::sqlite
