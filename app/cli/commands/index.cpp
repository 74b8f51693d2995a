// traclens-cli index: build the approximate TracIn and embedding indexes, optionally answer a query through them.

#include "commands.h"
#include "common.h"

#include "influence/influenceindex.h"
#include "store/projectdb.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QString>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace traclens::cli {

Result<IndexParams> indexParams(Context &c)
{
    IndexParams p;
    const QString backend = c.parser.value("backend");
    if (backend == "cells")
        p.backend = IndexBackend::Cells;
    else if (backend == "hnsw")
        p.backend = IndexBackend::Hnsw;
    else
        return Status::invalid("--backend takes cells or hnsw");
    if (c.parser.isSet("dim"))
        p.projectionDim = c.parser.value("dim").toInt();
    const QString kind = c.parser.value("projection");
    if (kind == "gaussian")
        p.projection = ProjectionKind::Gaussian;
    else if (kind == "achlioptas")
        p.projection = ProjectionKind::Achlioptas;
    else if (kind == "pca")
        p.projection = ProjectionKind::Pca;
    else
        return Status::invalid("--projection takes gaussian, achlioptas or pca");
    p.cells = c.parser.value("cells").toInt();
    p.candidates = c.parser.value("candidates").toInt();
    p.M = c.parser.value("M").toInt();
    p.efConstruction = c.parser.value("ef-construction").toInt();
    p.efSearch = c.parser.value("ef").toInt();
    p.seed = c.parser.value("seed").toULongLong();
    const QString precision = c.parser.value("precision");
    if (precision == "f16")
        p.precision = IndexParams::Precision::Float16;
    else if (precision != "f32")
        return Status::invalid("--precision is f32 or f16");
    if (p.projectionDim < -1 || (c.parser.isSet("dim") && p.projectionDim < 0) || p.cells < 0 || p.candidates < 1
        || p.M < 2 || p.efConstruction < 1 || p.efSearch < 1)
        return Status::invalid("--dim ≥ 0, --cells ≥ 0, --candidates ≥ 1, --M ≥ 2, --ef-construction ≥ 1, --ef ≥ 1");
    return p;
}

int cmdIndex(Context &c)
{
    if (c.positional.size() != 1)
        return usage("index: expected <project>");
    auto params = indexParams(c);
    if (!params.ok())
        return usage(QString::fromStdString(params.status().message()));
    auto opened = openProjectModel(c);
    if (!opened.ok())
        return fail(opened.status());
    std::unique_ptr<ProjectDb> &db = opened->db;
    const int64_t model = opened->model;
    IndexOptions opt;
    opt.params = *params;
    opt.exactBelow = 1; // the user asked for an index: build it whatever the size
    opt.forceRebuild = c.parser.isSet("force");
    opt.threads = c.parser.value("threads").toInt();
    auto index = InfluenceIndex::open(*db, model, opt, progressPrinter(c.quiet), &g_cancel);
    if (!index.ok())
        return fail(index.status());
    const IndexInfo &info = (*index)->info();
    const int64_t train = (*index)->store().trainRows();
    QJsonObject out{{"model", qint64(model)},
                    {"directory", q(info.directory)},
                    {"built", info.built},
                    {"backend", indexBackendName(opt.params.backend)},
                    {"train", qint64(train)},
                    {"projection_dim", info.projectionDim},
                    {"factor_bytes", qint64(info.factorBytes)},
                    {"index_bytes", qint64(info.indexBytes)},
                    {"load_seconds", info.loadSeconds},
                    {"build_seconds", info.buildSeconds},
                    {"queries_use_index", train >= kExactSearchBelow},
                    {"exact_below", qint64(kExactSearchBelow)},
                    {"fingerprint", q(info.fingerprint)},
                    {"rebuilt_because", q(info.built ? info.staleReason : std::string())}};
    if (c.parser.isSet("query")) {
        ExampleResolver resolver(*db);
        auto id = resolver.find(c.parser.value("query"));
        if (!id.ok())
            return fail(id.status());
        const Scoring scoring = c.parser.isSet("normalised") ? Scoring::Normalised : Scoring::Raw;
        const SearchMode mode = c.parser.isSet("exact") ? SearchMode::Exact : SearchMode::Index;
        const auto q0 = std::chrono::steady_clock::now();
        auto r = (*index)->query(*id, c.parser.value("k").toInt(), scoring, mode);
        if (!r.ok())
            return fail(r.status());
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - q0).count();
        QJsonObject res{{"query", qint64(*id)}, {"mode", mode == SearchMode::Exact ? "exact" : "index"}, {"query_ms", ms}};
        const std::pair<const char *, const std::vector<Neighbour> *> lists[] = {
            {"proponents", &r->proponents}, {"opponents", &r->opponents}, {"nearest", &r->nearest},
            {"farthest", &r->farthest}};
        for (const auto &[name, list] : lists) {
            QJsonArray a;
            for (const auto &n : *list)
                a.append(QJsonObject{{"id", qint64(n.exampleId)}, {"score", n.score}});
            res.insert(name, a);
        }
        out.insert("result", res);
    }
    if (c.json) {
        printJson(out);
        return ExitOk;
    }
    std::printf("index %s: %s %s (%lld training examples, TracIn vectors of %d dimensions)\n",
                info.directory.c_str(), indexBackendName(opt.params.backend), info.built ? "built" : "up to date, loaded",
                (long long)train, info.projectionDim);
    if (info.built && !info.staleReason.empty())
        std::printf("  rebuilt because %s\n", info.staleReason.c_str());
    std::printf("  factors %.1f s (%.0f MiB), index %s %.1f s (%.0f MiB)\n", info.loadSeconds,
                double(info.factorBytes) / 1048576.0, info.built ? "build" : "load",
                info.built ? info.buildSeconds : info.indexLoadSeconds, double(info.indexBytes) / 1048576.0);
    std::printf("  queries use the index from %lld training examples: %s\n", (long long)kExactSearchBelow,
                train >= kExactSearchBelow ? "yes" : "no, exact search is as fast below that");
    if (out.contains("result")) {
        const QJsonObject res = out.value("result").toObject();
        std::printf("query %lld (%s, %.2f ms):\n", (long long)res.value("query").toInteger(),
                    qPrintable(res.value("mode").toString()), res.value("query_ms").toDouble());
        for (const char *name : {"proponents", "opponents", "nearest", "farthest"}) {
            std::printf("  %-10s", name);
            for (const auto &v : res.value(name).toArray())
                std::printf(" %lld(%.4g)", (long long)v.toObject().value("id").toInteger(),
                            v.toObject().value("score").toDouble());
            std::printf("\n");
        }
    }
    return ExitOk;
}

void indexOptions(CommandOptions &p)
{
    p.addOption(modelOption());
    p.addOption(threadsOption());
    p.addOption({"force", "Rebuild even when the index is up to date."});
    p.addOption({"backend", "cells (cone-bound cell scan) or hnsw (hnswlib graphs).", "kind", "cells"});
    p.addOption({"dim", "Projection dimension of the TracIn vectors (0 = exact vectors). Default: 128 for "
                        "cells, 64 for hnsw.",
                 "m"});
    p.addOption({"projection", "pca (principal directions of the gradients), gaussian or achlioptas.", "kind",
                 "pca"});
    p.addOption({"cells", "Cells: cells of each index (0 = about the square root of the training rows).",
                 "n", "0"});
    p.addOption({"candidates", "Cells: candidates per TracIn list at query time (scored exactly).", "n",
                 QString::number(IndexParams{}.candidates)});
    p.addOption({"M", "Hnsw: graph degree.", "n", QString::number(IndexParams{}.M)});
    p.addOption({"ef-construction", "Hnsw: candidate list while building.", "n",
                 QString::number(IndexParams{}.efConstruction)});
    p.addOption({"ef", "Hnsw: candidates per list and graph at query time (rescored exactly).", "n",
                 QString::number(IndexParams{}.efSearch)});
    p.addOption({"seed", "Projection seed.", "n", "1"});
    p.addOption(precisionOption());
    p.addOption({"query", "Then answer a query for this example (id or path) through the index.", "id|path"});
    p.addOption({"k", "How many of each for --query.", "n", "10"});
    p.addOption({"normalised", "Normalised TracIn for --query."});
    p.addOption({"exact", "Answer --query by exact search instead."});
}

} // namespace traclens::cli
