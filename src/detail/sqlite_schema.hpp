#pragma once
// The SQLite store's schema: recognising a sked file, creating one, and migrating an older one
// forward.

#include <SQLiteCpp/Database.h>

#include <string>

namespace sked::detail {

/// `PRAGMA application_id` of a sked store ("sked" in ASCII), so that another program's SQLite
/// database is never mistaken for an empty store and altered.
inline constexpr int sqlite_application_id = 0x736b6564;

/// Makes `db` a sked store of `target_version`: creates the schema in an empty file, migrates an
/// older sked schema forward in one transaction, and leaves a current one as it is. Throws
/// `StoreError` naming `path`, without changing the file, when it is not an SQLite database, is
/// some other program's database, or was written by a newer sked. SQLite errors (a locked database)
/// propagate as `SQLite::Exception` for the caller to retry.
/// With `may_change` false, an empty file or an older schema is refused (with `StoreError`)
/// instead.
void prepare_schema(SQLite::Database& db, const std::string& path, int target_version,
                    bool may_change = true);

}  // namespace sked::detail
