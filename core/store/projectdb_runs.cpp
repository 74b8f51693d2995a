// ProjectDb: cross-validation runs, folds and terms, and job rows (see projectdb.h).

#include "store/projectdb.h"
#include "store/projectdb_p.h"

#include <sqlite3.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace traclens {

using namespace projectdb_detail;

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

// --- jobs

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

} // namespace traclens
