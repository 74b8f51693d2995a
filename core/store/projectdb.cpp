#include "store/projectdb.h"
#include "store/projectlock.h"
#include "store/factors.h"

#include <sqlite3.h>

#include <cctype>
#include <charconv>
#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <limits>
#include <unordered_map>

#include <unistd.h>

namespace fs = std::filesystem;

namespace traclens {

namespace {

int64_t nowMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Schema steps: kMigrations[v] upgrades a version-v file to v+1. Each runs inside the
// open transaction and is followed by a schema_version bump, so a crash mid-upgrade
// leaves the old version intact.
const char *const kMigrations[] = {
    // 0 → 1: the initial schema.
    R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE dataset(
    id INTEGER PRIMARY KEY CHECK (id = 1),
    kind INTEGER NOT NULL, root TEXT NOT NULL, imported_from TEXT NOT NULL);
CREATE TABLE classes(idx INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE examples(
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    split INTEGER NOT NULL,
    given_label INTEGER NOT NULL,
    current_label INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    file_size INTEGER NOT NULL DEFAULT -1,
    file_mtime INTEGER NOT NULL DEFAULT -1,
    removed INTEGER NOT NULL DEFAULT 0,
    review INTEGER NOT NULL DEFAULT 0,
    review_ms INTEGER NOT NULL DEFAULT 0);
CREATE INDEX examples_split ON examples(split, removed);
CREATE TABLE skipped(path TEXT PRIMARY KEY, reason TEXT NOT NULL);
CREATE TABLE label_history(
    id INTEGER PRIMARY KEY,
    example_id INTEGER NOT NULL REFERENCES examples(id),
    old_label INTEGER NOT NULL, new_label INTEGER NOT NULL,
    time_ms INTEGER NOT NULL, origin TEXT NOT NULL);
CREATE INDEX label_history_example ON label_history(example_id);
CREATE TABLE models(
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, directory TEXT NOT NULL,
    num_classes INTEGER NOT NULL, embedding_dim INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL);
CREATE TABLE checkpoints(
    id INTEGER PRIMARY KEY, model_id INTEGER NOT NULL REFERENCES models(id),
    ord INTEGER NOT NULL, file TEXT NOT NULL, learning_rate REAL NOT NULL,
    UNIQUE(model_id, ord));
CREATE TABLE epochs(
    model_id INTEGER NOT NULL, epoch INTEGER NOT NULL, learning_rate REAL NOT NULL,
    train_loss REAL, train_accuracy REAL, test_loss REAL, test_accuracy REAL,
    PRIMARY KEY(model_id, epoch));
CREATE TABLE factors(
    checkpoint_id INTEGER NOT NULL, example_id INTEGER NOT NULL,
    loss REAL NOT NULL, predicted INTEGER NOT NULL, label_used INTEGER NOT NULL,
    e BLOB NOT NULL, h BLOB NOT NULL, probs BLOB NOT NULL,
    PRIMARY KEY(checkpoint_id, example_id)) WITHOUT ROWID;
CREATE TABLE self_influence(
    model_id INTEGER NOT NULL, example_id INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY(model_id, example_id)) WITHOUT ROWID;
CREATE TABLE jobs(
    name TEXT PRIMARY KEY, state TEXT NOT NULL, done INTEGER NOT NULL, total INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL, message TEXT NOT NULL DEFAULT '');
)sql",
    // 1 → 2: clusters of training examples per class (issue #4). A cluster set is one
    // clustering of one class in one space ("tracin" or "embedding") for one model; its
    // fingerprint says which factors and parameters produced it, so a stale set is
    // recomputed instead of shown. Members are ranked by similarity to their centroid,
    // so the first few of each cluster are its representatives (medoids).
    R"sql(
CREATE TABLE cluster_sets(
    id INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES models(id),
    space TEXT NOT NULL,
    class_idx INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    requested_k INTEGER NOT NULL,
    silhouette REAL NOT NULL,
    representatives INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    UNIQUE(model_id, space, class_idx));
CREATE TABLE cluster_members(
    set_id INTEGER NOT NULL REFERENCES cluster_sets(id) ON DELETE CASCADE,
    example_id INTEGER NOT NULL,
    cluster INTEGER NOT NULL,
    rank INTEGER NOT NULL,
    similarity REAL NOT NULL,
    PRIMARY KEY(set_id, example_id)) WITHOUT ROWID;
CREATE INDEX cluster_members_rank ON cluster_members(set_id, cluster, rank);
)sql",
    // 2 → 3: model files as identities and trust. A checkpoint records its file's size,
    // modification time and SHA-256, so compute notices a replaced file instead of mixing
    // factors of two models; older rows read -1/-1/'' and are filled in the first time the
    // file is verified. Model directories outside the project need a trust record before
    // TracLens runs them (TorchScript is code). migrate() also rewrites model paths inside
    // the project relative to it (storeModelPathsRelative), so the project folder moves.
    R"sql(
ALTER TABLE checkpoints ADD COLUMN file_size INTEGER NOT NULL DEFAULT -1;
ALTER TABLE checkpoints ADD COLUMN file_mtime INTEGER NOT NULL DEFAULT -1;
ALTER TABLE checkpoints ADD COLUMN content_hash TEXT NOT NULL DEFAULT '';
CREATE TABLE trusted_model_dirs(
    directory TEXT PRIMARY KEY,
    manifest_hash TEXT NOT NULL,
    token TEXT NOT NULL,
    trusted_ms INTEGER NOT NULL);
)sql",
    // 3 → 4: K-fold cross-validation of the built-in CNN (crossvalidation.h). One run at a
    // time, its id never reused (AUTOINCREMENT), so a cached result can name its run; a fold
    // is finished when its row exists, written in the same transaction as its
    // terms, so a killed run keeps exactly the folds whose terms are complete. Terms hold
    // probabilities and ‖h‖², not scores, so every score follows the current label.
    R"sql(
CREATE TABLE crossval_runs(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    folds INTEGER NOT NULL,
    config_json TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_ms INTEGER NOT NULL);
CREATE TABLE crossval_folds(
    run_id INTEGER NOT NULL REFERENCES crossval_runs(id) ON DELETE CASCADE,
    fold INTEGER NOT NULL,
    learning_rates BLOB NOT NULL,
    finished_ms INTEGER NOT NULL,
    PRIMARY KEY(run_id, fold)) WITHOUT ROWID;
CREATE TABLE crossval_terms(
    run_id INTEGER NOT NULL REFERENCES crossval_runs(id) ON DELETE CASCADE,
    example_id INTEGER NOT NULL,
    checkpoint INTEGER NOT NULL,
    fold INTEGER NOT NULL,
    probs BLOB NOT NULL,
    feature_norm REAL NOT NULL,
    PRIMARY KEY(run_id, example_id, checkpoint)) WITHOUT ROWID;
)sql",
};
// The oldest schema a read-only open reads without upgrading (see open()).
constexpr int kReadableFromVersion = 1;
constexpr int kMigrationCount = int(sizeof(kMigrations) / sizeof(kMigrations[0]));
static_assert(kMigrationCount == kSchemaVersion, "one migration per schema version");

std::vector<float> blobToFloats(sqlite3_stmt *st, int col)
{
    const void *p = sqlite3_column_blob(st, col);
    const int bytes = sqlite3_column_bytes(st, col);
    std::vector<float> v(size_t(bytes) / sizeof(float));
    if (!v.empty())
        std::memcpy(v.data(), p, v.size() * sizeof(float));
    return v;
}

std::string columnText(sqlite3_stmt *st, int col)
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
int64_t classCount(sqlite3 *db)
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

} // namespace

struct ProjectDb::StatementCache {
    std::unordered_map<const char *, sqlite3_stmt *> map;
    ~StatementCache()
    {
        for (auto &kv : map)
            sqlite3_finalize(kv.second);
    }
};

ProjectDb::~ProjectDb()
{
    m_statements.reset();
    if (m_db)
        sqlite3_close_v2(m_db);
    m_lock.reset();
}

std::string ProjectDb::sideDirectory() const
{
    return m_path + ".d";
}

Status ProjectDb::error(const char *what) const
{
    const int code = m_db ? sqlite3_extended_errcode(m_db) : SQLITE_ERROR;
    std::string msg = m_path + ": " + what + ": " + (m_db ? sqlite3_errmsg(m_db) : "no database");
    switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Status::busy(msg + " (is the project open in another TracLens?)");
    case SQLITE_FULL: return Status::ioError(msg + " (disk full?)");
    case SQLITE_READONLY: return Status::ioError(msg + " (the project file is read-only)");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Status::corruption(msg);
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN: return Status::ioError(msg);
    default: return Status::internal(msg);
    }
}

Status ProjectDb::exec(const char *sql)
{
    char *err = nullptr;
    if (sqlite3_exec(m_db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        Status s = error("SQL");
        sqlite3_free(err);
        return s;
    }
    return Status::ok();
}

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

sqlite3_stmt *ProjectDb::prepare(const char *sql, Status *status)
{
    auto it = m_statements->map.find(sql);
    if (it != m_statements->map.end()) {
        sqlite3_reset(it->second);
        sqlite3_clear_bindings(it->second);
        return it->second;
    }
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v3(m_db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK) {
        *status = error("prepare");
        return nullptr;
    }
    m_statements->map.emplace(sql, st);
    return st;
}

Result<std::unique_ptr<ProjectDb>> ProjectDb::open(const std::string &path, OpenMode mode)
{
    std::unique_ptr<ProjectDb> db(new ProjectDb);
    db->m_path = path;
    db->m_statements = std::make_unique<StatementCache>();
    std::error_code ec;
    const bool exists = fs::exists(path, ec);
    if (!exists && mode != OpenMode::Create)
        return Status::notFound(path + ": no such project file");
    if (exists && fs::is_directory(path, ec))
        return Status::invalid(path + ": is a folder, not a TracLens project file");

    // A file we may not write is refused up front with a plain message, instead of the
    // first write failing somewhere in the middle of a job.
    const std::string readOnlyMessage = path + ": the project file is read-only (no write permission); open it "
                                               "read-only or make it writable";
    if (mode != OpenMode::ReadOnly && exists && ::access(path.c_str(), W_OK) != 0
        && (errno == EACCES || errno == EROFS || errno == EPERM))
        return Status::ioError(readOnlyMessage);
    if (mode != OpenMode::ReadOnly) {
        auto lock = ProjectLock::acquire(path);
        if (!lock.ok())
            return lock.status();
        db->m_lock = std::move(*lock);
    }

    int flags = SQLITE_OPEN_NOMUTEX;
    if (mode == OpenMode::ReadOnly) {
        flags |= SQLITE_OPEN_READONLY;
        db->m_readOnly = true;
    } else {
        flags |= SQLITE_OPEN_READWRITE;
        if (mode == OpenMode::Create)
            flags |= SQLITE_OPEN_CREATE;
    }
    if (sqlite3_open_v2(path.c_str(), &db->m_db, flags, nullptr) != SQLITE_OK)
        return db->error("cannot open");
    if (mode != OpenMode::ReadOnly && sqlite3_db_readonly(db->m_db, "main") == 1)
        return Status::ioError(readOnlyMessage);
    sqlite3_busy_timeout(db->m_db, 5000);
    sqlite3_extended_result_codes(db->m_db, 1);

    // Is this a SQLite file at all, and is it ours? Reading the schema forces the
    // header check, so "file is not a database" surfaces here with a clear message.
    sqlite3_stmt *st = nullptr;
    auto readSchema = [&] {
        return sqlite3_prepare_v2(db->m_db, "SELECT count(*) FROM sqlite_master", -1, &st, nullptr) == SQLITE_OK
               && sqlite3_step(st) == SQLITE_ROW;
    };
    bool schemaRead = readSchema();
    if (!schemaRead && db->m_readOnly
        && ((sqlite3_extended_errcode(db->m_db) & 0xff) == SQLITE_READONLY
            || (sqlite3_extended_errcode(db->m_db) & 0xff) == SQLITE_CANTOPEN)) {
        // A WAL project in a folder we may not write: SQLite cannot create the -shm file a
        // reader needs. Nobody can write there either, so the file is opened as immutable.
        sqlite3_finalize(st);
        st = nullptr;
        sqlite3_close_v2(db->m_db);
        db->m_db = nullptr;
        std::string uri = "file:";
        for (unsigned char c : fs::absolute(path, ec).string()) {
            if (std::isalnum(c) || c == '/' || c == '.' || c == '-' || c == '_' || c == '~') {
                uri += char(c);
            } else {
                char hex[4];
                std::snprintf(hex, sizeof hex, "%%%02X", c);
                uri += hex;
            }
        }
        uri += "?immutable=1";
        if (sqlite3_open_v2(uri.c_str(), &db->m_db, flags | SQLITE_OPEN_URI, nullptr) != SQLITE_OK)
            return db->error("cannot open");
        sqlite3_extended_result_codes(db->m_db, 1);
        schemaRead = readSchema();
    }
    if (!schemaRead) {
        sqlite3_finalize(st);
        return Status::invalid(path + ": not a TracLens project (" + sqlite3_errmsg(db->m_db) + ")");
    }
    const int tableCount = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);

    int version = 0;
    if (tableCount > 0) {
        st = nullptr;
        if (sqlite3_prepare_v2(db->m_db, "SELECT value FROM meta WHERE key='schema_version'", -1, &st, nullptr)
                != SQLITE_OK
            || sqlite3_step(st) != SQLITE_ROW) {
            sqlite3_finalize(st);
            return Status::invalid(path + ": a SQLite file but not a TracLens project (no schema version)");
        }
        // A damaged meta row (NULL, text, a huge number) must not reach atoi or stoi.
        const std::string text = columnText(st, 0);
        sqlite3_finalize(st);
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
        if (ec != std::errc() || end != text.data() + text.size() || version < 0)
            return Status::corruption(path + ": meta row 'schema_version': '" + text + "' is not a schema version");
        if (version > kSchemaVersion) {
            return Status::unsupported(path + ": written by a newer TracLens (project schema " + std::to_string(version)
                                       + ", this version reads up to " + std::to_string(kSchemaVersion)
                                       + "); the file was not changed. Update TracLens to open it.");
        }
    } else if (mode != OpenMode::Create) {
        return Status::invalid(path + ": empty file, not a TracLens project");
    }

    if (!db->m_readOnly) {
        // WAL lets the GUI read while the worker writes; NORMAL sync is durable at
        // transaction boundaries in WAL mode except on power loss, which only loses the
        // newest chunk (it is recomputed).
        TL_RETURN_IF_ERROR(db->exec("PRAGMA journal_mode=WAL"));
        TL_RETURN_IF_ERROR(db->exec("PRAGMA synchronous=NORMAL"));
    }
    TL_RETURN_IF_ERROR(db->exec("PRAGMA foreign_keys=ON"));
    TL_RETURN_IF_ERROR(db->exec("PRAGMA cache_size=-65536"));
    db->m_schemaVersion = version;
    if (version < kSchemaVersion) {
        // Steps from kReadableFromVersion on only add tables and columns with defaults, so
        // a read-only open reads an older file as it is instead of refusing it: added
        // tables read as empty, and queries of added columns check schemaVersion().
        if (db->m_readOnly && version < kReadableFromVersion)
            return Status::unsupported(path + ": project schema " + std::to_string(version)
                                       + " needs an upgrade, which a read-only open cannot do");
        if (!db->m_readOnly)
            TL_RETURN_IF_ERROR(db->migrate());
    }
    if (!db->m_readOnly) {
        // Projects written before scores followed labels may hold factors formed with an
        // earlier label; they are brought up to date once, then relabel() keeps them so.
        auto synced = db->meta("factor_labels");
        if (!synced.ok())
            return synced.status();
        if (!synced->has_value() || **synced != "current") {
            auto n = db->syncFactorLabels();
            if (!n.ok())
                return n.status();
            TL_RETURN_IF_ERROR(db->setMeta("factor_labels", "current"));
        }
    }
    return db;
}

Status ProjectDb::migrate()
{
    for (int v = m_schemaVersion; v < kSchemaVersion; ++v) {
        Transaction tx(*this);
        TL_RETURN_IF_ERROR(tx.status());
        TL_RETURN_IF_ERROR(exec(kMigrations[v]).withContext("upgrading schema to " + std::to_string(v + 1)));
        if (v == 2)
            TL_RETURN_IF_ERROR(storeModelPathsRelative().withContext("upgrading schema to 3"));
        const std::string bump = "INSERT OR REPLACE INTO meta(key, value) VALUES('schema_version','"
                                 + std::to_string(v + 1) + "')";
        TL_RETURN_IF_ERROR(exec(bump.c_str()));
        if (v == 0) {
            const std::string created = "INSERT OR REPLACE INTO meta(key, value) VALUES('created_ms','"
                                        + std::to_string(nowMs()) + "')";
            TL_RETURN_IF_ERROR(exec(created.c_str()));
        }
        TL_RETURN_IF_ERROR(tx.commit());
        m_schemaVersion = v + 1;
    }
    return Status::ok();
}

// --- transactions

Status ProjectDb::begin()
{
    if (m_txDepth++ > 0)
        return Status::ok();
    Status s = exec("BEGIN IMMEDIATE");
    if (!s.isOk())
        m_txDepth = 0;
    return s;
}

Status ProjectDb::commitTop()
{
    if (--m_txDepth > 0)
        return Status::ok();
    Status s = exec("COMMIT");
    if (!s.isOk())
        exec("ROLLBACK");
    return s;
}

void ProjectDb::rollbackTop()
{
    // A nested rollback aborts the whole transaction: the outer scope's commit then
    // fails instead of silently committing half the work.
    if (m_txDepth <= 0)
        return;
    m_txDepth = 0;
    exec("ROLLBACK");
}

ProjectDb::Transaction::Transaction(ProjectDb &db) : m_db(db), m_begin(db.begin()) {}

ProjectDb::Transaction::~Transaction()
{
    if (!m_done && m_begin.isOk())
        m_db.rollbackTop();
}

Status ProjectDb::Transaction::commit()
{
    TL_RETURN_IF_ERROR(m_begin);
    m_done = true;
    if (m_db.m_txDepth <= 0)
        return Status::internal(m_db.m_path + ": transaction was rolled back by an inner failure");
    return m_db.commitTop();
}

// --- meta

Status ProjectDb::setMeta(const std::string &key, const std::string &value)
{
    Status s;
    sqlite3_stmt *st = prepare("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_text(st, 1, key.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, value.c_str(), -1, SQLITE_TRANSIENT);
    return sqlite3_step(st) == SQLITE_DONE ? Status::ok() : error("writing meta");
}

Result<std::optional<std::string>> ProjectDb::meta(const std::string &key)
{
    Status s;
    sqlite3_stmt *st = prepare("SELECT value FROM meta WHERE key = ?", &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_text(st, 1, key.c_str(), -1, SQLITE_TRANSIENT);
    const int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return std::optional<std::string>(columnText(st, 0));
    if (rc == SQLITE_DONE)
        return std::optional<std::string>();
    return error("reading meta");
}

// --- dataset

Status ProjectDb::setDataset(const DatasetInfo &info)
{
    Transaction tx(*this);
    TL_RETURN_IF_ERROR(tx.status());
    Status s;
    sqlite3_stmt *st = prepare("INSERT OR REPLACE INTO dataset(id, kind, root, imported_from) VALUES(1, ?, ?, ?)", &s);
    if (!st)
        return s;
    {
        StepGuard g{st};
        sqlite3_bind_int(st, 1, int(info.kind));
        sqlite3_bind_text(st, 2, info.root.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, info.importedFrom.c_str(), -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("writing dataset");
    }
    st = prepare("INSERT OR REPLACE INTO classes(idx, name) VALUES(?, ?)", &s);
    if (!st)
        return s;
    for (size_t i = 0; i < info.classes.size(); ++i) {
        StepGuard g{st};
        sqlite3_bind_int(st, 1, int(i));
        sqlite3_bind_text(st, 2, info.classes[i].c_str(), -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("writing classes");
    }
    st = prepare("DELETE FROM classes WHERE idx >= ?", &s);
    if (!st)
        return s;
    {
        StepGuard g{st};
        sqlite3_bind_int(st, 1, int(info.classes.size()));
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("writing classes");
    }
    return tx.commit();
}

Result<std::optional<DatasetInfo>> ProjectDb::dataset()
{
    Status s;
    sqlite3_stmt *st = prepare("SELECT kind, root, imported_from FROM dataset WHERE id = 1", &s);
    if (!st)
        return s;
    DatasetInfo info;
    {
        StepGuard g{st};
        const int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            return std::optional<DatasetInfo>();
        if (rc != SQLITE_ROW)
            return error("reading dataset");
        RowCheck row(st);
        info.kind = SourceKind(row.integer(0, "kind", int(SourceKind::ImageFolder), int(SourceKind::Idx)));
        info.root = row.text(1, "root");
        info.importedFrom = row.text(2, "imported_from");
        if (!row.ok())
            return Status::corruption(m_path + ": dataset row: " + row.problem());
    }
    auto cls = classes();
    if (!cls.ok())
        return cls.status();
    info.classes = std::move(cls).value();
    return std::optional<DatasetInfo>(std::move(info));
}

Result<std::vector<std::string>> ProjectDb::classes()
{
    Status s;
    sqlite3_stmt *st = prepare("SELECT idx, name FROM classes ORDER BY idx", &s);
    if (!st)
        return s;
    StepGuard g{st};
    std::vector<std::string> out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        RowCheck row(st);
        // Labels index this list, so its indices must run 0, 1, 2, … without a gap.
        const int64_t idx = row.integer(0, "idx");
        std::string name = row.text(1, "name");
        const std::string key = m_path + ": classes row " + columnText(st, 0) + ": ";
        if (!row.ok())
            return Status::corruption(key + row.problem());
        if (idx != int64_t(out.size()))
            return Status::corruption(key + "idx is " + std::to_string(idx) + ", expected " + std::to_string(out.size())
                                      + " (class indices run 0, 1, 2, … without a gap)");
        out.push_back(std::move(name));
    }
    if (rc != SQLITE_DONE)
        return error("reading classes");
    return out;
}

Result<int64_t> ProjectDb::upsertExample(const ScannedExample &ex, const std::string &hash)
{
    // The label a user corrected survives a re-import: only the given label is refreshed,
    // and the current label follows it only while the example has no history.
    Status s;
    sqlite3_stmt *st = prepare(R"sql(
        INSERT INTO examples(source, split, given_label, current_label, content_hash, file_size, file_mtime, removed)
        VALUES(?1, ?2, ?3, ?3, ?4, ?5, ?6, 0)
        ON CONFLICT(source) DO UPDATE SET
            split = excluded.split,
            current_label = CASE WHEN EXISTS(SELECT 1 FROM label_history h WHERE h.example_id = examples.id)
                                 THEN examples.current_label ELSE excluded.given_label END,
            given_label = excluded.given_label,
            content_hash = excluded.content_hash,
            file_size = excluded.file_size, file_mtime = excluded.file_mtime, removed = 0
        RETURNING id)sql",
                               &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_text(st, 1, ex.source.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, int(ex.split));
    sqlite3_bind_int(st, 3, ex.label);
    sqlite3_bind_text(st, 4, hash.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, ex.fileSize);
    sqlite3_bind_int64(st, 6, ex.fileMtime);
    if (sqlite3_step(st) != SQLITE_ROW)
        return error(("writing example " + ex.source).c_str());
    return int64_t(sqlite3_column_int64(st, 0));
}

Status ProjectDb::removeExamplesExcept(const std::vector<int64_t> &keepIds)
{
    Transaction tx(*this);
    TL_RETURN_IF_ERROR(tx.status());
    TL_RETURN_IF_ERROR(exec("CREATE TEMP TABLE IF NOT EXISTS keep_ids(id INTEGER PRIMARY KEY)"));
    TL_RETURN_IF_ERROR(exec("DELETE FROM temp.keep_ids"));
    Status s;
    sqlite3_stmt *st = prepare("INSERT OR IGNORE INTO temp.keep_ids(id) VALUES(?)", &s);
    if (!st)
        return s;
    for (int64_t id : keepIds) {
        StepGuard g{st};
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("marking removed examples");
    }
    TL_RETURN_IF_ERROR(exec("UPDATE examples SET removed = 1 WHERE id NOT IN (SELECT id FROM temp.keep_ids)"));
    TL_RETURN_IF_ERROR(exec("DELETE FROM temp.keep_ids"));
    return tx.commit();
}

Status ProjectDb::replaceSkipped(const std::vector<SkippedFile> &skipped)
{
    Transaction tx(*this);
    TL_RETURN_IF_ERROR(tx.status());
    TL_RETURN_IF_ERROR(exec("DELETE FROM skipped"));
    Status s;
    sqlite3_stmt *st = prepare("INSERT OR REPLACE INTO skipped(path, reason) VALUES(?, ?)", &s);
    if (!st)
        return s;
    for (const auto &f : skipped) {
        StepGuard g{st};
        sqlite3_bind_text(st, 1, f.path.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, f.reason.c_str(), -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("writing skipped files");
    }
    return tx.commit();
}

Result<std::vector<SkippedFile>> ProjectDb::skipped()
{
    Status s;
    sqlite3_stmt *st = prepare("SELECT path, reason FROM skipped ORDER BY path", &s);
    if (!st)
        return s;
    StepGuard g{st};
    return collectRows<SkippedFile>(st, "reading skipped files", [](sqlite3_stmt *row) {
        return SkippedFile{columnText(row, 0), columnText(row, 1)};
    });
}

namespace {
constexpr const char *kExampleColumns =
    "id, source, split, given_label, current_label, content_hash, file_size, file_mtime, review";

// One examples row; labels are checked against `classes` (the class count). The first
// damaged cell goes to *problem as "<project>: examples row <id>: …" when it is empty.
ExampleRow readExample(sqlite3_stmt *st, int64_t classes, const std::string &project, std::string *problem)
{
    RowCheck row(st);
    ExampleRow r;
    r.id = row.integer(0, "id");
    r.source = row.text(1, "source");
    r.split = Split(row.integer(2, "split", int(Split::Train), int(Split::Test)));
    r.givenLabel = row.label(3, "given_label", classes);
    r.currentLabel = row.label(4, "current_label", classes);
    r.contentHash = row.text(5, "content_hash");
    r.fileSize = row.integer(6, "file_size");
    r.fileMtime = row.integer(7, "file_mtime");
    r.review = ReviewState(row.integer(8, "review", int(ReviewState::None), int(ReviewState::Skipped)));
    if (!row.ok() && problem->empty())
        *problem = project + ": examples row " + columnText(st, 0) + ": " + row.problem();
    return r;
}
} // namespace

Result<std::vector<ExampleRow>> ProjectDb::examples(std::optional<Split> split)
{
    static const std::string all = std::string("SELECT ") + kExampleColumns + " FROM examples WHERE removed = 0 ORDER BY id";
    static const std::string bySplit = std::string("SELECT ") + kExampleColumns
                                       + " FROM examples WHERE removed = 0 AND split = ? ORDER BY id";
    Status s;
    sqlite3_stmt *st = prepare(split ? bySplit.c_str() : all.c_str(), &s);
    if (!st)
        return s;
    StepGuard g{st};
    if (split)
        sqlite3_bind_int(st, 1, int(*split));
    const int64_t classes = classCount(m_db);
    std::string problem;
    auto rows = collectRows<ExampleRow>(st, "reading examples",
                                        [&](sqlite3_stmt *row) { return readExample(row, classes, m_path, &problem); });
    if (rows.ok() && !problem.empty())
        return Status::corruption(problem);
    return rows;
}

Result<ExampleRow> ProjectDb::example(int64_t id)
{
    static const std::string sql = std::string("SELECT ") + kExampleColumns + " FROM examples WHERE id = ?";
    Status s;
    sqlite3_stmt *st = prepare(sql.c_str(), &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_int64(st, 1, id);
    const int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        std::string problem;
        ExampleRow row = readExample(st, classCount(m_db), m_path, &problem);
        if (!problem.empty())
            return Status::corruption(problem);
        return row;
    }
    if (rc == SQLITE_DONE)
        return Status::notFound(m_path + ": no example with id " + std::to_string(id));
    return error("reading example");
}

Result<int64_t> ProjectDb::exampleCount(std::optional<Split> split)
{
    Status s;
    sqlite3_stmt *st = prepare(split ? "SELECT count(*) FROM examples WHERE removed = 0 AND split = ?"
                                     : "SELECT count(*) FROM examples WHERE removed = 0",
                               &s);
    if (!st)
        return s;
    StepGuard g{st};
    if (split)
        sqlite3_bind_int(st, 1, int(*split));
    if (sqlite3_step(st) != SQLITE_ROW)
        return error("counting examples");
    return int64_t(sqlite3_column_int64(st, 0));
}

// --- labels and review

Result<LabelChange> ProjectDb::relabel(int64_t exampleId, int newLabel, const std::string &origin)
{
    auto cls = classes();
    if (!cls.ok())
        return cls.status();
    if (newLabel < 0 || newLabel >= int(cls->size()))
        return Status::invalid(m_path + ": label " + std::to_string(newLabel) + " is not a class of this project (0–"
                               + std::to_string(int(cls->size()) - 1) + ")");
    Transaction tx(*this);
    TL_RETURN_IF_ERROR(tx.status());
    auto ex = example(exampleId);
    if (!ex.ok())
        return ex.status();
    LabelChange change;
    change.exampleId = exampleId;
    change.oldLabel = ex->currentLabel;
    change.newLabel = newLabel;
    change.timeMs = nowMs();
    change.origin = origin;
    if (change.oldLabel == newLabel)
        return change;
    Status s;
    sqlite3_stmt *st = prepare(
        "INSERT INTO label_history(example_id, old_label, new_label, time_ms, origin) VALUES(?, ?, ?, ?, ?)", &s);
    if (!st)
        return s;
    {
        StepGuard g{st};
        sqlite3_bind_int64(st, 1, exampleId);
        sqlite3_bind_int(st, 2, change.oldLabel);
        sqlite3_bind_int(st, 3, newLabel);
        sqlite3_bind_int64(st, 4, change.timeMs);
        sqlite3_bind_text(st, 5, origin.c_str(), -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("writing label history");
        change.id = sqlite3_last_insert_rowid(m_db);
    }
    st = prepare("UPDATE examples SET current_label = ? WHERE id = ?", &s);
    if (!st)
        return s;
    {
        StepGuard g{st};
        sqlite3_bind_int(st, 1, newLabel);
        sqlite3_bind_int64(st, 2, exampleId);
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("updating label");
    }
    TL_RETURN_IF_ERROR(refreshFactorLabels(exampleId, newLabel));
    TL_RETURN_IF_ERROR(tx.commit());
    return change;
}

Status ProjectDb::refreshFactorLabels(int64_t exampleId, int label)
{
    // Per checkpoint (models and checkpoints in training order): the factor row formed
    // again with `label`, and each model's self-influence summed in the same order as
    // computeSelfInfluence(), so the result is bit-identical to a computation from scratch.
    Status s;
    sqlite3_stmt *st = prepare(R"sql(SELECT f.checkpoint_id, c.model_id, c.learning_rate, f.probs, f.h
        FROM factors f JOIN checkpoints c ON c.id = f.checkpoint_id
        WHERE f.example_id = ? ORDER BY c.model_id, c.ord)sql",
                               &s);
    if (!st)
        return s;
    struct Row {
        int64_t checkpoint, model;
        double eta;
        std::vector<float> probs, h;
    };
    std::vector<Row> rows;
    {
        StepGuard g{st};
        sqlite3_bind_int64(st, 1, exampleId);
        auto read = collectRows<Row>(st, "reading factors", [](sqlite3_stmt *row) {
            return Row{sqlite3_column_int64(row, 0), sqlite3_column_int64(row, 1), sqlite3_column_double(row, 2),
                       blobToFloats(row, 3), blobToFloats(row, 4)};
        });
        if (!read.ok())
            return read.status();
        rows = std::move(read).value();
    }
    if (rows.empty())
        return Status::ok();
    sqlite3_stmt *up = prepare("UPDATE factors SET e = ?, loss = ?, label_used = ? WHERE checkpoint_id = ? AND example_id = ?", &s);
    if (!up)
        return s;
    std::vector<std::pair<int64_t, double>> selfByModel;
    std::vector<float> e;
    for (const Row &r : rows) {
        const int k = int(r.probs.size());
        if (label < 0 || label >= k)
            return Status::corruption(m_path + ": factors row (checkpoint " + std::to_string(r.checkpoint) + ", example "
                                      + std::to_string(exampleId) + ") has " + std::to_string(k)
                                      + " probabilities, too few for label " + std::to_string(label));
        e.assign(size_t(k), 0.0f);
        float loss = 0.0f;
        relabelFactorRow(r.probs.data(), k, label, e.data(), &loss);
        {
            StepGuard g{up};
            sqlite3_bind_blob(up, 1, e.data(), int(e.size() * sizeof(float)), SQLITE_STATIC);
            sqlite3_bind_double(up, 2, loss);
            sqlite3_bind_int(up, 3, label);
            sqlite3_bind_int64(up, 4, r.checkpoint);
            sqlite3_bind_int64(up, 5, exampleId);
            if (sqlite3_step(up) != SQLITE_DONE)
                return error("updating factors");
        }
        if (selfByModel.empty() || selfByModel.back().first != r.model)
            selfByModel.emplace_back(r.model, 0.0);
        const double e2 = dot(e.data(), e.data(), k);
        const double h2 = dot(r.h.data(), r.h.data(), int(r.h.size()));
        selfByModel.back().second += r.eta * e2 * (h2 + 1.0);
    }
    // Only models whose self-influence was stored (complete factors) get a new value.
    sqlite3_stmt *self = prepare("UPDATE self_influence SET value = ? WHERE model_id = ? AND example_id = ?", &s);
    if (!self)
        return s;
    for (const auto &[model, value] : selfByModel) {
        StepGuard g{self};
        sqlite3_bind_double(self, 1, value);
        sqlite3_bind_int64(self, 2, model);
        sqlite3_bind_int64(self, 3, exampleId);
        if (sqlite3_step(self) != SQLITE_DONE)
            return error("updating self-influence");
    }
    return Status::ok();
}

Result<int64_t> ProjectDb::syncFactorLabels()
{
    Status s;
    sqlite3_stmt *st = prepare(R"sql(SELECT DISTINCT e.id, e.current_label FROM factors f
        JOIN examples e ON e.id = f.example_id WHERE f.label_used != e.current_label ORDER BY e.id)sql",
                               &s);
    if (!st)
        return s;
    std::vector<std::pair<int64_t, int>> stale;
    {
        StepGuard g{st};
        auto read = collectRows<std::pair<int64_t, int>>(st, "reading factor labels", [](sqlite3_stmt *row) {
            return std::make_pair(int64_t(sqlite3_column_int64(row, 0)), sqlite3_column_int(row, 1));
        });
        if (!read.ok())
            return read.status();
        stale = std::move(read).value();
    }
    if (stale.empty())
        return int64_t(0);
    Transaction tx(*this);
    TL_RETURN_IF_ERROR(tx.status());
    for (const auto &[id, label] : stale)
        TL_RETURN_IF_ERROR(refreshFactorLabels(id, label));
    TL_RETURN_IF_ERROR(tx.commit());
    return int64_t(stale.size());
}

Result<std::vector<std::pair<int64_t, int>>> ProjectDb::labelsChangedSince(int64_t modelId)
{
    auto m = model(modelId);
    if (!m.ok())
        return m.status();
    Status s;
    // The first change after the model was added holds the label the example had then.
    sqlite3_stmt *st = prepare(R"sql(SELECT h.example_id, h.old_label, e.current_label FROM label_history h
        JOIN examples e ON e.id = h.example_id
        WHERE h.time_ms >= ? AND e.removed = 0 ORDER BY h.example_id, h.id)sql",
                               &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_int64(st, 1, m->createdMs);
    std::vector<std::pair<int64_t, int>> out;
    int64_t last = -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const int64_t id = sqlite3_column_int64(st, 0);
        if (id == last)
            continue;
        last = id;
        const int then = sqlite3_column_int(st, 1);
        if (then != sqlite3_column_int(st, 2))
            out.emplace_back(id, then);
    }
    if (rc != SQLITE_DONE)
        return error("reading label history");
    return out;
}

Result<std::vector<LabelChange>> ProjectDb::labelHistory(std::optional<int64_t> exampleId)
{
    Status s;
    sqlite3_stmt *st = prepare(
        exampleId ? "SELECT id, example_id, old_label, new_label, time_ms, origin FROM label_history WHERE example_id = ? ORDER BY id"
                  : "SELECT id, example_id, old_label, new_label, time_ms, origin FROM label_history ORDER BY id",
        &s);
    if (!st)
        return s;
    StepGuard g{st};
    if (exampleId)
        sqlite3_bind_int64(st, 1, *exampleId);
    const int64_t classes = classCount(m_db);
    std::string problem;
    auto rows = collectRows<LabelChange>(st, "reading label history", [&](sqlite3_stmt *r) {
        RowCheck row(r);
        LabelChange c;
        c.id = row.integer(0, "id");
        c.exampleId = row.integer(1, "example_id");
        c.oldLabel = row.label(2, "old_label", classes);
        c.newLabel = row.label(3, "new_label", classes);
        c.timeMs = row.integer(4, "time_ms");
        c.origin = row.text(5, "origin");
        if (!row.ok() && problem.empty())
            problem = m_path + ": label_history row " + columnText(r, 0) + ": " + row.problem();
        return c;
    });
    if (rows.ok() && !problem.empty())
        return Status::corruption(problem);
    return rows;
}

Status ProjectDb::setReview(int64_t exampleId, ReviewState state)
{
    Status s;
    sqlite3_stmt *st = prepare("UPDATE examples SET review = ?, review_ms = ? WHERE id = ?", &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_int(st, 1, int(state));
    sqlite3_bind_int64(st, 2, nowMs());
    sqlite3_bind_int64(st, 3, exampleId);
    if (sqlite3_step(st) != SQLITE_DONE)
        return error("writing review state");
    if (sqlite3_changes(m_db) == 0)
        return Status::notFound(m_path + ": no example with id " + std::to_string(exampleId));
    return Status::ok();
}

// --- models

namespace {
// A path inside `base` is stored relative to it, so the project folder can be moved or
// shared (the side directory moves with the project file); others stay as given.
std::string storedPath(const std::string &path, const fs::path &base)
{
    const fs::path p(path);
    if (!p.is_absolute())
        return path;
    const fs::path rel = p.lexically_normal().lexically_relative(base);
    if (rel.empty() || rel == "." || *rel.begin() == "..")
        return path;
    return rel.generic_string();
}

std::string resolvedPath(const std::string &stored, const fs::path &base)
{
    if (stored.empty() || fs::path(stored).is_absolute())
        return stored;
    return (base / stored).lexically_normal().string();
}

fs::path absoluteSideDirectory(const std::string &sideDirectory)
{
    std::error_code ec;
    return fs::absolute(sideDirectory, ec).lexically_normal();
}
} // namespace

Result<int64_t> ProjectDb::addModel(const ModelRow &model, const std::vector<CheckpointRow> &checkpoints)
{
    Transaction tx(*this);
    TL_RETURN_IF_ERROR(tx.status());
    Status s;
    sqlite3_stmt *st = prepare(
        "INSERT INTO models(name, directory, num_classes, embedding_dim, created_ms) VALUES(?, ?, ?, ?, ?)", &s);
    if (!st)
        return s;
    const std::string directory = storedPath(model.directory, absoluteSideDirectory(sideDirectory()));
    int64_t id;
    {
        StepGuard g{st};
        sqlite3_bind_text(st, 1, model.name.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, directory.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 3, model.numClasses);
        sqlite3_bind_int(st, 4, model.embeddingDim);
        sqlite3_bind_int64(st, 5, model.createdMs ? model.createdMs : nowMs());
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("writing model");
        id = sqlite3_last_insert_rowid(m_db);
    }
    st = prepare(R"sql(INSERT INTO checkpoints(model_id, ord, file, learning_rate, file_size, file_mtime, content_hash)
        VALUES(?, ?, ?, ?, ?, ?, ?))sql",
                 &s);
    if (!st)
        return s;
    for (size_t i = 0; i < checkpoints.size(); ++i) {
        StepGuard g{st};
        const std::string file = storedPath(checkpoints[i].file, fs::path(model.directory).lexically_normal());
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, int(i));
        sqlite3_bind_text(st, 3, file.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, 4, checkpoints[i].learningRate);
        sqlite3_bind_int64(st, 5, checkpoints[i].fileSize);
        sqlite3_bind_int64(st, 6, checkpoints[i].fileMtime);
        sqlite3_bind_text(st, 7, checkpoints[i].contentHash.c_str(), -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("writing checkpoints");
    }
    TL_RETURN_IF_ERROR(tx.commit());
    return id;
}

namespace {
// One models row; the first damaged cell goes to *problem when it is empty.
ModelRow readModel(sqlite3_stmt *st, const std::string &project, std::string *problem)
{
    RowCheck row(st);
    ModelRow m;
    m.id = row.integer(0, "id");
    m.name = row.text(1, "name");
    m.directory = row.text(2, "directory");
    m.numClasses = int(row.integer(3, "num_classes", 1, kMaxClasses));
    m.embeddingDim = int(row.integer(4, "embedding_dim", 0, kMaxEmbeddingDim));
    m.createdMs = row.integer(5, "created_ms");
    if (!row.ok() && problem->empty())
        *problem = project + ": models row " + columnText(st, 0) + ": " + row.problem();
    return m;
}
} // namespace

Result<std::vector<ModelRow>> ProjectDb::models()
{
    Status s;
    sqlite3_stmt *st =
        prepare("SELECT id, name, directory, num_classes, embedding_dim, created_ms FROM models ORDER BY id", &s);
    if (!st)
        return s;
    StepGuard g{st};
    std::string problem;
    const fs::path side = absoluteSideDirectory(sideDirectory());
    auto rows = collectRows<ModelRow>(st, "reading models", [&](sqlite3_stmt *row) {
        ModelRow m = readModel(row, m_path, &problem);
        m.directory = resolvedPath(m.directory, side);
        return m;
    });
    if (rows.ok() && !problem.empty())
        return Status::corruption(problem);
    return rows;
}

Result<ModelRow> ProjectDb::model(int64_t id)
{
    Status s;
    sqlite3_stmt *st =
        prepare("SELECT id, name, directory, num_classes, embedding_dim, created_ms FROM models WHERE id = ?", &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_int64(st, 1, id);
    const int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        std::string problem;
        ModelRow m = readModel(st, m_path, &problem);
        if (!problem.empty())
            return Status::corruption(problem);
        m.directory = resolvedPath(m.directory, absoluteSideDirectory(sideDirectory()));
        return m;
    }
    if (rc == SQLITE_DONE)
        return Status::notFound(m_path + ": no model with id " + std::to_string(id));
    return error("reading model");
}

Status ProjectDb::setModelEmbeddingDim(int64_t modelId, int dim)
{
    Status s;
    sqlite3_stmt *st = prepare("UPDATE models SET embedding_dim = ? WHERE id = ?", &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_int(st, 1, dim);
    sqlite3_bind_int64(st, 2, modelId);
    return sqlite3_step(st) == SQLITE_DONE ? Status::ok() : error("writing model");
}

Result<std::vector<CheckpointRow>> ProjectDb::checkpoints(int64_t modelId)
{
    // A read-only open of a schema-2 file has no identity columns: they read as unknown.
    Status s;
    sqlite3_stmt *st = prepare(m_schemaVersion >= 3
                                   ? R"sql(SELECT c.id, c.model_id, c.ord, c.file, c.learning_rate, m.directory,
                                       c.file_size, c.file_mtime, c.content_hash FROM checkpoints c
                                       JOIN models m ON m.id = c.model_id WHERE c.model_id = ? ORDER BY c.ord)sql"
                                   : R"sql(SELECT c.id, c.model_id, c.ord, c.file, c.learning_rate, m.directory
                                       FROM checkpoints c JOIN models m ON m.id = c.model_id
                                       WHERE c.model_id = ? ORDER BY c.ord)sql",
                               &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_int64(st, 1, modelId);
    std::string problem;
    const fs::path side = absoluteSideDirectory(sideDirectory());
    const bool identity = m_schemaVersion >= 3;
    auto rows = collectRows<CheckpointRow>(st, "reading checkpoints", [&](sqlite3_stmt *r) {
        RowCheck row(r);
        CheckpointRow c;
        c.id = row.integer(0, "id");
        c.modelId = row.integer(1, "model_id");
        c.order = int(row.integer(2, "ord", std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
        c.file = resolvedPath(row.text(3, "file"), resolvedPath(columnText(r, 5), side));
        c.learningRate = row.number(4, "learning_rate");
        if (identity) {
            c.fileSize = row.integer(6, "file_size");
            c.fileMtime = row.integer(7, "file_mtime");
            c.contentHash = row.text(8, "content_hash");
        }
        if (!row.ok() && problem.empty())
            problem = m_path + ": checkpoints row " + columnText(r, 0) + ": " + row.problem();
        return c;
    });
    if (rows.ok() && !problem.empty())
        return Status::corruption(problem);
    return rows;
}

Status ProjectDb::setCheckpointIdentity(int64_t checkpointId, int64_t fileSize, int64_t fileMtime,
                                        const std::string &contentHash)
{
    Status s;
    sqlite3_stmt *st =
        prepare("UPDATE checkpoints SET file_size = ?, file_mtime = ?, content_hash = ? WHERE id = ?", &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_int64(st, 1, fileSize);
    sqlite3_bind_int64(st, 2, fileMtime);
    sqlite3_bind_text(st, 3, contentHash.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, checkpointId);
    if (sqlite3_step(st) != SQLITE_DONE)
        return error("writing checkpoint identity");
    if (sqlite3_changes(m_db) == 0)
        return Status::notFound(m_path + ": no checkpoint with id " + std::to_string(checkpointId));
    return Status::ok();
}

Status ProjectDb::dropCheckpointFactors(int64_t checkpointId)
{
    Transaction tx(*this);
    TL_RETURN_IF_ERROR(tx.status());
    Status s;
    sqlite3_stmt *st = prepare("DELETE FROM factors WHERE checkpoint_id = ?", &s);
    if (!st)
        return s;
    {
        StepGuard g{st};
        sqlite3_bind_int64(st, 1, checkpointId);
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("deleting factors");
    }
    st = prepare("DELETE FROM self_influence WHERE model_id = (SELECT model_id FROM checkpoints WHERE id = ?)", &s);
    if (!st)
        return s;
    {
        StepGuard g{st};
        sqlite3_bind_int64(st, 1, checkpointId);
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("deleting self-influence");
    }
    return tx.commit();
}

Status ProjectDb::addTrustedModelDir(const TrustedModelDir &dir)
{
    Status s;
    sqlite3_stmt *st = prepare(R"sql(INSERT OR REPLACE INTO trusted_model_dirs(directory, manifest_hash, token,
        trusted_ms) VALUES(?, ?, ?, ?))sql",
                               &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_text(st, 1, dir.directory.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, dir.manifestHash.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, dir.token.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, dir.trustedMs ? dir.trustedMs : nowMs());
    return sqlite3_step(st) == SQLITE_DONE ? Status::ok() : error("writing model trust");
}

Result<std::optional<TrustedModelDir>> ProjectDb::trustedModelDir(const std::string &directory)
{
    if (m_schemaVersion < 3)
        return std::optional<TrustedModelDir>();
    Status s;
    sqlite3_stmt *st = prepare(
        "SELECT directory, manifest_hash, token, trusted_ms FROM trusted_model_dirs WHERE directory = ?", &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_text(st, 1, directory.c_str(), -1, SQLITE_TRANSIENT);
    const int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return std::optional<TrustedModelDir>();
    if (rc != SQLITE_ROW)
        return error("reading model trust");
    TrustedModelDir t;
    t.directory = columnText(st, 0);
    t.manifestHash = columnText(st, 1);
    t.token = columnText(st, 2);
    t.trustedMs = sqlite3_column_int64(st, 3);
    return std::optional<TrustedModelDir>(std::move(t));
}

// Runs inside the 2 → 3 transaction: model directories inside the side directory and
// checkpoint files inside their model directory become relative.
Status ProjectDb::storeModelPathsRelative()
{
    const fs::path side = absoluteSideDirectory(sideDirectory());
    std::vector<std::pair<int64_t, std::string>> dirs, files;
    {
        Status s;
        sqlite3_stmt *st = prepare("SELECT id, directory FROM models", &s);
        if (!st)
            return s;
        StepGuard g{st};
        auto rows = collectRows<std::pair<int64_t, std::string>>(st, "reading models", [](sqlite3_stmt *row) {
            return std::make_pair(int64_t(sqlite3_column_int64(row, 0)), columnText(row, 1));
        });
        if (!rows.ok())
            return rows.status();
        dirs = std::move(rows).value();
    }
    {
        Status s;
        sqlite3_stmt *st =
            prepare("SELECT c.id, c.file, m.directory FROM checkpoints c JOIN models m ON m.id = c.model_id", &s);
        if (!st)
            return s;
        StepGuard g{st};
        auto rows = collectRows<std::pair<int64_t, std::string>>(st, "reading checkpoints", [](sqlite3_stmt *row) {
            return std::make_pair(int64_t(sqlite3_column_int64(row, 0)),
                                  storedPath(columnText(row, 1), fs::path(columnText(row, 2)).lexically_normal()));
        });
        if (!rows.ok())
            return rows.status();
        files = std::move(rows).value();
    }
    for (auto &[id, dir] : dirs) {
        Status s;
        sqlite3_stmt *st = prepare("UPDATE models SET directory = ? WHERE id = ?", &s);
        if (!st)
            return s;
        StepGuard g{st};
        const std::string stored = storedPath(dir, side);
        sqlite3_bind_text(st, 1, stored.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, id);
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("writing model");
    }
    for (auto &[id, file] : files) {
        Status s;
        sqlite3_stmt *st = prepare("UPDATE checkpoints SET file = ? WHERE id = ?", &s);
        if (!st)
            return s;
        StepGuard g{st};
        sqlite3_bind_text(st, 1, file.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, id);
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("writing checkpoints");
    }
    return Status::ok();
}

Status ProjectDb::setEpochs(int64_t modelId, const std::vector<EpochRow> &epochs)
{
    Transaction tx(*this);
    TL_RETURN_IF_ERROR(tx.status());
    Status s;
    sqlite3_stmt *st = prepare(R"sql(INSERT OR REPLACE INTO epochs(model_id, epoch, learning_rate, train_loss,
        train_accuracy, test_loss, test_accuracy) VALUES(?, ?, ?, ?, ?, ?, ?))sql",
                               &s);
    if (!st)
        return s;
    for (const auto &e : epochs) {
        StepGuard g{st};
        sqlite3_bind_int64(st, 1, modelId);
        sqlite3_bind_int(st, 2, e.epoch);
        sqlite3_bind_double(st, 3, e.learningRate);
        sqlite3_bind_double(st, 4, e.trainLoss);
        sqlite3_bind_double(st, 5, e.trainAccuracy);
        sqlite3_bind_double(st, 6, e.testLoss);
        sqlite3_bind_double(st, 7, e.testAccuracy);
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("writing training curves");
    }
    return tx.commit();
}

Result<std::vector<EpochRow>> ProjectDb::epochs(int64_t modelId)
{
    Status s;
    sqlite3_stmt *st = prepare(R"sql(SELECT epoch, learning_rate, train_loss, train_accuracy, test_loss,
        test_accuracy FROM epochs WHERE model_id = ? ORDER BY epoch)sql",
                               &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_int64(st, 1, modelId);
    return collectRows<EpochRow>(st, "reading training curves", [](sqlite3_stmt *row) {
        EpochRow e;
        e.epoch = sqlite3_column_int(row, 0);
        e.learningRate = sqlite3_column_double(row, 1);
        e.trainLoss = sqlite3_column_double(row, 2);
        e.trainAccuracy = sqlite3_column_double(row, 3);
        e.testLoss = sqlite3_column_double(row, 4);
        e.testAccuracy = sqlite3_column_double(row, 5);
        return e;
    });
}

Result<std::optional<int64_t>> ProjectDb::activeModel()
{
    auto m = meta("active_model");
    if (!m.ok())
        return m.status();
    if (m->has_value()) {
        // Parsed without std::stoll, which throws on a damaged value.
        const std::string &text = **m;
        int64_t id = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
        if (ec != std::errc() || end != text.data() + text.size())
            return Status::corruption(m_path + ": meta row 'active_model': '" + text + "' is not a model id");
        return std::optional<int64_t>(id);
    }
    auto all = models();
    if (!all.ok())
        return all.status();
    if (all->empty())
        return std::optional<int64_t>();
    return std::optional<int64_t>(all->back().id);
}

Status ProjectDb::setActiveModel(int64_t modelId)
{
    return setMeta("active_model", std::to_string(modelId));
}

// --- factors

Status ProjectDb::writeFactors(int64_t checkpointId, const std::vector<FactorRow> &rows)
{
    Status s;
    sqlite3_stmt *st = prepare(R"sql(INSERT OR REPLACE INTO factors(checkpoint_id, example_id, loss, predicted,
        label_used, e, h, probs) VALUES(?, ?, ?, ?, ?, ?, ?, ?))sql",
                               &s);
    if (!st)
        return s;
    for (const auto &r : rows) {
        StepGuard g{st};
        sqlite3_bind_int64(st, 1, checkpointId);
        sqlite3_bind_int64(st, 2, r.exampleId);
        sqlite3_bind_double(st, 3, r.loss);
        sqlite3_bind_int(st, 4, r.predicted);
        sqlite3_bind_int(st, 5, r.labelUsed);
        sqlite3_bind_blob(st, 6, r.error.data(), int(r.error.size() * sizeof(float)), SQLITE_STATIC);
        sqlite3_bind_blob(st, 7, r.embedding.data(), int(r.embedding.size() * sizeof(float)), SQLITE_STATIC);
        sqlite3_bind_blob(st, 8, r.probs.data(), int(r.probs.size() * sizeof(float)), SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("writing factors");
    }
    return Status::ok();
}

Result<std::vector<int64_t>> ProjectDb::examplesMissingFactors(int64_t checkpointId)
{
    Status s;
    sqlite3_stmt *st = prepare(R"sql(SELECT id FROM examples e WHERE removed = 0 AND NOT EXISTS
        (SELECT 1 FROM factors f WHERE f.checkpoint_id = ? AND f.example_id = e.id) ORDER BY id)sql",
                               &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_int64(st, 1, checkpointId);
    return collectRows<int64_t>(st, "reading missing factors",
                                [](sqlite3_stmt *row) { return int64_t(sqlite3_column_int64(row, 0)); });
}

Result<int64_t> ProjectDb::factorCount(int64_t checkpointId)
{
    Status s;
    sqlite3_stmt *st = prepare(R"sql(SELECT count(*) FROM factors f JOIN examples e ON e.id = f.example_id
        WHERE f.checkpoint_id = ? AND e.removed = 0)sql",
                               &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_int64(st, 1, checkpointId);
    if (sqlite3_step(st) != SQLITE_ROW)
        return error("counting factors");
    return int64_t(sqlite3_column_int64(st, 0));
}

namespace {
// The shape a checkpoint's factor rows must have, from its model's row: k classes (e and
// probs hold k floats, labels lie in [0, k)) and d embedding values (any when 0: the model
// row does not know it yet).
struct FactorShape {
    int64_t k = -1, d = -1;
};

// Reads one factors row of `checkpointId`; returns "<project>: factors row (checkpoint c,
// example x): <problem>" for a damaged one, "" otherwise.
std::string readFactor(sqlite3_stmt *st, const FactorShape &shape, int64_t checkpointId, const std::string &project,
                       FactorRow *r)
{
    RowCheck row(st);
    r->exampleId = row.integer(0, "example_id");
    r->loss = float(row.number(1, "loss"));
    if (shape.k > 0) {
        r->predicted = row.label(2, "predicted", shape.k);
        r->labelUsed = row.label(3, "label_used", shape.k);
    } else {
        r->predicted = int(row.integer(2, "predicted", 0, kMaxClasses - 1));
        r->labelUsed = int(row.integer(3, "label_used", 0, kMaxClasses - 1));
    }
    r->error = row.floats(4, "e", shape.k);
    r->embedding = row.floats(5, "h", shape.d > 0 ? shape.d : -1);
    r->probs = row.floats(6, "probs", shape.k);
    const auto key = [&] {
        return project + ": factors row (checkpoint " + std::to_string(checkpointId) + ", example "
               + columnText(st, 0) + "): ";
    };
    if (!row.ok())
        return key() + row.problem();
    if (shape.k <= 0) {
        // No model row says k: e, probs and the labels must at least agree with each other.
        const int64_t k = int64_t(r->error.size());
        if (int64_t(r->probs.size()) != k)
            return key() + "e has " + std::to_string(k) + " floats but probs " + std::to_string(r->probs.size());
        if (r->labelUsed >= k || r->predicted >= k)
            return key() + "label_used " + std::to_string(r->labelUsed) + " or predicted " + std::to_string(r->predicted)
                   + " is not below the " + std::to_string(k) + " classes of e";
    }
    return {};
}
// The factor shape of `checkpointId` from its model's row; k = d = -1 when the checkpoint
// has no model row (then rows are checked against each other only). "" or a problem.
std::string factorShape(sqlite3 *db, int64_t checkpointId, const std::string &project, FactorShape *shape)
{
    sqlite3_stmt *st = nullptr;
    std::string problem;
    if (sqlite3_prepare_v2(db,
                           "SELECT m.id, m.num_classes, m.embedding_dim FROM checkpoints c JOIN models m "
                           "ON m.id = c.model_id WHERE c.id = ?",
                           -1, &st, nullptr)
        != SQLITE_OK) {
        sqlite3_finalize(st);
        return {}; // the factor query reports what is wrong with the file
    }
    sqlite3_bind_int64(st, 1, checkpointId);
    if (sqlite3_step(st) == SQLITE_ROW) {
        RowCheck row(st);
        shape->k = row.integer(1, "num_classes", 1, kMaxClasses);
        shape->d = row.integer(2, "embedding_dim", 0, kMaxEmbeddingDim);
        if (!row.ok())
            problem = project + ": models row " + columnText(st, 0) + ": " + row.problem();
    }
    sqlite3_finalize(st);
    return problem;
}
} // namespace

Status ProjectDb::forEachFactor(int64_t checkpointId, const std::function<void(const FactorRow &)> &fn)
{
    Status s;
    sqlite3_stmt *st = prepare(R"sql(SELECT f.example_id, f.loss, f.predicted, f.label_used, f.e, f.h, f.probs
        FROM factors f JOIN examples e ON e.id = f.example_id
        WHERE f.checkpoint_id = ? AND e.removed = 0 ORDER BY f.example_id)sql",
                               &s);
    if (!st)
        return s;
    StepGuard g{st};
    FactorShape shape;
    if (std::string bad = factorShape(m_db, checkpointId, m_path, &shape); !bad.empty())
        return Status::corruption(bad);
    sqlite3_bind_int64(st, 1, checkpointId);
    FactorRow row;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (std::string bad = readFactor(st, shape, checkpointId, m_path, &row); !bad.empty())
            return Status::corruption(bad);
        fn(row);
    }
    if (rc != SQLITE_DONE)
        return error("reading factors");
    return Status::ok();
}

Result<std::optional<FactorRow>> ProjectDb::factor(int64_t checkpointId, int64_t exampleId)
{
    Status s;
    sqlite3_stmt *st = prepare(R"sql(SELECT example_id, loss, predicted, label_used, e, h, probs
        FROM factors WHERE checkpoint_id = ? AND example_id = ?)sql",
                               &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_int64(st, 1, checkpointId);
    sqlite3_bind_int64(st, 2, exampleId);
    const int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return std::optional<FactorRow>();
    if (rc != SQLITE_ROW)
        return error("reading factors");
    FactorShape shape;
    if (std::string bad = factorShape(m_db, checkpointId, m_path, &shape); !bad.empty())
        return Status::corruption(bad);
    FactorRow r;
    if (std::string bad = readFactor(st, shape, checkpointId, m_path, &r); !bad.empty())
        return Status::corruption(bad);
    return std::optional<FactorRow>(std::move(r));
}

Status ProjectDb::deleteFactorsForExample(int64_t exampleId)
{
    Status s;
    sqlite3_stmt *st = prepare("DELETE FROM factors WHERE example_id = ?", &s);
    if (!st)
        return s;
    {
        StepGuard g{st};
        sqlite3_bind_int64(st, 1, exampleId);
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("deleting factors");
    }
    st = prepare("DELETE FROM self_influence WHERE example_id = ?", &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_int64(st, 1, exampleId);
    return sqlite3_step(st) == SQLITE_DONE ? Status::ok() : error("deleting self-influence");
}

// --- self-influence

Status ProjectDb::writeSelfInfluence(int64_t modelId, const std::vector<std::pair<int64_t, double>> &values)
{
    Transaction tx(*this);
    TL_RETURN_IF_ERROR(tx.status());
    Status s;
    sqlite3_stmt *st = prepare("INSERT OR REPLACE INTO self_influence(model_id, example_id, value) VALUES(?, ?, ?)", &s);
    if (!st)
        return s;
    for (const auto &[id, v] : values) {
        StepGuard g{st};
        sqlite3_bind_int64(st, 1, modelId);
        sqlite3_bind_int64(st, 2, id);
        sqlite3_bind_double(st, 3, v);
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("writing self-influence");
    }
    return tx.commit();
}

Result<std::vector<std::pair<int64_t, double>>> ProjectDb::selfInfluence(int64_t modelId)
{
    Status s;
    sqlite3_stmt *st = prepare(R"sql(SELECT s.example_id, s.value FROM self_influence s
        JOIN examples e ON e.id = s.example_id WHERE s.model_id = ? AND e.removed = 0
        ORDER BY s.value DESC, s.example_id)sql",
                               &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_int64(st, 1, modelId);
    std::vector<std::pair<int64_t, double>> out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        RowCheck row(st);
        const double value = row.number(1, "value");
        if (!row.ok())
            return Status::corruption(m_path + ": self_influence row (model " + std::to_string(modelId) + ", example "
                                      + columnText(st, 0) + "): " + row.problem());
        out.emplace_back(sqlite3_column_int64(st, 0), value);
    }
    if (rc != SQLITE_DONE)
        return error("reading self-influence");
    return out;
}

// --- jobs

// --- cross-validation

Result<std::optional<CrossValidationRunRow>> ProjectDb::crossValidationRun()
{
    if (m_schemaVersion < 4)
        return std::optional<CrossValidationRunRow>();
    Status s;
    sqlite3_stmt *st = prepare(
        "SELECT id, folds, config_json, fingerprint, created_ms FROM crossval_runs ORDER BY id DESC LIMIT 1", &s);
    if (!st)
        return s;
    StepGuard g{st};
    const int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return std::optional<CrossValidationRunRow>();
    if (rc != SQLITE_ROW)
        return error("reading the cross-validation run");
    RowCheck check(st);
    CrossValidationRunRow run;
    run.id = check.integer(0, "id");
    run.folds = int(check.integer(1, "folds", 2, 1 << 20));
    run.configJson = check.text(2, "config_json");
    run.fingerprint = check.text(3, "fingerprint");
    run.createdMs = check.integer(4, "created_ms");
    if (!check.ok())
        return Status::corruption(m_path + ": crossval_runs row " + std::to_string(run.id) + ": " + check.problem());
    return std::optional<CrossValidationRunRow>(std::move(run));
}

Result<int64_t> ProjectDb::startCrossValidationRun(const CrossValidationRunRow &run)
{
    if (m_schemaVersion < 4)
        return Status::unsupported(m_path + ": the project is open read-only with an older schema");
    Transaction tx(*this);
    TL_RETURN_IF_ERROR(tx.status());
    // Explicit deletes rather than ON DELETE CASCADE alone: foreign keys may be off in a
    // connection opened by another tool.
    TL_RETURN_IF_ERROR(exec("DELETE FROM crossval_terms; DELETE FROM crossval_folds; DELETE FROM crossval_runs;"));
    Status s;
    sqlite3_stmt *st =
        prepare("INSERT INTO crossval_runs(folds, config_json, fingerprint, created_ms) VALUES(?, ?, ?, ?)", &s);
    if (!st)
        return s;
    {
        StepGuard g{st};
        sqlite3_bind_int(st, 1, run.folds);
        sqlite3_bind_text(st, 2, run.configJson.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, run.fingerprint.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, run.createdMs ? run.createdMs : nowMs());
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("starting a cross-validation run");
    }
    const int64_t id = sqlite3_last_insert_rowid(m_db);
    TL_RETURN_IF_ERROR(tx.commit());
    return id;
}

Result<std::vector<std::pair<int, std::vector<double>>>> ProjectDb::crossValidationFolds(int64_t runId)
{
    using Folds = std::vector<std::pair<int, std::vector<double>>>;
    if (m_schemaVersion < 4)
        return Folds();
    Status s;
    sqlite3_stmt *st = prepare("SELECT fold, learning_rates FROM crossval_folds WHERE run_id = ? ORDER BY fold", &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_int64(st, 1, runId);
    Folds folds;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        RowCheck check(st);
        const int fold = int(check.integer(0, "fold", 0, 1 << 20));
        const int64_t bytes = sqlite3_column_bytes(st, 1);
        if (check.ok() && (sqlite3_column_type(st, 1) != SQLITE_BLOB || bytes % int64_t(sizeof(double)) != 0))
            return Status::corruption(m_path + ": crossval_folds row " + std::to_string(fold)
                                      + ": learning_rates is not a list of numbers");
        if (!check.ok())
            return Status::corruption(m_path + ": crossval_folds: " + check.problem());
        std::vector<double> rates(size_t(bytes) / sizeof(double));
        if (!rates.empty())
            std::memcpy(rates.data(), sqlite3_column_blob(st, 1), rates.size() * sizeof(double));
        folds.emplace_back(fold, std::move(rates));
    }
    if (rc != SQLITE_DONE)
        return error("reading cross-validation folds");
    return folds;
}

Status ProjectDb::writeCrossValidationFold(int64_t runId, int fold, const std::vector<double> &learningRates,
                                           const std::vector<CrossValidationTermRow> &rows)
{
    Transaction tx(*this);
    TL_RETURN_IF_ERROR(tx.status());
    Status s;
    sqlite3_stmt *st = prepare(R"sql(INSERT OR REPLACE INTO crossval_terms(run_id, example_id, checkpoint, fold,
        probs, feature_norm) VALUES(?, ?, ?, ?, ?, ?))sql",
                               &s);
    if (!st)
        return s;
    for (const auto &r : rows) {
        StepGuard g{st};
        sqlite3_bind_int64(st, 1, runId);
        sqlite3_bind_int64(st, 2, r.exampleId);
        sqlite3_bind_int(st, 3, r.checkpoint);
        sqlite3_bind_int(st, 4, r.fold);
        sqlite3_bind_blob(st, 5, r.probs.data(), int(r.probs.size() * sizeof(float)), SQLITE_STATIC);
        sqlite3_bind_double(st, 6, double(r.featureNorm));
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("writing cross-validation terms");
    }
    st = prepare(R"sql(INSERT OR REPLACE INTO crossval_folds(run_id, fold, learning_rates, finished_ms)
        VALUES(?, ?, ?, ?))sql",
                 &s);
    if (!st)
        return s;
    {
        StepGuard g{st};
        sqlite3_bind_int64(st, 1, runId);
        sqlite3_bind_int(st, 2, fold);
        sqlite3_bind_blob(st, 3, learningRates.data(), int(learningRates.size() * sizeof(double)), SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, nowMs());
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("finishing a cross-validation fold");
    }
    return tx.commit();
}

Status ProjectDb::forEachCrossValidationTerm(int64_t runId,
                                             const std::function<void(const CrossValidationTermRow &)> &fn)
{
    if (m_schemaVersion < 4)
        return Status::ok();
    Status s;
    sqlite3_stmt *st = prepare(R"sql(SELECT t.example_id, t.checkpoint, t.fold, t.probs, t.feature_norm
        FROM crossval_terms t JOIN examples e ON e.id = t.example_id
        WHERE t.run_id = ? AND e.removed = 0 ORDER BY t.example_id, t.checkpoint)sql",
                               &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_int64(st, 1, runId);
    CrossValidationTermRow row;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        RowCheck check(st);
        row.exampleId = check.integer(0, "example_id");
        row.checkpoint = int(check.integer(1, "checkpoint", 0, 1 << 20));
        row.fold = int(check.integer(2, "fold", 0, 1 << 20));
        row.probs = check.floats(3, "probs", -1);
        row.featureNorm = float(check.number(4, "feature_norm"));
        if (!check.ok())
            return Status::corruption(m_path + ": crossval_terms row (example " + std::to_string(row.exampleId)
                                      + ", checkpoint " + std::to_string(row.checkpoint) + "): " + check.problem());
        fn(row);
    }
    if (rc != SQLITE_DONE)
        return error("reading cross-validation terms");
    return Status::ok();
}

Status ProjectDb::setJob(const JobRow &job)
{
    Status s;
    sqlite3_stmt *st = prepare(
        "INSERT OR REPLACE INTO jobs(name, state, done, total, updated_ms, message) VALUES(?, ?, ?, ?, ?, ?)", &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_text(st, 1, job.name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, job.state.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, job.done);
    sqlite3_bind_int64(st, 4, job.total);
    sqlite3_bind_int64(st, 5, job.updatedMs ? job.updatedMs : nowMs());
    sqlite3_bind_text(st, 6, job.message.c_str(), -1, SQLITE_TRANSIENT);
    return sqlite3_step(st) == SQLITE_DONE ? Status::ok() : error("writing job state");
}

Result<std::optional<JobRow>> ProjectDb::job(const std::string &name)
{
    Status s;
    sqlite3_stmt *st = prepare("SELECT name, state, done, total, updated_ms, message FROM jobs WHERE name = ?", &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_text(st, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    const int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return std::optional<JobRow>();
    if (rc != SQLITE_ROW)
        return error("reading job state");
    JobRow j;
    j.name = columnText(st, 0);
    j.state = columnText(st, 1);
    j.done = sqlite3_column_int64(st, 2);
    j.total = sqlite3_column_int64(st, 3);
    j.updatedMs = sqlite3_column_int64(st, 4);
    j.message = columnText(st, 5);
    return std::optional<JobRow>(std::move(j));
}

// --- clusters

Status ProjectDb::writeClusterSet(ClusterSetRow &set)
{
    Transaction tx(*this);
    TL_RETURN_IF_ERROR(tx.status());
    Status s;
    sqlite3_stmt *st = prepare("DELETE FROM cluster_sets WHERE model_id = ? AND space = ? AND class_idx = ?", &s);
    if (!st)
        return s;
    {
        StepGuard g{st};
        sqlite3_bind_int64(st, 1, set.modelId);
        sqlite3_bind_text(st, 2, set.space.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 3, set.classIdx);
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("replacing clusters");
    }
    st = prepare(R"sql(INSERT INTO cluster_sets(model_id, space, class_idx, fingerprint, requested_k, silhouette,
        representatives, created_ms) VALUES(?, ?, ?, ?, ?, ?, ?, ?))sql",
                 &s);
    if (!st)
        return s;
    {
        StepGuard g{st};
        sqlite3_bind_int64(st, 1, set.modelId);
        sqlite3_bind_text(st, 2, set.space.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 3, set.classIdx);
        sqlite3_bind_text(st, 4, set.fingerprint.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 5, set.requestedK);
        sqlite3_bind_double(st, 6, set.silhouette);
        sqlite3_bind_int(st, 7, set.representatives);
        sqlite3_bind_int64(st, 8, set.createdMs ? set.createdMs : nowMs());
        if (sqlite3_step(st) != SQLITE_DONE)
            return error("writing clusters");
        set.id = sqlite3_last_insert_rowid(m_db);
    }
    st = prepare("INSERT INTO cluster_members(set_id, example_id, cluster, rank, similarity) VALUES(?, ?, ?, ?, ?)", &s);
    if (!st)
        return s;
    for (const auto &c : set.clusters) {
        for (size_t r = 0; r < c.members.size(); ++r) {
            StepGuard g{st};
            sqlite3_bind_int64(st, 1, set.id);
            sqlite3_bind_int64(st, 2, c.members[r].exampleId);
            sqlite3_bind_int(st, 3, c.index);
            sqlite3_bind_int(st, 4, int(r));
            sqlite3_bind_double(st, 5, c.members[r].similarity);
            if (sqlite3_step(st) != SQLITE_DONE)
                return error("writing cluster members");
        }
    }
    return tx.commit();
}

Result<std::optional<ClusterSetRow>> ProjectDb::clusterSet(int64_t modelId, const std::string &space, int classIdx)
{
    if (m_schemaVersion < 2) // a read-only schema-1 file: no cluster tables yet
        return std::optional<ClusterSetRow>();
    Status s;
    sqlite3_stmt *st = prepare(R"sql(SELECT id, fingerprint, requested_k, silhouette, representatives, created_ms
        FROM cluster_sets WHERE model_id = ? AND space = ? AND class_idx = ?)sql",
                               &s);
    if (!st)
        return s;
    ClusterSetRow set;
    {
        StepGuard g{st};
        sqlite3_bind_int64(st, 1, modelId);
        sqlite3_bind_text(st, 2, space.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 3, classIdx);
        const int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            return std::optional<ClusterSetRow>();
        if (rc != SQLITE_ROW)
            return error("reading clusters");
        set.id = sqlite3_column_int64(st, 0);
        set.modelId = modelId;
        set.space = space;
        set.classIdx = classIdx;
        set.fingerprint = columnText(st, 1);
        set.requestedK = sqlite3_column_int(st, 2);
        set.silhouette = sqlite3_column_double(st, 3);
        set.representatives = sqlite3_column_int(st, 4);
        set.createdMs = sqlite3_column_int64(st, 5);
    }
    st = prepare(R"sql(SELECT cluster, example_id, similarity FROM cluster_members
        WHERE set_id = ? ORDER BY cluster, rank)sql",
                 &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_int64(st, 1, set.id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const int cluster = sqlite3_column_int(st, 0);
        if (set.clusters.empty() || set.clusters.back().index != cluster) {
            set.clusters.emplace_back();
            set.clusters.back().index = cluster;
        }
        set.clusters.back().members.push_back({sqlite3_column_int64(st, 1), sqlite3_column_double(st, 2)});
    }
    if (rc != SQLITE_DONE)
        return error("reading cluster members");
    return std::optional<ClusterSetRow>(std::move(set));
}

Result<std::vector<int>> ProjectDb::clusterClasses(int64_t modelId, const std::string &space)
{
    if (m_schemaVersion < 2)
        return std::vector<int>();
    Status s;
    sqlite3_stmt *st =
        prepare("SELECT class_idx FROM cluster_sets WHERE model_id = ? AND space = ? ORDER BY class_idx", &s);
    if (!st)
        return s;
    StepGuard g{st};
    sqlite3_bind_int64(st, 1, modelId);
    sqlite3_bind_text(st, 2, space.c_str(), -1, SQLITE_TRANSIENT);
    return collectRows<int>(st, "reading clusters", [](sqlite3_stmt *row) { return sqlite3_column_int(row, 0); });
}

Result<std::vector<std::pair<int64_t, int>>> ProjectDb::exampleLabels(std::optional<Split> split)
{
    Status s;
    sqlite3_stmt *st =
        prepare(split ? "SELECT id, current_label FROM examples WHERE removed = 0 AND split = ? ORDER BY id"
                      : "SELECT id, current_label FROM examples WHERE removed = 0 ORDER BY id",
                &s);
    if (!st)
        return s;
    StepGuard g{st};
    if (split)
        sqlite3_bind_int(st, 1, int(*split));
    const int64_t classes = classCount(m_db);
    std::vector<std::pair<int64_t, int>> out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        RowCheck row(st);
        const int label = row.label(1, "current_label", classes);
        if (!row.ok())
            return Status::corruption(m_path + ": examples row " + columnText(st, 0) + ": " + row.problem());
        out.emplace_back(sqlite3_column_int64(st, 0), label);
    }
    if (rc != SQLITE_DONE)
        return error("reading examples");
    return out;
}

Status ProjectDb::integrityCheck()
{
    sqlite3_stmt *st = nullptr;
    if (sqlite3_prepare_v2(m_db, "PRAGMA integrity_check", -1, &st, nullptr) != SQLITE_OK)
        return error("integrity check");
    std::string first;
    if (sqlite3_step(st) == SQLITE_ROW)
        first = columnText(st, 0);
    sqlite3_finalize(st);
    if (first == "ok")
        return Status::ok();
    return Status::corruption(m_path + ": integrity check failed: " + first);
}

} // namespace traclens
