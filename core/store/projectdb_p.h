#pragma once
// The private side of ProjectDb, shared by its source files (projectdb.cpp: the
// connection, schema, statement cache and transactions; projectdb_<tables>.cpp: one group
// of tables each). Not part of the engine's API: include it only from those files.

#include "store/projectdb.h"

#include <sqlite3.h>

#include <chrono>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace traclens {
namespace projectdb_detail {

inline int64_t nowMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

inline std::vector<float> blobToFloats(sqlite3_stmt *st, int col)
{
    const void *p = sqlite3_column_blob(st, col);
    const int bytes = sqlite3_column_bytes(st, col);
    std::vector<float> v(size_t(bytes) / sizeof(float));
    if (!v.empty())
        std::memcpy(v.data(), p, v.size() * sizeof(float));
    return v;
}

inline std::string columnText(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? std::string(reinterpret_cast<const char *>(t)) : std::string();
}

// Largest class count and embedding size a model row may claim; beyond these a factor row
// would be gigabytes, so such a value is damage, not a model.
constexpr int64_t kMaxClasses = int64_t(1) << 20;
constexpr int64_t kMaxEmbeddingDim = int64_t(1) << 20;

// Reads the cells of one result row and remembers the first damaged one ("e has 12 bytes,
// expected 40"), so a read function reports it with its table and row key instead of
// handing out a value that indexes past an array or a NULL read as "". A project is a
// file anyone can edit; the schema's NOT NULL and types do not hold for a damaged one.
class RowCheck {
public:
    explicit RowCheck(sqlite3_stmt *st) : m_st(st) {}

    bool ok() const { return m_problem.empty(); }
    const std::string &problem() const { return m_problem; }

    // An INTEGER cell in [lo, hi]; returns lo when it is not.
    int64_t integer(int col, const char *name, int64_t lo, int64_t hi)
    {
        const int type = sqlite3_column_type(m_st, col);
        if (type != SQLITE_INTEGER) {
            fail(std::string(name) + (type == SQLITE_NULL ? " is NULL" : " is not an integer"));
            return lo;
        }
        const int64_t v = sqlite3_column_int64(m_st, col);
        if (v < lo || v > hi) {
            fail(std::string(name) + " is " + std::to_string(v) + ", expected " + std::to_string(lo) + " to "
                 + std::to_string(hi));
            return lo;
        }
        return v;
    }
    int64_t integer(int col, const char *name)
    {
        return integer(col, name, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
    }
    // A label: an index into a list of `count` classes.
    int label(int col, const char *name, int64_t count)
    {
        if (count <= 0) {
            const int64_t v = integer(col, name);
            if (ok())
                fail(std::string(name) + " is " + std::to_string(v) + " but there are no classes");
            return 0;
        }
        return int(integer(col, name, 0, count - 1));
    }
    double number(int col, const char *name)
    {
        const int type = sqlite3_column_type(m_st, col);
        if (type != SQLITE_INTEGER && type != SQLITE_FLOAT) {
            fail(std::string(name) + (type == SQLITE_NULL ? " is NULL" : " is not a number"));
            return 0.0;
        }
        return sqlite3_column_double(m_st, col);
    }
    std::string text(int col, const char *name)
    {
        if (sqlite3_column_type(m_st, col) == SQLITE_NULL) {
            fail(std::string(name) + " is NULL");
            return {};
        }
        return columnText(m_st, col);
    }
    // A blob of floats; `expected` floats when >= 0, any whole number of floats otherwise.
    std::vector<float> floats(int col, const char *name, int64_t expected)
    {
        const int type = sqlite3_column_type(m_st, col);
        if (type == SQLITE_NULL) {
            fail(std::string(name) + " is NULL");
            return {};
        }
        const int64_t bytes = sqlite3_column_bytes(m_st, col);
        if (expected >= 0 && bytes != expected * int64_t(sizeof(float))) {
            fail(std::string(name) + " has " + std::to_string(bytes) + " bytes, expected "
                 + std::to_string(expected * int64_t(sizeof(float))));
            return {};
        }
        if (bytes % int64_t(sizeof(float)) != 0) {
            fail(std::string(name) + " has " + std::to_string(bytes) + " bytes, not a whole number of floats");
            return {};
        }
        return blobToFloats(m_st, col);
    }

private:
    void fail(std::string problem)
    {
        if (m_problem.empty())
            m_problem = std::move(problem);
    }
    sqlite3_stmt *m_st;
    std::string m_problem;
};

// The number of classes, for range checks of labels; -1 when it cannot be read (the
// caller's own query then reports the error).
inline int64_t classCount(sqlite3 *db)
{
    sqlite3_stmt *st = nullptr;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM classes", -1, &st, nullptr) == SQLITE_OK
        && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

// RAII reset so a cached statement is never left mid-step after an early return.
struct StepGuard {
    sqlite3_stmt *st;
    ~StepGuard()
    {
        if (st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
        }
    }
};

} // namespace projectdb_detail

// Steps `st` (bound, reset by the caller's StepGuard) to its end and returns read(st) of
// every row; an error of SQLite names `what`.
template <typename T, typename Read>
Result<std::vector<T>> ProjectDb::collectRows(sqlite3_stmt *st, const char *what, Read read) const
{
    std::vector<T> out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        out.push_back(read(st));
    if (rc != SQLITE_DONE)
        return error(what);
    return out;
}

// collectRows for readers that check their columns: read(st, &problem) leaves `problem`
// empty or sets it (once, for the first damaged row, naming the file, table and row), and
// a damaged row makes the whole read Corruption.
template <typename T, typename Read>
Result<std::vector<T>> ProjectDb::collectCheckedRows(sqlite3_stmt *st, const char *what, Read read) const
{
    std::string problem;
    auto rows = collectRows<T>(st, what, [&](sqlite3_stmt *row) { return read(row, &problem); });
    if (rows.ok() && !problem.empty())
        return Status::corruption(problem);
    return rows;
}

} // namespace traclens
