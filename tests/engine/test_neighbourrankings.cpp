// The rankings beyond the factors: the exact neighbour search, label agreement, the
// out-of-sample scores and the ensemble, on hand-made values.

#include "model/crossvalidation.h"
#include "index/neighbourvote.h"
#include "influence/ranking.h"

#include <QTest>

#include <cmath>
#include <limits>
#include <random>

using namespace traclens;

class TestNeighbourRankings : public QObject
{
    Q_OBJECT

private slots:
    void searchMatchesBruteForce_data();
    void searchMatchesBruteForce();
    void agreementFollowsLabels();
    void ensembleAddsThePoolRankToTheBaselineRank();
    void ensembleReadsTheLaterCheckpoints_data();
    void ensembleReadsTheLaterCheckpoints();
    void missingInputsSortLast();
};

void TestNeighbourRankings::searchMatchesBruteForce_data()
{
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("dim");
    QTest::addColumn<int>("k");
    QTest::addColumn<int>("threads");
    QTest::newRow("small, one thread") << 40 << 5 << 3 << 1;
    QTest::newRow("several blocks, two threads") << 700 << 16 << 20 << 2;
    QTest::newRow("k capped at n - 1") << 6 << 3 << 10 << 2;
    QTest::newRow("blocks over three threads") << 1000 << 8 << 7 << 3;
}

void TestNeighbourRankings::searchMatchesBruteForce()
{
    QFETCH(int, rows);
    QFETCH(int, dim);
    QFETCH(int, k);
    QFETCH(int, threads);
    std::mt19937 rng(uint32_t(rows * 31 + dim));
    std::normal_distribution<float> gauss;
    std::vector<float> v(size_t(rows) * size_t(dim));
    for (float &x : v)
        x = gauss(rng);
    // Two identical rows: a tie, which goes to the lower row.
    std::copy(v.begin(), v.begin() + dim, v.begin() + ptrdiff_t(dim) * 2);
    auto lists = nearestNeighbours(v, rows, dim, k, threads);
    QVERIFY(lists.ok());
    const int kk = std::min(k, rows - 1);
    QCOMPARE(lists->k, kk);
    QCOMPARE(lists->rows(), int64_t(rows));

    auto cosine = [&](int a, int b) {
        double ab = 0, aa = 0, bb = 0;
        for (int j = 0; j < dim; ++j) {
            ab += double(v[size_t(a * dim + j)]) * v[size_t(b * dim + j)];
            aa += double(v[size_t(a * dim + j)]) * v[size_t(a * dim + j)];
            bb += double(v[size_t(b * dim + j)]) * v[size_t(b * dim + j)];
        }
        return ab / std::sqrt(aa * bb);
    };
    for (int i = 0; i < rows; ++i) {
        std::vector<std::pair<double, int>> all;
        for (int j = 0; j < rows; ++j)
            if (j != i)
                all.emplace_back(cosine(i, j), j);
        std::sort(all.begin(), all.end(), [](auto a, auto b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
        for (int j = 0; j < kk; ++j) {
            const size_t at = size_t(i) * size_t(kk) + size_t(j);
            // Float dot products may swap two neighbours whose cosines agree to 1e-6.
            const double got = cosine(i, lists->index[at]);
            QVERIFY2(std::abs(got - all[size_t(j)].first) < 1e-5,
                     qPrintable(QString("row %1, neighbour %2: cosine %3, brute force %4").arg(i).arg(j).arg(got).arg(all[size_t(j)].first)));
            QVERIFY(std::abs(lists->weight[at] - std::max(0.0, got)) < 1e-5);
            QVERIFY(lists->index[at] != i);
        }
    }
    // Row 0 and row 2 are the same vector: each is the other's nearest neighbour.
    QCOMPARE(lists->index[0], 2);
    QCOMPARE(lists->index[size_t(2) * size_t(kk)], 0);
    // The thread split does not change the lists.
    auto one = nearestNeighbours(v, rows, dim, k, 1);
    QVERIFY(one.ok());
    QCOMPARE(one->index, lists->index);
}

void TestNeighbourRankings::agreementFollowsLabels()
{
    NeighbourLists l;
    l.k = 2;
    l.index = {1, 2, /**/ 0, 2, /**/ 0, 1};
    l.weight = {1.0f, 0.5f, /**/ 1.0f, 0.0f, /**/ 0.0f, 0.0f};
    const std::vector<double> a = neighbourAgreement(l, {0, 0, 1});
    QCOMPARE(a[0], 1.0 / 1.5);  // row 1 agrees (weight 1), row 2 does not (0.5)
    QCOMPARE(a[1], 1.0);        // only row 0 has weight, and agrees
    QCOMPARE(a[2], 1.0);        // no weight: no evidence against the label
    // A relabel changes the agreement without a new search.
    QCOMPARE(neighbourAgreement(l, {1, 0, 1})[0], 0.5 / 1.5);
}

void TestNeighbourRankings::ensembleAddsThePoolRankToTheBaselineRank()
{
    CheckpointTerms t;
    t.ids = {5, 7};
    t.labels = {0, 1};
    t.learningRates = {1.0};
    t.labelProbLast = {0.9f, 0.2f};
    auto lists = std::make_shared<NeighbourLists>();
    lists->k = 1;
    lists->index = {1, 0};
    lists->weight = {1.0f, 1.0f};
    t.neighbours = lists;
    auto oos = std::make_shared<OutOfSampleTerms>();
    oos->ids = {5, 7};
    oos->fold = {0, 1};
    oos->numClasses = 2;
    oos->learningRates = {0.5};
    oos->probs = {0.75f, 0.25f, /**/ 0.5f, 0.5f};
    oos->featureNorm = {1.0f, 3.0f};
    t.outOfSample = oos;

    // Labels 0 and 1 disagree: each example's one neighbour votes against it.
    const auto neighbours = rankingScores(t, RankingSpec{RankingKind::Neighbours, {}, 1});
    QCOMPARE(neighbours, (std::vector<double>{1.0, 1.0}));
    const auto cv = rankingScores(t, RankingSpec{RankingKind::CvSelfConfidence, {}, 1});
    QCOMPARE(cv[0], 1.0 - 0.75);
    QCOMPARE(cv[1], 1.0 - 0.5);
    const auto ens = rankingScores(t, RankingSpec{RankingKind::Ensemble, {}, 1});
    // The pool: out-of-sample margins −0.5 and 0 rank 0/2 and 1/2, the neighbours agree with
    // neither, so (0.25 + 1 + 0.1 + 0) / 4 < (0.5 + 1 + 0.8 + 0.5) / 4: ranks 0/2 and 1/2.
    // The baseline 0.25 < 0.5: ranks 0/2 and 1/2. The score is the sum of the two ranks.
    QCOMPARE(ens, (std::vector<double>{0.0, 1.0}));
    // A relabel moves every term, the margin's rank included.
    CheckpointTerms relabelled = t;
    relabelled.labels = {1, 1};
    relabelled.labelProbLast = {0.1f, 0.2f};
    const auto after = rankingScores(relabelled, RankingSpec{RankingKind::Ensemble, {}, 1});
    // Example 5 now has p[y] = 0.25, margin +0.5 (rank 1/2), its neighbour (label 1) agrees:
    // pool (0.75 + 0 + 0.9 + 0.5) / 4 > (0.5 + 0 + 0.8 + 0) / 4, baseline 0.75 > 0.5.
    QCOMPARE(after, (std::vector<double>{1.0, 0.0}));
    // Out-of-sample self-influence: η ‖p − onehot(y)‖² (‖h‖² + 1).
    const auto self = rankingScores(t, RankingSpec{RankingKind::CvSelfInfluence, {}, 1});
    QVERIFY(std::abs(self[0] - 0.5 * (0.0625 + 0.0625) * 2.0) < 1e-6);
    QVERIFY(std::abs(self[1] - 0.5 * (0.25 + 0.25) * 4.0) < 1e-6);
}

void TestNeighbourRankings::ensembleReadsTheLaterCheckpoints_data()
{
    QTest::addColumn<int>("checkpoints");
    QTest::addColumn<int>("window");
    QTest::newRow("one checkpoint: the last") << 1 << 1;
    QTest::newRow("two: the last") << 2 << 1;
    QTest::newRow("three: the last two") << 3 << 2;
    QTest::newRow("four: the last two") << 4 << 2;
    QTest::newRow("sixteen: the last eight") << 16 << 8;
    QTest::newRow("seventeen: the last nine") << 17 << 9;
}

void TestNeighbourRankings::ensembleReadsTheLaterCheckpoints()
{
    QFETCH(int, checkpoints);
    QFETCH(int, window);
    QCOMPARE(lateCheckpointWindow(checkpoints), window);

    // Four examples, three classes; each checkpoint's probabilities differ, so a window of
    // the wrong length or position gives other scores.
    const int n = 4, k = 3;
    auto oos = std::make_shared<OutOfSampleTerms>();
    oos->ids = {2, 4, 6, 8};
    oos->fold = {0, 1, 0, 1};
    oos->numClasses = k;
    oos->learningRates.assign(size_t(checkpoints), 0.1);
    std::mt19937 rng{uint32_t(checkpoints)};
    std::uniform_real_distribution<float> u(0.05f, 1.0f);
    for (int i = 0; i < n * checkpoints; ++i) {
        float p[3] = {u(rng), u(rng), u(rng)};
        const float sum = p[0] + p[1] + p[2];
        for (float v : p)
            oos->probs.push_back(v / sum);
        oos->featureNorm.push_back(1.0f);
    }
    CheckpointTerms t;
    t.ids = oos->ids;
    t.labels = {0, 1, 2, 1};
    t.learningRates = {1.0};
    t.labelProbLast = {0.9f, 0.6f, 0.3f, 0.1f};
    auto lists = std::make_shared<NeighbourLists>();
    lists->k = 1;
    lists->index = {1, 0, 3, 2};
    lists->weight = {1.0f, 1.0f, 1.0f, 1.0f};
    t.neighbours = lists;
    t.outOfSample = oos;

    // The replica: p̄ over the last `window` checkpoints, then the four estimates.
    std::vector<double> cv(n), margin(n);
    for (int i = 0; i < n; ++i) {
        double mean[3] = {0, 0, 0};
        for (int c = checkpoints - window; c < checkpoints; ++c)
            for (int j = 0; j < k; ++j)
                mean[j] += oos->probs[size_t((i * checkpoints + c) * k + j)] / double(window);
        const int y = t.labels[size_t(i)];
        double other = -1.0;
        for (int j = 0; j < k; ++j)
            if (j != y)
                other = std::max(other, mean[j]);
        cv[size_t(i)] = 1.0 - mean[y];
        margin[size_t(i)] = -(mean[y] - other);
    }
    const std::vector<double> agreement = neighbourAgreement(*lists, t.labels);
    // Each value's rank among the four as a fraction, ties in id order.
    auto rankOf = [&](const std::vector<double> &x, int i) {
        int below = 0;
        for (int j = 0; j < n; ++j)
            below += x[size_t(j)] < x[size_t(i)] || (x[size_t(j)] == x[size_t(i)] && j < i);
        return double(below) / n;
    };
    std::vector<double> pool(n);
    for (int i = 0; i < n; ++i)
        pool[size_t(i)] = (cv[size_t(i)] + (1.0 - agreement[size_t(i)]) + (1.0 - double(t.labelProbLast[size_t(i)]))
                           + rankOf(margin, i)) / 4.0;
    // The baseline stays the last checkpoint's 1 − p[y], whatever the pool reads.
    const auto base = rankingScores(t, RankingSpec{RankingKind::CvSelfConfidence, {}, 1});
    for (int i = 0; i < n; ++i) {
        const int y = t.labels[size_t(i)];
        QCOMPARE(base[size_t(i)], 1.0 - double(oos->probs[size_t((i * checkpoints + checkpoints - 1) * k + y)]));
    }
    // The queue's score: the pool's rank plus the baseline's.
    const auto ens = rankingScores(t, RankingSpec{RankingKind::Ensemble, {}, 1});
    for (int i = 0; i < n; ++i) {
        const double expected = rankOf(pool, i) + rankOf(base, i);
        QVERIFY2(std::abs(ens[size_t(i)] - expected) < 1e-9,
                 qPrintable(QString("example %1: %2, expected %3").arg(i).arg(ens[size_t(i)]).arg(expected)));
    }
    // A window longer than the run is the whole run; one of zero is the last checkpoint.
    const auto whole = outOfSampleScores(*oos, oos->ids, t.labels, OutOfSampleScore::SelfConfidence, checkpoints);
    const auto longer = outOfSampleScores(*oos, oos->ids, t.labels, OutOfSampleScore::SelfConfidence, checkpoints + 5);
    QCOMPARE(longer, whole);
    QCOMPARE(outOfSampleScores(*oos, oos->ids, t.labels, OutOfSampleScore::SelfConfidence, 0), base);
}

void TestNeighbourRankings::missingInputsSortLast()
{
    CheckpointTerms t;
    t.ids = {1, 2, 3};
    t.labels = {0, 0, 0};
    t.learningRates = {1.0};
    t.labelProbLast = {0.5f, 0.5f, 0.5f};
    // Nothing attached: every score is NaN, never a made-up number.
    for (RankingKind k : {RankingKind::Neighbours, RankingKind::CvSelfConfidence, RankingKind::CvNoiseRate,
                          RankingKind::CvBoundary, RankingKind::Ensemble})
        for (double v : rankingScores(t, RankingSpec{k, {}, 1}))
            QVERIFY(std::isnan(v));
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const auto order = sortRanking({1, 2, 3, 4}, {nan, 0.5, nan, 0.9});
    QCOMPARE(order[0].exampleId, int64_t(4));
    QCOMPARE(order[1].exampleId, int64_t(2));
    QCOMPARE(order[2].exampleId, int64_t(1));
    QCOMPARE(order[3].exampleId, int64_t(3));
    QVERIFY(needsCrossValidation(RankingKind::Ensemble) && needsNeighbours(RankingKind::Ensemble));
    QVERIFY(!needsCrossValidation(RankingKind::Loss) && !needsNeighbours(RankingKind::Loss));
    QVERIFY(needsCrossValidation(RankingKind::CvNoiseRate) && !needsNeighbours(RankingKind::CvNoiseRate));
    QVERIFY(needsCrossValidation(RankingKind::CvBoundary) && !needsNeighbours(RankingKind::CvBoundary));
    const RankingSpec ensemble{RankingKind::Ensemble, {}, 1};
    QCOMPARE(ensemble.toString(), std::string("ensemble"));
}

QTEST_GUILESS_MAIN(TestNeighbourRankings)
#include "test_neighbourrankings.moc"
