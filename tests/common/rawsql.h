#pragma once
// For tests that look at or damage a project file behind the engine's back: plain SQLite
// on a connection of their own, as another program would. Header-only; the test target
// links SQLite::SQLite3.

#include <sqlite3.h>

#include <QString>

#include <string>

namespace traclens::testing {

// Runs `sql` (one or more statements); false when SQLite refuses.
inline bool rawExec(const QString &path, const std::string &sql)
{
    sqlite3 *db = nullptr;
    if (sqlite3_open(path.toUtf8().constData(), &db) != SQLITE_OK) {
        sqlite3_close(db);
        return false;
    }
    const bool ok = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
    sqlite3_close(db);
    return ok;
}

// The first column of the first row of `sql` as text; empty when there is none.
inline std::string rawText(const QString &path, const char *sql)
{
    sqlite3 *db = nullptr;
    sqlite3_open(path.toUtf8().constData(), &db);
    sqlite3_stmt *st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW
        && sqlite3_column_text(st, 0))
        out = reinterpret_cast<const char *>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

} // namespace traclens::testing
