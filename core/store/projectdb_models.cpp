// ProjectDb: models, their checkpoints and epochs, trusted model folders, the active
// model (see projectdb.h).

#include "store/projectdb.h"
#include "store/projectdb_p.h"

#include <sqlite3.h>

#include <charconv>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace traclens {

using namespace projectdb_detail;

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
    const fs::path side = absoluteSideDirectory(sideDirectory());
    return collectCheckedRows<ModelRow>(st, "reading models", [&](sqlite3_stmt *row, std::string *problem) {
        ModelRow m = readModel(row, m_path, problem);
        m.directory = resolvedPath(m.directory, side);
        return m;
    });
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
    const fs::path side = absoluteSideDirectory(sideDirectory());
    const bool identity = m_schemaVersion >= 3;
    return collectCheckedRows<CheckpointRow>(st, "reading checkpoints", [&](sqlite3_stmt *r, std::string *problem) {
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
        if (!row.ok() && problem->empty())
            *problem = m_path + ": checkpoints row " + columnText(r, 0) + ": " + row.problem();
        return c;
    });
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

} // namespace traclens
