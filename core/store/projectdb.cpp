#include "store/projectdb.h"
#include "store/projectdb_p.h"
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
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <unistd.h>

namespace fs = std::filesystem;

namespace traclens {

namespace {

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

} // namespace

using namespace projectdb_detail;

// Prepared statements by their SQL text. Keyed by the text's contents, not by its
// address: a statement built at run time (a std::string's c_str()) finds its cached twin,
// and two equal literals share one statement. std::less<> looks a string_view up without
// copying it.
struct ProjectDb::StatementCache {
    std::map<std::string, sqlite3_stmt *, std::less<>> map;
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


sqlite3_stmt *ProjectDb::prepare(const char *sql, Status *status)
{
    const std::string_view text(sql);
    auto it = m_statements->map.find(text);
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
    m_statements->map.emplace(std::string(text), st);
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
