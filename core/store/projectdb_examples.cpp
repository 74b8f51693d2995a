// ProjectDb: the dataset, its classes and examples, skipped files, labels and their
// history, review states (see projectdb.h).

#include "store/projectdb.h"
#include "store/projectdb_p.h"
#include "store/factors.h"

#include <sqlite3.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace traclens {

using namespace projectdb_detail;

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
    return collectCheckedRows<ExampleRow>(st, "reading examples", [&](sqlite3_stmt *row, std::string *problem) {
        return readExample(row, classes, m_path, problem);
    });
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
    return collectCheckedRows<LabelChange>(st, "reading label history", [&](sqlite3_stmt *r, std::string *problem) {
        RowCheck row(r);
        LabelChange c;
        c.id = row.integer(0, "id");
        c.exampleId = row.integer(1, "example_id");
        c.oldLabel = row.label(2, "old_label", classes);
        c.newLabel = row.label(3, "new_label", classes);
        c.timeMs = row.integer(4, "time_ms");
        c.origin = row.text(5, "origin");
        if (!row.ok() && problem->empty())
            *problem = m_path + ": label_history row " + columnText(r, 0) + ": " + row.problem();
        return c;
    });
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

} // namespace traclens
