// ProjectDb: TracIn factors per (checkpoint, example) and self-influence (see
// projectdb.h).

#include "store/projectdb.h"
#include "store/projectdb_p.h"

#include <sqlite3.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace traclens {

using namespace projectdb_detail;

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

} // namespace traclens
