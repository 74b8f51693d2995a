// The approximate index: a cell search returns exactly the brute-force top rows over its
// stored vectors (weighted and unweighted, crowds of near-duplicates, saved and loaded);
// after exact rescoring the index's top-k lists equal exact search on a small project
// with either backend (cells, hnswlib graphs; random and principal-direction
// projections, raw and normalised scoring, float16 factors);
// exact search states float32 unless float16 is chosen; the persisted index is reused while fresh,
// rebuilt when the project changes, and the build can be cancelled.

#include "index/cellindex.h"
#include "util/float16.h"
#include "influence/influenceindex.h"
#include "store/projectdb.h"
#include "store/synthproject.h"

#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <random>

using namespace traclens;

namespace {

std::vector<int64_t> idsOf(const std::vector<Neighbour> &list)
{
    std::vector<int64_t> out;
    for (const auto &n : list)
        out.push_back(n.exampleId);
    return out;
}

struct Project {
    QTemporaryDir dir;
    std::string path;
    std::unique_ptr<ProjectDb> db;
    int64_t modelId = 0;
    bool make(int64_t train, int64_t test)
    {
        path = dir.filePath("synth.traclens").toStdString();
        SynthOptions so;
        so.train = train;
        so.test = test;
        so.classes = 6;
        so.dim = 24;
        so.checkpoints = 3;
        so.clustersPerClass = 3;
        so.seed = 11;
        auto s = writeSyntheticProject(path, so);
        if (!s.ok())
            return false;
        modelId = s->modelId;
        auto opened = ProjectDb::open(path);
        if (!opened.ok())
            return false;
        db = std::move(opened).value();
        return true;
    }
};

} // namespace

class TestInfluenceIndex : public QObject {
    Q_OBJECT
private slots:
    void cellSearchIsExact_data();
    void cellSearchIsExact();
    void indexMatchesExact_data();
    void indexMatchesExact();
    void precisionIsStated();
    void persistsAndRebuildsWhenStale_data();
    void persistsAndRebuildsWhenStale();
    void damagedCellFileFallsBackToExact_data();
    void damagedCellFileFallsBackToExact();
    void buildCanBeCancelled_data();
    void buildCanBeCancelled();
};

void TestInfluenceIndex::cellSearchIsExact_data()
{
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("dim");
    QTest::addColumn<int>("crowds");   // centres the rows crowd around; 0 = spread
    QTest::addColumn<double>("spread"); // noise around a centre
    QTest::addColumn<bool>("weighted");
    QTest::addColumn<int>("count");
    QTest::newRow("spread, unweighted") << 6000 << 16 << 0 << 0.0 << false << 10;
    QTest::newRow("spread, weighted") << 6000 << 16 << 0 << 0.0 << true << 10;
    QTest::newRow("near-duplicates, unweighted") << 8000 << 32 << 4 << 0.02 << false << 50;
    QTest::newRow("near-duplicates, weighted") << 8000 << 32 << 4 << 0.02 << true << 50;
    QTest::newRow("near-duplicates, many candidates") << 8000 << 32 << 2 << 0.01 << true << 1500;
}

// Without a row budget the cone bound proves the result: it must be the brute-force top
// `count` over the stored (float16) vectors, for q and for −q, also after save and load.
void TestInfluenceIndex::cellSearchIsExact()
{
    QFETCH(int, rows);
    QFETCH(int, dim);
    QFETCH(int, crowds);
    QFETCH(double, spread);
    QFETCH(bool, weighted);
    QFETCH(int, count);
    std::mt19937_64 rng(5);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> centres(size_t(std::max(1, crowds)) * size_t(dim));
    for (auto &v : centres)
        v = normal(rng);
    std::vector<float> data(static_cast<size_t>(rows) * size_t(dim)), weights(static_cast<size_t>(rows));
    std::vector<int64_t> labels(static_cast<size_t>(rows));
    for (int r = 0; r < rows; ++r) {
        float *x = data.data() + size_t(r) * size_t(dim);
        const float *c = centres.data() + size_t(r % std::max(1, crowds)) * size_t(dim);
        for (int j = 0; j < dim; ++j)
            x[j] = crowds > 0 ? c[j] + float(spread) * normal(rng) : normal(rng);
        weights[size_t(r)] = std::exp(0.5f * normal(rng)); // gradient norms: log-normal
        labels[size_t(r)] = 1000 + 3 * r;
    }
    auto unit = [&](int64_t label, float *out) {
        const float *x = data.data() + size_t((label - 1000) / 3) * size_t(dim);
        std::copy(x, x + dim, out);
    };
    CellIndexParams params;
    params.cells = 40;
    auto built = CellIndex::build(dim, labels, unit, weighted ? weights : std::vector<float>{}, params, 2,
                                  {"index", "", 0, rows}, {}, nullptr);
    QVERIFY(built.ok());
    QTemporaryDir dir;
    const std::string file = dir.filePath("cells.bin").toStdString();
    QVERIFY((*built)->save(file).isOk());
    auto loaded = CellIndex::load(file, dim);
    QVERIFY(loaded.ok());
    QVERIFY(!CellIndex::load(file, dim + 1).ok()); // another dimension: refused

    // Brute force over the same float16 unit vectors.
    std::vector<uint16_t> half(static_cast<size_t>(dim));
    std::vector<float> unitRow(static_cast<size_t>(dim)), score(static_cast<size_t>(rows));
    for (int trial = 0; trial < 6; ++trial) {
        std::vector<float> q(static_cast<size_t>(dim));
        const float *near = data.data() + size_t(rng() % uint64_t(rows)) * size_t(dim);
        double n = 0;
        for (int j = 0; j < dim; ++j) {
            q[size_t(j)] = (trial % 2 ? -1.0f : 1.0f) * (near[j] + 0.05f * normal(rng));
            n += double(q[size_t(j)]) * q[size_t(j)];
        }
        for (auto &v : q)
            v = float(v / std::sqrt(n));
        for (int r = 0; r < rows; ++r) {
            const float *x = data.data() + size_t(r) * size_t(dim);
            double xn = 0;
            for (int j = 0; j < dim; ++j)
                xn += double(x[j]) * x[j];
            const float inv = float(1.0 / std::sqrt(xn)); // as CellIndex normalises
            for (int j = 0; j < dim; ++j)
                unitRow[size_t(j)] = x[j] * inv;
            floatsToHalves(unitRow.data(), half.data(), half.size());
            score[size_t(r)] = dotHalfFloat(half.data(), q.data(), half.size()) * (weighted ? weights[size_t(r)] : 1.0f);
        }
        std::vector<float> sorted = score;
        std::sort(sorted.begin(), sorted.end(), std::greater<float>());
        const float kth = sorted[size_t(count) - 1];
        for (const CellIndex *index : {built->get(), loaded->get()}) {
            CellIndex::Stats stats;
            const auto found = index->search(q.data(), count, weighted, 0, &stats);
            QCOMPARE(int(found.size()), count);
            QVERIFY(!stats.budgetHit);
            // Every row scoring above the count-th best is found, and nothing worse than it.
            std::vector<int64_t> ids;
            for (const auto &f : found) {
                ids.push_back(f.second);
                QVERIFY(f.first >= kth - 1e-6f);
            }
            std::sort(ids.begin(), ids.end());
            for (int r = 0; r < rows; ++r)
                if (score[size_t(r)] > kth + 1e-6f)
                    QVERIFY2(std::binary_search(ids.begin(), ids.end(), labels[size_t(r)]), "a better row was missed");
        }
    }
}

namespace {

IndexBackend backendOf(const QString &name)
{
    return name == "hnsw" ? IndexBackend::Hnsw : IndexBackend::Cells;
}

void addBackendRows()
{
    QTest::addColumn<QString>("backend");
    QTest::newRow("cells") << "cells";
    QTest::newRow("hnsw") << "hnsw";
}

} // namespace

void TestInfluenceIndex::indexMatchesExact_data()
{
    QTest::addColumn<QString>("backend");
    QTest::addColumn<int>("dim");
    QTest::addColumn<QString>("projection");
    QTest::addColumn<bool>("normalised");
    QTest::addColumn<bool>("half");
    QTest::newRow("cells, exact vectors, raw") << "cells" << 0 << "gaussian" << false << false;
    QTest::newRow("cells, gaussian 64, raw") << "cells" << 64 << "gaussian" << false << false;
    QTest::newRow("cells, gaussian 64, normalised") << "cells" << 64 << "gaussian" << true << false;
    QTest::newRow("cells, achlioptas 128, raw, float16 factors") << "cells" << 128 << "achlioptas" << false << true;
    QTest::newRow("cells, gaussian 128, normalised, float16 factors") << "cells" << 128 << "gaussian" << true << true;
    QTest::newRow("cells, pca 64, raw, float16 factors") << "cells" << 64 << "pca" << false << true;
    QTest::newRow("cells, pca 32, normalised") << "cells" << 32 << "pca" << true << false;
    QTest::newRow("hnsw, exact vectors, raw") << "hnsw" << 0 << "gaussian" << false << false;
    QTest::newRow("hnsw, gaussian 64, normalised") << "hnsw" << 64 << "gaussian" << true << false;
    QTest::newRow("hnsw, achlioptas 128, raw, float16 factors") << "hnsw" << 128 << "achlioptas" << false << true;
    QTest::newRow("hnsw, pca 64, normalised") << "hnsw" << 64 << "pca" << true << false;
}

void TestInfluenceIndex::indexMatchesExact()
{
    QFETCH(QString, backend);
    QFETCH(int, dim);
    QFETCH(QString, projection);
    QFETCH(bool, normalised);
    QFETCH(bool, half);
    Project p;
    QVERIFY(p.make(3000, 40));
    IndexOptions opt;
    opt.exactBelow = 1;
    opt.params.backend = backendOf(backend);
    opt.params.projectionDim = dim;
    opt.params.projection = projection == "gaussian"     ? ProjectionKind::Gaussian
                            : projection == "achlioptas" ? ProjectionKind::Achlioptas
                                                         : ProjectionKind::Pca;
    opt.params.precision = half ? IndexParams::Precision::Float16 : IndexParams::Precision::Float32;
    // A third of the rows as candidates (for the graphs, this makes the search all but
    // exhaustive): what is tested is that projection, search, exclusion and exact
    // rescoring give the exact lists (recall at scale is measured by bench_index).
    opt.params.candidates = 1000;
    opt.params.efSearch = 1000;
    auto index = InfluenceIndex::open(*p.db, p.modelId, opt);
    QVERIFY2(index.ok(), index.ok() ? "" : index.status().message().c_str());
    QVERIFY((*index)->usesIndex());
    QVERIFY((*index)->info().built);
    const Scoring scoring = normalised ? Scoring::Normalised : Scoring::Raw;
    const FactorStore &store = (*index)->store();
    // Training and test queries.
    int checked = 0;
    for (int64_t row : {int64_t(0), int64_t(17), int64_t(1234), store.trainRows() + 3, store.rows() - 1}) {
        const int64_t id = store.idOf(row);
        auto approx = (*index)->query(id, 10, scoring, SearchMode::Index);
        auto exact = (*index)->query(id, 10, scoring, SearchMode::Exact);
        QVERIFY(approx.ok() && exact.ok());
        QCOMPARE(idsOf(approx->proponents), idsOf(exact->proponents));
        QCOMPARE(idsOf(approx->opponents), idsOf(exact->opponents));
        QCOMPARE(idsOf(approx->nearest), idsOf(exact->nearest));
        QCOMPARE(idsOf(approx->farthest), idsOf(exact->farthest));
        for (size_t i = 0; i < approx->proponents.size(); ++i)
            QCOMPARE(approx->proponents[i].score, exact->proponents[i].score); // rescored exactly
        QCOMPARE(approx->selfInfluence, exact->selfInfluence);
        ++checked;
    }
    QCOMPARE(checked, 5);
}

void TestInfluenceIndex::precisionIsStated()
{
    // Exact means exact: float32 factors whatever the project's size, unless float16 is
    // asked for; every answer says which, and whether it came from the index.
    QCOMPARE(IndexParams().resolvedPrecision(), FactorPrecision::Float32);
    Project p;
    QVERIFY(p.make(2000, 20));
    for (bool half : {false, true}) {
        IndexOptions opt = IndexOptions::serving(); // 2000 rows: below the threshold, exact
        if (half)
            opt.params.precision = IndexParams::Precision::Float16;
        auto index = InfluenceIndex::open(*p.db, p.modelId, opt);
        QVERIFY(index.ok());
        QVERIFY(!(*index)->usesIndex());
        QCOMPARE((*index)->store().precision(), half ? FactorPrecision::Float16 : FactorPrecision::Float32);
        auto r = (*index)->query((*index)->trainIds()[5], 8, Scoring::Raw);
        QVERIFY(r.ok());
        QCOMPARE(r->float16Factors, half);
        QCOMPARE(QString(precisionName(*r)), QString(half ? "float16" : "float32"));
        QCOMPARE(QString(searchKindName(*r)), QString("exact"));
    }
}

void TestInfluenceIndex::persistsAndRebuildsWhenStale_data() { addBackendRows(); }

void TestInfluenceIndex::persistsAndRebuildsWhenStale()
{
    QFETCH(QString, backend);
    Project p;
    QVERIFY(p.make(1500, 10));
    IndexOptions opt;
    opt.exactBelow = 1;
    opt.params.backend = backendOf(backend);
    {
        auto first = InfluenceIndex::open(*p.db, p.modelId, opt);
        QVERIFY(first.ok());
        QVERIFY((*first)->info().built);
        QVERIFY(QFile::exists(QString::fromStdString((*first)->info().directory) + "/index.json"));
        QVERIFY(QString::fromStdString((*first)->info().directory).startsWith(QString::fromStdString(p.path + ".d/index/")));
    }
    {
        auto second = InfluenceIndex::open(*p.db, p.modelId, opt);
        QVERIFY(second.ok());
        QVERIFY(!(*second)->info().built); // loaded
        QVERIFY((*second)->usesIndex());
    }
    {
        IndexOptions other = opt; // other parameters: another fingerprint
        other.params.projectionDim = 32;
        other.buildIfStale = false;
        auto third = InfluenceIndex::open(*p.db, p.modelId, other);
        QVERIFY(third.ok());
        QVERIFY((*third)->info().stale);
        QVERIFY(!(*third)->usesIndex()); // falls back to exact search
        QVERIFY((*third)->query((*third)->store().idOf(0), 5).ok());
        other = opt; // the other backend: another fingerprint too
        other.params.backend = backend == "hnsw" ? IndexBackend::Cells : IndexBackend::Hnsw;
        other.buildIfStale = false;
        auto fourth = InfluenceIndex::open(*p.db, p.modelId, other);
        QVERIFY(fourth.ok());
        QVERIFY((*fourth)->info().stale);
    }
    auto ex = p.db->examples(Split::Train);
    QVERIFY(ex.ok());
    QVERIFY(p.db->relabel(ex->at(3).id, (ex->at(3).currentLabel + 1) % 6).ok());
    // A file of the other backend (or of a layout with more norm ranges) left behind.
    const QString dir = QString::fromStdString(InfluenceIndex::directoryFor(*p.db, p.modelId));
    const QString left = dir + (backend == "hnsw" ? "/tracin.cells" : "/tracin-7.hnsw");
    {
        QFile f(left);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("old index");
    }
    auto fifth = InfluenceIndex::open(*p.db, p.modelId, opt);
    QVERIFY(fifth.ok());
    if (backend == "hnsw") {
        // The graphs' norm ranges follow self-influence, which a relabel changes.
        QVERIFY((*fifth)->info().built);
    } else {
        // A relabel changes one TracIn vector and nothing the fingerprint covers: the
        // cells stay, the relabelled row is rescored from its current factors, and the
        // lists equal exact search.
        QVERIFY(!(*fifth)->info().built);
        QVERIFY((*fifth)->usesIndex());
        QCOMPARE((*fifth)->info().relabelledRows, int64_t(1));
        for (int64_t query : {ex->at(3).id, ex->at(10).id, ex->at(200).id})
            for (Scoring scoring : {Scoring::Raw, Scoring::Normalised}) {
                auto approx = (*fifth)->query(query, 10, scoring, SearchMode::Index);
                auto exact = (*fifth)->query(query, 10, scoring, SearchMode::Exact);
                QVERIFY(approx.ok() && exact.ok());
                QVERIFY(approx->fromIndex && !exact->fromIndex);
                QCOMPARE(idsOf(approx->proponents), idsOf(exact->proponents));
                QCOMPARE(idsOf(approx->opponents), idsOf(exact->opponents));
            }
        opt.forceRebuild = true;
        auto sixth = InfluenceIndex::open(*p.db, p.modelId, opt);
        QVERIFY(sixth.ok());
        QVERIFY((*sixth)->info().built);
        QCOMPARE((*sixth)->info().relabelledRows, int64_t(0));
    }
    QVERIFY(!QFile::exists(left)); // a rebuild removes the unused file
}

void TestInfluenceIndex::damagedCellFileFallsBackToExact_data()
{
    QTest::addColumn<QString>("damage");
    QTest::addColumn<QString>("message");
    QTest::newRow("truncated") << "truncate" << "wrong size";
    QTest::newRow("a label out of range") << "label" << "names rows the project does not have";
}

// A cell file cut short, or one whose size is right but that names a row the project
// lacks (rescoring reads rows unchecked), is refused with the file and the problem named;
// queries fall back to exact search, and the next open with building allowed rebuilds.
void TestInfluenceIndex::damagedCellFileFallsBackToExact()
{
    QFETCH(QString, damage);
    QFETCH(QString, message);
    Project p;
    QVERIFY(p.make(1500, 10));
    IndexOptions opt;
    opt.exactBelow = 1;
    int cells = 0;
    {
        auto built = InfluenceIndex::open(*p.db, p.modelId, opt);
        QVERIFY(built.ok());
        QFile meta(QString::fromStdString(built.value()->info().directory) + "/index.json");
        QVERIFY(meta.open(QIODevice::ReadOnly));
        cells = QJsonDocument::fromJson(meta.readAll()).object().value("tracin_cells").toInt();
        QVERIFY(cells > 0);
    }
    const QString file = QString::fromStdString(InfluenceIndex::directoryFor(*p.db, p.modelId)) + "/tracin.cells";
    if (damage == "truncate") {
        QVERIFY(QFile::resize(file, 100));
    } else {
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadWrite));
        // Header: magic (8), dim and cells (4 + 4), rows (8); then cells + 1 offsets.
        QVERIFY(f.seek(24 + (qint64(cells) + 1) * 8));
        const int64_t badRow = 1 << 30;
        QCOMPARE(f.write(reinterpret_cast<const char *>(&badRow), sizeof badRow), qint64(sizeof badRow));
    }
    IndexOptions readOnly = opt;
    readOnly.buildIfStale = false;
    auto damaged = InfluenceIndex::open(*p.db, p.modelId, readOnly);
    QVERIFY(damaged.ok());
    QVERIFY((*damaged)->info().stale);
    QVERIFY(!(*damaged)->usesIndex());
    const QString reason = QString::fromStdString((*damaged)->info().staleReason);
    QVERIFY2(reason.contains("tracin.cells") || reason.contains("index.json"), qPrintable(reason));
    QVERIFY2(reason.contains(message), qPrintable(reason));
    QVERIFY((*damaged)->query((*damaged)->store().idOf(0), 5).ok());
    auto rebuilt = InfluenceIndex::open(*p.db, p.modelId, opt);
    QVERIFY(rebuilt.ok());
    QVERIFY((*rebuilt)->info().built);
    QVERIFY((*rebuilt)->usesIndex());
}

void TestInfluenceIndex::buildCanBeCancelled_data() { addBackendRows(); }

void TestInfluenceIndex::buildCanBeCancelled()
{
    QFETCH(QString, backend);
    Project p;
    QVERIFY(p.make(3000, 10));
    IndexOptions opt;
    opt.exactBelow = 1;
    opt.params.backend = backendOf(backend);
    CancelFlag cancel{false};
    int64_t reported = 0;
    auto progress = [&](const Progress &pr) {
        if (pr.stage == "index") {
            reported = pr.done;
            cancel = true;
        }
    };
    auto index = InfluenceIndex::open(*p.db, p.modelId, opt, progress, &cancel);
    QVERIFY(!index.ok());
    QVERIFY(index.status().isCancelled());
    QVERIFY(reported > 0);
    const QString dir = QString::fromStdString(InfluenceIndex::directoryFor(*p.db, p.modelId));
    QVERIFY(!QFile::exists(dir + "/index.json")); // nothing that looks fresh
}

QTEST_GUILESS_MAIN(TestInfluenceIndex)
#include "test_influenceindex.moc"
