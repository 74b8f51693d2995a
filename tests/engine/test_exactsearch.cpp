// Exact influence queries against a brute-force evaluation of the TracIn formulas in
// double precision, over random factors with several checkpoints and learning rates.

#include "influence/computejob.h"
#include "influence/influenceindex.h"
#include "store/projectdb.h"

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <random>

using namespace traclens;

namespace {

struct Fixture {
    std::unique_ptr<ProjectDb> db;
    int64_t modelId = 0;
    std::vector<double> eta;
    // [checkpoint][example id] → factors
    std::vector<std::map<int64_t, FactorRow>> factors;
    std::vector<int64_t> trainIds, testIds;
};

bool build(const QString &path, int nTrain, int nTest, int k, int d, int checkpoints, Fixture *fx)
{
    auto db = ProjectDb::open(path.toStdString(), ProjectDb::OpenMode::Create);
    if (!db.ok())
        return false;
    fx->db = std::move(db).value();
    std::vector<std::string> classes;
    for (int i = 0; i < k; ++i)
        classes.push_back("c" + std::to_string(i));
    if (!fx->db->setDataset({SourceKind::ImageFolder, "/data", "/data", classes}).isOk())
        return false;
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> label(0, k - 1);
    for (int i = 0; i < nTrain + nTest; ++i) {
        ScannedExample ex;
        ex.source = (i < nTrain ? "train/" : "test/") + std::to_string(i) + ".png";
        ex.split = i < nTrain ? Split::Train : Split::Test;
        ex.label = label(rng);
        auto id = fx->db->upsertExample(ex, "h");
        if (!id.ok())
            return false;
        (i < nTrain ? fx->trainIds : fx->testIds).push_back(*id);
    }
    std::vector<CheckpointRow> cps(static_cast<size_t>(checkpoints));
    for (int c = 0; c < checkpoints; ++c) {
        cps[size_t(c)].file = "ckpt-" + std::to_string(c) + ".pt";
        cps[size_t(c)].learningRate = 0.1 / (c + 1);
        fx->eta.push_back(cps[size_t(c)].learningRate);
    }
    ModelRow m;
    m.name = "random";
    m.directory = "/nowhere";
    m.numClasses = k;
    m.embeddingDim = d;
    auto id = fx->db->addModel(m, cps);
    if (!id.ok())
        return false;
    fx->modelId = *id;
    auto stored = fx->db->checkpoints(fx->modelId);
    if (!stored.ok())
        return false;
    fx->factors.resize(size_t(checkpoints));
    for (int c = 0; c < checkpoints; ++c) {
        std::vector<FactorRow> rows;
        std::vector<int64_t> all = fx->trainIds;
        all.insert(all.end(), fx->testIds.begin(), fx->testIds.end());
        for (int64_t ex : all) {
            FactorRow r;
            r.exampleId = ex;
            r.labelUsed = label(rng);
            r.error.resize(size_t(k));
            r.probs.assign(size_t(k), 1.0f / k);
            for (auto &v : r.error)
                v = normal(rng) * 0.3f;
            r.embedding.resize(size_t(d));
            for (auto &v : r.embedding)
                v = std::abs(normal(rng)) + 0.05f; // positive like ReLU outputs, without exact ties
            r.predicted = 0;
            fx->factors[size_t(c)][ex] = r;
            rows.push_back(std::move(r));
        }
        ProjectDb::Transaction tx(*fx->db);
        if (!fx->db->writeFactors((*stored)[size_t(c)].id, rows).isOk() || !tx.commit().isOk())
            return false;
    }
    return computeSelfInfluence(*fx->db, fx->modelId).isOk();
}

double dotd(const std::vector<float> &a, const std::vector<float> &b)
{
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i)
        s += double(a[i]) * b[i];
    return s;
}

double tracin(const Fixture &fx, int64_t a, int64_t b)
{
    double s = 0;
    for (size_t c = 0; c < fx.factors.size(); ++c) {
        const FactorRow &x = fx.factors[c].at(a), &y = fx.factors[c].at(b);
        s += fx.eta[c] * dotd(x.error, y.error) * (dotd(x.embedding, y.embedding) + 1.0);
    }
    return s;
}

double cosine(const Fixture &fx, int64_t a, int64_t b)
{
    const FactorRow &x = fx.factors.back().at(a), &y = fx.factors.back().at(b);
    return dotd(x.embedding, y.embedding) / std::sqrt(dotd(x.embedding, x.embedding) * dotd(y.embedding, y.embedding));
}

// Brute-force ranking: ids of the k best by `score`, ties by lower id.
std::vector<int64_t> ranked(const Fixture &fx, int64_t query, int k, bool highest,
                            const std::function<double(int64_t)> &score)
{
    std::vector<std::pair<double, int64_t>> all;
    for (int64_t id : fx.trainIds)
        if (id != query)
            all.emplace_back(score(id), id);
    std::sort(all.begin(), all.end(), [&](const auto &a, const auto &b) {
        if (a.first != b.first)
            return highest ? a.first > b.first : a.first < b.first;
        return a.second < b.second;
    });
    std::vector<int64_t> out;
    for (int i = 0; i < k && i < int(all.size()); ++i)
        out.push_back(all[size_t(i)].second);
    return out;
}

std::vector<int64_t> idsOf(const std::vector<Neighbour> &list)
{
    std::vector<int64_t> out;
    for (const auto &n : list)
        out.push_back(n.exampleId);
    return out;
}

} // namespace

class TestExactSearch : public QObject {
    Q_OBJECT
private slots:
    void matchesBruteForce_data();
    void matchesBruteForce();
    void selfInfluenceMatchesFormula();
    void refusesIncompleteFactors();
};

void TestExactSearch::matchesBruteForce_data()
{
    QTest::addColumn<int>("nTrain");
    QTest::addColumn<int>("k");
    QTest::addColumn<int>("d");
    QTest::addColumn<int>("checkpoints");
    QTest::addColumn<bool>("normalised");
    QTest::newRow("small raw") << 50 << 3 << 5 << 1 << false;
    QTest::newRow("three checkpoints raw") << 300 << 10 << 16 << 3 << false;
    QTest::newRow("three checkpoints normalised") << 300 << 10 << 16 << 3 << true;
    QTest::newRow("odd dims, parallel rows") << 25000 << 7 << 13 << 2 << false;
}

void TestExactSearch::matchesBruteForce()
{
    QFETCH(int, nTrain);
    QFETCH(int, k);
    QFETCH(int, d);
    QFETCH(int, checkpoints);
    QFETCH(bool, normalised);
    QTemporaryDir dir;
    Fixture fx;
    QVERIFY(build(dir.filePath("p.traclens"), nTrain, 5, k, d, checkpoints, &fx));
    auto engine = InfluenceIndex::open(*fx.db, fx.modelId, IndexOptions::serving());
    QVERIFY2(engine.ok(), engine.ok() ? "" : engine.status().message().c_str());
    QCOMPARE((*engine)->numCheckpoints(), checkpoints);
    const Scoring scoring = normalised ? Scoring::Normalised : Scoring::Raw;
    auto selfOf = [&](int64_t id) { return tracin(fx, id, id); };
    // One training and one test query.
    for (int64_t query : {fx.trainIds[3], fx.testIds[1]}) {
        auto score = [&](int64_t id) {
            const double t = tracin(fx, query, id);
            return normalised ? t / std::sqrt(selfOf(query) * selfOf(id)) : t;
        };
        auto r = (*engine)->query(query, 5, scoring);
        QVERIFY(r.ok());
        const bool isTrain = std::count(fx.trainIds.begin(), fx.trainIds.end(), query) > 0;
        const int64_t exclude = isTrain ? query : -1;
        QCOMPARE(idsOf(r->proponents), ranked(fx, exclude, 5, true, score));
        QCOMPARE(idsOf(r->opponents), ranked(fx, exclude, 5, false, score));
        for (const auto &n : r->proponents) {
            const double expected = score(n.exampleId);
            QVERIFY2(std::abs(n.score - expected) <= 1e-5 * std::max(1.0, std::abs(expected)),
                     qPrintable(QString("%1 vs %2").arg(n.score).arg(expected)));
        }
        auto cos = [&](int64_t id) { return cosine(fx, query, id); };
        QCOMPARE(idsOf(r->nearest), ranked(fx, exclude, 5, true, cos));
        QCOMPARE(idsOf(r->farthest), ranked(fx, exclude, 5, false, cos));
        QVERIFY(std::abs(r->selfInfluence - selfOf(query)) <= 1e-5 * selfOf(query));
        QVERIFY(!r->fromIndex);
        QVERIFY(!r->float16Factors);
    }
}

void TestExactSearch::selfInfluenceMatchesFormula()
{
    QTemporaryDir dir;
    Fixture fx;
    QVERIFY(build(dir.filePath("p.traclens"), 40, 6, 4, 6, 3, &fx));
    auto stored = fx.db->selfInfluence(fx.modelId);
    QVERIFY(stored.ok());
    QCOMPARE(stored->size(), size_t(46));
    for (size_t i = 1; i < stored->size(); ++i)
        QVERIFY((*stored)[i - 1].second >= (*stored)[i].second); // ranked, highest first
    for (const auto &[id, value] : *stored) {
        double expected = 0;
        for (size_t c = 0; c < fx.factors.size(); ++c) {
            const FactorRow &f = fx.factors[c].at(id);
            expected += fx.eta[c] * dotd(f.error, f.error) * (dotd(f.embedding, f.embedding) + 1.0);
        }
        QVERIFY(std::abs(value - expected) <= 1e-9 * expected);
        QVERIFY(std::abs(value - tracin(fx, id, id)) <= 1e-9 * expected);
    }
}

void TestExactSearch::refusesIncompleteFactors()
{
    QTemporaryDir dir;
    Fixture fx;
    QVERIFY(build(dir.filePath("p.traclens"), 10, 2, 3, 4, 2, &fx));
    ScannedExample extra;
    extra.source = "train/new.png";
    QVERIFY(fx.db->upsertExample(extra, "h").ok());
    auto engine = InfluenceIndex::open(*fx.db, fx.modelId, IndexOptions::serving());
    QVERIFY(!engine.ok());
    QVERIFY2(QString::fromStdString(engine.status().message()).contains("run compute"),
             engine.status().message().c_str());
}

QTEST_GUILESS_MAIN(TestExactSearch)
#include "test_exactsearch.moc"
