// ProjectDb: cluster sets and their members (see projectdb.h).

#include "store/projectdb.h"
#include "store/projectdb_p.h"

#include <sqlite3.h>

#include <optional>
#include <string>
#include <vector>

namespace traclens {

using namespace projectdb_detail;

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

} // namespace traclens
