// Clusters: planted clusters of a synthetic project are recovered (adjusted Rand index
// against the planted centres), in TracIn and in embedding space, with k chosen by the
// silhouette or given; stored sets are reused until the project changes.

#include "index/clusterjob.h"
#include "store/projectdb.h"
#include "index/sphericalkmeans.h"
#include "store/synthproject.h"

#include <QTemporaryDir>
#include <QtTest>

#include <map>
#include <random>

using namespace traclens;

namespace {

double choose2(double n)
{
    return n * (n - 1) / 2;
}

// Hubert & Arabie's adjusted Rand index of two labelings of the same items.
double adjustedRandIndex(const std::vector<int> &a, const std::vector<int> &b)
{
    std::map<std::pair<int, int>, double> joint;
    std::map<int, double> ra, rb;
    for (size_t i = 0; i < a.size(); ++i) {
        joint[{a[i], b[i]}] += 1;
        ra[a[i]] += 1;
        rb[b[i]] += 1;
    }
    double index = 0, sa = 0, sb = 0;
    for (const auto &kv : joint)
        index += choose2(kv.second);
    for (const auto &kv : ra)
        sa += choose2(kv.second);
    for (const auto &kv : rb)
        sb += choose2(kv.second);
    const double expected = sa * sb / choose2(double(a.size()));
    const double maxIndex = (sa + sb) / 2;
    return maxIndex == expected ? 1.0 : (index - expected) / (maxIndex - expected);
}

} // namespace

class TestClustering : public QObject {
    Q_OBJECT
private slots:
    void adjustedRandIndexSanity();
    void kmeansSeparatesBlobs_data();
    void kmeansSeparatesBlobs();
    void recoversPlantedClusters_data();
    void recoversPlantedClusters();
    void storedSetsAreReusedUntilStale();
};

void TestClustering::adjustedRandIndexSanity()
{
    QCOMPARE(adjustedRandIndex({0, 0, 1, 1, 2, 2}, {5, 5, 3, 3, 9, 9}), 1.0);
    QVERIFY(adjustedRandIndex({0, 0, 0, 1, 1, 1}, {0, 1, 0, 1, 0, 1}) < 0.1);
}

void TestClustering::kmeansSeparatesBlobs_data()
{
    QTest::addColumn<int>("k");
    QTest::addColumn<int>("dim");
    QTest::newRow("3 blobs, 16 dims") << 3 << 16;
    QTest::newRow("7 blobs, 32 dims") << 7 << 32;
}

// Unit vectors around k random directions: chooseK finds k and the assignment is right.
void TestClustering::kmeansSeparatesBlobs()
{
    QFETCH(int, k);
    QFETCH(int, dim);
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> centres(size_t(k) * size_t(dim));
    for (auto &v : centres)
        v = normal(rng);
    const int n = 1500;
    std::vector<float> data(size_t(n) * size_t(dim));
    std::vector<int> truth(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        truth[size_t(i)] = i % k;
        double s = 0;
        for (int j = 0; j < dim; ++j) {
            float &v = data[size_t(i) * size_t(dim) + size_t(j)];
            v = centres[size_t(truth[size_t(i)]) * size_t(dim) + size_t(j)] + 0.25f * normal(rng);
            s += double(v) * v;
        }
        for (int j = 0; j < dim; ++j)
            data[size_t(i) * size_t(dim) + size_t(j)] /= float(std::sqrt(s));
    }
    KMeansOptions opt;
    KChoice choice = chooseK(data.data(), n, dim, 2, 12, opt, 1000);
    QCOMPARE(choice.best.k, k);
    QVERIFY(choice.silhouette > 0.5);
    QVERIFY(adjustedRandIndex(choice.best.assignment, truth) > 0.99);
}

void TestClustering::recoversPlantedClusters_data()
{
    QTest::addColumn<QString>("space");
    QTest::addColumn<int>("planted");
    QTest::addColumn<int>("givenK");
    QTest::newRow("tracin, 3 planted, k chosen") << "tracin" << 3 << 0;
    QTest::newRow("tracin, 4 planted, k chosen") << "tracin" << 4 << 0;
    QTest::newRow("tracin, 4 planted, k given") << "tracin" << 4 << 4;
    QTest::newRow("embedding, 3 planted, k chosen") << "embedding" << 3 << 0;
}

void TestClustering::recoversPlantedClusters()
{
    QFETCH(QString, space);
    QFETCH(int, planted);
    QFETCH(int, givenK);
    QTemporaryDir dir;
    const std::string path = dir.filePath("synth.traclens").toStdString();
    SynthOptions so;
    so.train = 3000;
    so.test = 50;
    so.classes = 5;
    so.dim = 32;
    so.checkpoints = 3;
    so.clustersPerClass = planted;
    so.seed = 3;
    auto synth = writeSyntheticProject(path, so);
    QVERIFY2(synth.ok(), synth.ok() ? "" : synth.status().message().c_str());
    auto db = ProjectDb::open(path);
    QVERIFY(db.ok());
    std::map<int64_t, int> centre;
    auto examples = (*db)->examples(Split::Train);
    QVERIFY(examples.ok());
    for (const auto &e : *examples)
        centre[e.id] = plantedCentre(e.source);

    ClusterOptions opt;
    opt.space = *parseClusterSpace(space.toStdString());
    opt.k = givenK;
    opt.representatives = 5;
    auto summary = computeClusters(**db, synth->modelId, opt);
    QVERIFY2(summary.ok(), summary.ok() ? "" : summary.status().message().c_str());
    QCOMPARE(int(summary->sets.size()), so.classes);
    QCOMPARE(summary->computed, so.classes);
    for (const auto &set : summary->sets) {
        std::vector<int> found, truth;
        for (const auto &cl : set.clusters)
            for (const auto &m : cl.members) {
                found.push_back(cl.index);
                truth.push_back(centre.at(m.exampleId));
            }
        QCOMPARE(int(set.clusters.size()), planted);
        const double ari = adjustedRandIndex(found, truth);
        QVERIFY2(ari >= 0.9, qPrintable(QString("class %1: ARI %2").arg(set.classIdx).arg(ari)));
        // Clusters are ordered by size and members by similarity to the centroid.
        for (size_t i = 1; i < set.clusters.size(); ++i)
            QVERIFY(set.clusters[i - 1].members.size() >= set.clusters[i].members.size());
        for (const auto &cl : set.clusters)
            for (size_t i = 1; i < cl.members.size(); ++i)
                QVERIFY(cl.members[i - 1].similarity >= cl.members[i].similarity);
    }
}

void TestClustering::storedSetsAreReusedUntilStale()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath("synth.traclens").toStdString();
    SynthOptions so;
    so.train = 600;
    so.test = 10;
    so.classes = 3;
    so.dim = 16;
    so.clustersPerClass = 2;
    auto synth = writeSyntheticProject(path, so);
    QVERIFY(synth.ok());
    auto db = ProjectDb::open(path);
    QVERIFY(db.ok());
    ClusterOptions opt;
    auto first = computeClusters(**db, synth->modelId, opt);
    QVERIFY(first.ok());
    QCOMPARE(first->computed, 3);
    auto stored = (*db)->clusterSet(synth->modelId, "tracin", 1);
    QVERIFY(stored.ok() && stored->has_value());
    QCOMPARE((*stored)->clusters.size(), first->sets[1].clusters.size());
    QCOMPARE((*stored)->clusters[0].members.size(), first->sets[1].clusters[0].members.size());
    QCOMPARE((*stored)->clusters[0].members[0].exampleId, first->sets[1].clusters[0].members[0].exampleId);

    auto second = computeClusters(**db, synth->modelId, opt);
    QVERIFY(second.ok());
    QCOMPARE(second->computed, 0);
    QCOMPARE(second->reused, 3);

    // A relabel changes the members of two classes: their sets are stale, the third
    // class's set is reused.
    auto ex = (*db)->examples(Split::Train);
    QVERIFY(ex.ok());
    QVERIFY((*db)->relabel(ex->front().id, (ex->front().currentLabel + 1) % 3).ok());
    auto third = computeClusters(**db, synth->modelId, opt);
    QVERIFY(third.ok());
    QCOMPARE(third->computed, 2);
    QCOMPARE(third->reused, 1);
    auto classes = (*db)->clusterClasses(synth->modelId, "tracin");
    QVERIFY(classes.ok());
    QCOMPARE(*classes, (std::vector<int>{0, 1, 2}));
}

QTEST_GUILESS_MAIN(TestClustering)
#include "test_clustering.moc"
