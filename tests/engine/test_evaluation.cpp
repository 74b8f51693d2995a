// Mislabel-detection evaluation: the recall / ROC AUC arithmetic on hand-made rankings
// with exact expected values, checkpoint policies and ranking scores on hand-made factors,
// and the whole pipeline (import, noise, train, compute, rank, cleaning loop, report files,
// resume) plus "retrain with my corrections" and confusion noise measured on a model
// trained on the clean labels, on a tiny generated dataset. The noise planner itself is
// tested in test_labelnoise.cpp, known errors (truth files) in test_truthfile.cpp.

#include "evaluation/detectionmetrics.h"
#include "evaluation/evaluation.h"
#include "evaluation/labelnoise.h"
#include "influence/ranking.h"
#include "evaluation/retrain.h"
#include "syntheticimages.h"
#include "syntheticstripes.h"
#include "model/trainjob.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <chrono>
#include <map>
#include <set>
#include <thread>

using namespace traclens;

namespace {

std::vector<char> bits(const char *s)
{
    std::vector<char> out;
    for (; *s; ++s)
        out.push_back(*s == '1' ? 1 : 0);
    return out;
}

TrainConfig tinyTraining()
{
    TrainConfig c = testing::tinyTrainConfig(4, 8, 16, 0.1, 3);
    c.epochs = 2;
    return c;
}

} // namespace

class TestEvaluation : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();

    void reviewCount_data();
    void reviewCount();
    void recallAtFraction_data();
    void recallAtFraction();
    void rocAuc_data();
    void rocAuc();
    void recallCurvePoints();
    void ratioToRandom_data();
    void ratioToRandom();

    void checkpointPolicy_data();
    void checkpointPolicy();
    void policyParsing();
    void rankingScoresOnHandMadeTerms();

    void pipelineEndToEnd();
    void stageTimesCountEverySitting();
    void retrainWithCorrections();
    void confusionNoiseFromTheCleanModel();

private:
    // The tiny dataset with 10 % uniform flips, trained by tinyTraining() in m_dir/`work`.
    EvaluationConfig tinyEvaluation(const QString &work) const
    {
        EvaluationConfig cfg;
        cfg.dataset = m_data.toStdString();
        cfg.workDirectory = m_dir.filePath(work).toStdString();
        cfg.noiseRate = 0.1;
        cfg.noiseSeed = 4;
        cfg.train = tinyTraining();
        cfg.compute.threads = 1;
        return cfg;
    }

    QTemporaryDir m_dir;
    QString m_data;
};

void TestEvaluation::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_data = m_dir.filePath("data");
    testing::SyntheticSpec spec;
    spec.classes = 3;
    spec.trainPerClass = 40;
    spec.testPerClass = 10;
    spec.size = 16;
    testing::writeSyntheticImageFolder(m_data.toStdString(), spec);
}

// --- arithmetic

void TestEvaluation::ratioToRandom_data()
{
    // Test accuracies after the queue's and the random review, seeds 1 and 2, in test images
    // of 1,500; the noisy-label models of the two seeds scored 1,402 and 1,399.
    QTest::addColumn<int>("queue1");
    QTest::addColumn<int>("queue2");
    QTest::addColumn<int>("random1");
    QTest::addColumn<int>("random2");
    QTest::addColumn<double>("ratio"); // NaN: none
    const double nan = std::numeric_limits<double>::quiet_NaN();
    QTest::newRow("twice random") << 1406 << 1403 << 1404 << 1401 << 2.0;
    // +1 and −1 image cancel to +5.6e-17 in floating point, not to zero: no ratio, not 10^14×.
    QTest::newRow("random gains cancel") << 1406 << 1403 << 1403 << 1398 << nan;
    QTest::newRow("random lost") << 1406 << 1403 << 1401 << 1398 << nan;
}

void TestEvaluation::ratioToRandom()
{
    QFETCH(int, queue1);
    QFETCH(int, queue2);
    QFETCH(int, random1);
    QFETCH(int, random2);
    QFETCH(double, ratio);
    EvaluationReport r;
    r.config.cleaningBudgets = {0.1};
    r.config.train.seed = 1;
    r.testAccuracyBefore = 1402 / 1500.0;
    CleaningRun seed2;
    seed2.strategy = "seed";
    seed2.seed = 2;
    seed2.testAccuracy = 1399 / 1500.0;
    r.seedRuns = {seed2};
    const auto run = [](const char *strategy, uint64_t seed, int correct) {
        CleaningRun c;
        c.strategy = strategy;
        c.seed = seed;
        c.budget = 0.1;
        c.testAccuracy = correct / 1500.0;
        return c;
    };
    r.cleaning = {run("queue", 1, queue1), run("queue", 2, queue2), run("random", 1, random1), run("random", 2, random2)};
    const auto rows = cleaningRows(r);
    QCOMPARE(rows.size(), size_t(2));
    QCOMPARE(QString::fromStdString(rows[0].strategy), QString("queue"));
    if (std::isnan(ratio))
        QVERIFY2(std::isnan(rows[0].ratioToRandom), qPrintable(QString::number(rows[0].ratioToRandom)));
    else
        QVERIFY2(qAbs(rows[0].ratioToRandom - ratio) < 1e-6 * ratio, qPrintable(QString::number(rows[0].ratioToRandom)));
}

void TestEvaluation::reviewCount_data()
{
    QTest::addColumn<qint64>("n");
    QTest::addColumn<double>("fraction");
    QTest::addColumn<qint64>("expected");
    QTest::newRow("10% of 30") << qint64(30) << 0.1 << qint64(3);
    QTest::newRow("half of 5 rounds up") << qint64(5) << 0.5 << qint64(3);
    QTest::newRow("30% of 7") << qint64(7) << 0.3 << qint64(2);
    QTest::newRow("1% of 60000") << qint64(60000) << 0.01 << qint64(600);
    QTest::newRow("all") << qint64(9) << 1.0 << qint64(9);
    QTest::newRow("nothing") << qint64(9) << 0.0 << qint64(0);
    QTest::newRow("clamped") << qint64(9) << 1.5 << qint64(9);
}

void TestEvaluation::reviewCount()
{
    QFETCH(qint64, n);
    QFETCH(double, fraction);
    QFETCH(qint64, expected);
    QCOMPARE(traclens::reviewCount(n, fraction), expected);
}

void TestEvaluation::recallAtFraction_data()
{
    QTest::addColumn<QString>("ranking"); // 1 = a flipped label, in review order
    QTest::addColumn<double>("fraction");
    QTest::addColumn<double>("expected");
    QTest::newRow("perfect, top 20%") << "1100000000" << 0.2 << 1.0;
    QTest::newRow("perfect, top 10%") << "1100000000" << 0.1 << 0.5;
    QTest::newRow("worst, top 80%") << "0000000011" << 0.8 << 0.0;
    QTest::newRow("worst, all") << "0000000011" << 1.0 << 1.0;
    QTest::newRow("mixed, top 30%") << "1010010000" << 0.3 << 2.0 / 3.0;
    QTest::newRow("mixed, top 50%") << "1010010000" << 0.5 << 2.0 / 3.0;
    QTest::newRow("mixed, top 60%") << "1010010000" << 0.6 << 1.0;
    QTest::newRow("rounding: 25% of 6 reviews 2") << "010001" << 0.25 << 0.5;
    QTest::newRow("no positives") << "0000" << 0.5 << 0.0;
}

void TestEvaluation::recallAtFraction()
{
    QFETCH(QString, ranking);
    QFETCH(double, fraction);
    QFETCH(double, expected);
    QCOMPARE(traclens::recallAtFraction(bits(qPrintable(ranking)), fraction), expected);
}

void TestEvaluation::rocAuc_data()
{
    QTest::addColumn<QVector<double>>("scores");
    QTest::addColumn<QString>("positive");
    QTest::addColumn<double>("expected");
    QTest::newRow("perfect") << QVector<double>{4, 3, 2, 1} << "1100" << 1.0;
    QTest::newRow("reversed") << QVector<double>{4, 3, 2, 1} << "0011" << 0.0;
    QTest::newRow("interleaved") << QVector<double>{4, 3, 2, 1} << "1010" << 0.75;
    // Ties count half: the positive ties with one negative and beats two.
    QTest::newRow("ties") << QVector<double>{1, 1, 0, 0} << "1000" << 2.5 / 3.0;
    QTest::newRow("all equal") << QVector<double>{7, 7, 7, 7, 7} << "10100" << 0.5;
    QTest::newRow("no positives") << QVector<double>{1, 2, 3} << "000" << 0.5;
    QTest::newRow("unsorted input") << QVector<double>{0.2, 0.9, 0.1, 0.5, 0.7} << "01011" << 1.0;
}

void TestEvaluation::rocAuc()
{
    QFETCH(QVector<double>, scores);
    QFETCH(QString, positive);
    QFETCH(double, expected);
    const std::vector<double> s(scores.begin(), scores.end());
    QCOMPARE(traclens::rocAuc(s, bits(qPrintable(positive))), expected);
}

void TestEvaluation::recallCurvePoints()
{
    const auto curve = recallCurve(bits("1100100000"), 5);
    const std::vector<std::pair<double, double>> expected{{0.0, 0.0}, {0.2, 2.0 / 3.0}, {0.4, 2.0 / 3.0},
                                                          {0.6, 1.0}, {0.8, 1.0},       {1.0, 1.0}};
    QCOMPARE(curve.size(), expected.size());
    for (size_t i = 0; i < curve.size(); ++i) {
        QCOMPARE(curve[i].first, expected[i].first);
        QCOMPARE(curve[i].second, expected[i].second);
    }
}

// --- rankings

void TestEvaluation::checkpointPolicy_data()
{
    QTest::addColumn<int>("skip");
    QTest::addColumn<int>("last");
    QTest::addColumn<int>("checkpoints");
    QTest::addColumn<QVector<int>>("expected");
    QTest::addColumn<QString>("name");
    QTest::newRow("all") << 0 << 0 << 3 << QVector<int>{0, 1, 2} << "all";
    QTest::newRow("skip the first") << 1 << 0 << 3 << QVector<int>{1, 2} << "skip-1";
    QTest::newRow("last only") << 0 << 1 << 3 << QVector<int>{2} << "last-1";
    QTest::newRow("last two") << 0 << 2 << 5 << QVector<int>{3, 4} << "last-2";
    QTest::newRow("skip 1, last 3 of 3") << 1 << 3 << 3 << QVector<int>{1, 2} << "skip-1,last-3";
    QTest::newRow("skipping everything keeps the last") << 4 << 0 << 3 << QVector<int>{2} << "skip-4";
    QTest::newRow("no checkpoints") << 0 << 0 << 0 << QVector<int>{} << "all";
}

void TestEvaluation::checkpointPolicy()
{
    QFETCH(int, skip);
    QFETCH(int, last);
    QFETCH(int, checkpoints);
    QFETCH(QVector<int>, expected);
    QFETCH(QString, name);
    const CheckpointPolicy p{skip, last, CheckpointPolicy::Weighting::LearningRate};
    const std::vector<int> got = p.select(checkpoints);
    QCOMPARE(QVector<int>(got.begin(), got.end()), expected);
    QCOMPARE(QString::fromStdString(p.selectionName()), name);
    auto parsed = CheckpointPolicy::parse(p.selectionName(), p.weightingName());
    QVERIFY(parsed);
    QVERIFY(*parsed == p);
}

void TestEvaluation::policyParsing()
{
    QVERIFY(CheckpointPolicy::parse("all", "uniform")->weighting == CheckpointPolicy::Weighting::Uniform);
    QCOMPARE(CheckpointPolicy::parse("last-2,skip-1", "lr")->lastCount, 2);
    for (const char *bad : {"", "last", "last-", "last-0", "skip-x", "first-2", "last-2,", "all,last-1"})
        QVERIFY2(!CheckpointPolicy::parse(bad, "lr"), bad);
    QVERIFY(!CheckpointPolicy::parse("all", "eta2"));
    for (RankingKind k : allRankingKinds())
        QCOMPARE(parseRankingKind(rankingKindName(k)), std::optional<RankingKind>(k));
    QVERIFY(!parseRankingKind("influence"));
    QCOMPARE(QString::fromStdString(RankingSpec{RankingKind::Loss, CheckpointPolicy::lastOnly(), 1}.toString()),
             QString("loss (last-1, η)"));
}

void TestEvaluation::rankingScoresOnHandMadeTerms()
{
    CheckpointTerms t;
    t.ids = {10, 11, 12};
    t.labels = {0, 1, 0};
    t.predictedLast = {0, 0, 1};
    t.learningRates = {0.5, 0.25};
    // [example][checkpoint]
    t.selfTerm = {4.0, 1.0, /**/ 2.0, 6.0, /**/ 1.0, 1.0};
    t.loss = {0.5f, 0.25f, /**/ 1.0f, 3.0f, /**/ 2.0f, 2.0f};
    t.margin = {0.5f, 0.75f, /**/ -0.25f, -0.5f, /**/ 0.0f, 0.25f};

    auto scores = [&](RankingKind kind, CheckpointPolicy p) { return rankingScores(t, RankingSpec{kind, p, 1}); };
    const CheckpointPolicy all, uniform{0, 0, CheckpointPolicy::Weighting::Uniform}, last = CheckpointPolicy::lastOnly();
    // Self-influence: Σ wᵢ sᵢ.
    QCOMPARE(scores(RankingKind::SelfInfluence, all), (std::vector<double>{2.25, 2.5, 0.75}));
    QCOMPARE(scores(RankingKind::SelfInfluence, uniform), (std::vector<double>{5.0, 8.0, 2.0}));
    QCOMPARE(scores(RankingKind::SelfInfluence, last), (std::vector<double>{0.25, 1.5, 0.25}));
    // Loss and margin: weighted means (margin negated: smallest first).
    QCOMPARE(scores(RankingKind::Loss, all), (std::vector<double>{(0.25 + 0.0625) / 0.75, (0.5 + 0.75) / 0.75, 2.0}));
    QCOMPARE(scores(RankingKind::Loss, last), (std::vector<double>{0.25, 3.0, 2.0}));
    QCOMPARE(scores(RankingKind::Margin, last), (std::vector<double>{-0.75, 0.5, -0.25}));
    QCOMPARE(scores(RankingKind::Margin, uniform), (std::vector<double>{-0.625, 0.375, -0.125}));

    // Random: in [0, 1), reproducible, seed-dependent.
    const auto r1 = rankingScores(t, RankingSpec{RankingKind::Random, {}, 5});
    QCOMPARE(rankingScores(t, RankingSpec{RankingKind::Random, {}, 5}), r1);
    QVERIFY(rankingScores(t, RankingSpec{RankingKind::Random, {}, 6}) != r1);
    for (double v : r1)
        QVERIFY(v >= 0.0 && v < 1.0);

    // Highest first; equal scores by ascending id.
    const auto ranked = sortRanking(t.ids, scores(RankingKind::SelfInfluence, last));
    QCOMPARE(ranked[0].exampleId, int64_t(11));
    QCOMPARE(ranked[1].exampleId, int64_t(10));
    QCOMPARE(ranked[2].exampleId, int64_t(12));
}

// --- the pipeline on tiny data

void TestEvaluation::pipelineEndToEnd()
{
    QElapsedTimer timer;
    timer.start();
    EvaluationConfig cfg = tinyEvaluation("work");
    cfg.cleaningBudgets = {0.1};
    cfg.cleaningUpperBound = true;
    cfg.seedReplicates = 1;
    cfg.cleaningSeeds = 2;
    cfg.command = "test";
    auto report = runEvaluation(cfg);
    QVERIFY2(report.ok(), report.status().message().c_str());
    const EvaluationReport &r = *report;
    QCOMPARE(r.trainCount, int64_t(120));
    QCOMPARE(r.testCount, int64_t(30));
    QCOMPARE(r.flips.size(), size_t(12));
    QCOMPARE(r.flipSources.size(), size_t(12));
    QCOMPARE(r.learningRates, (std::vector<double>{0.1, 0.05}));
    QCOMPARE(r.epochs.size(), size_t(2));

    // Headline rankings: the default, TracIn as published (when not the default), loss, margin, random.
    std::set<RankingKind> kinds;
    for (const auto &e : r.rankings) {
        kinds.insert(e.spec.kind);
        QCOMPARE(e.recall.size(), cfg.budgets.size());
        for (size_t i = 0; i < e.recall.size(); ++i) {
            QVERIFY(e.recall[i] >= 0.0 && e.recall[i] <= 1.0);
            if (i > 0)
                QVERIFY(e.recall[i] >= e.recall[i - 1]); // more review never finds fewer
        }
        QVERIFY(e.auc >= 0.0 && e.auc <= 1.0);
        QCOMPARE(e.curve.size(), size_t(201));
        QCOMPARE(e.curve.back().second, 1.0);
    }
    // The factor rankings, the neighbours, the five out-of-sample rankings (5 folds by
    // default), the ensemble and random.
    QCOMPARE(kinds.size(), size_t(11));
    QCOMPARE(r.rankings.front().name, r.defaultSpec.toString());
    // Picked by confident learning's estimate of the noisy labels, which the report carries:
    // the ensemble or cv-boundary (this tiny model leaves many labels in doubt).
    QCOMPARE(r.labelNoise.covered, r.trainCount);
    QVERIFY(r.labelNoise.pruned > 0);
    QCOMPARE(r.defaultSpec.kind, evaluationDefaultRanking(r.labelNoise.share()).kind);
    QVERIFY(r.defaultSpec.kind == RankingKind::Ensemble || r.defaultSpec.kind == RankingKind::CvBoundary);
    QCOMPARE(r.baselineName, std::string("cv-self-confidence"));
    QVERIFY(!r.policies.empty());
    QVERIFY(!r.bestPolicy.empty());
    QCOMPARE(r.checkpoints.size(), size_t(2));
    double share = 0.0;
    for (const auto &c : r.checkpoints)
        share += c.shareOfSelfInfluence;
    QVERIFY(std::abs(share - 1.0) < 1e-9);
    double counted = 0.0;
    for (double v : r.histogramFlipped)
        counted += v;
    QCOMPARE(counted, 12.0);

    // Cleaning loop: queue and random at 10% (12 reviewed each) with each of the two
    // cleaning seeds, then every flip fixed.
    QCOMPARE(r.cleaning.size(), size_t(5));
    for (const auto &run : r.cleaning) {
        QVERIFY(run.testAccuracy >= 0.0 && run.testAccuracy <= 1.0);
        QVERIFY(run.fixed <= run.reviewed);
    }
    QCOMPARE(r.cleaning[0].strategy, std::string("queue"));
    QCOMPARE(r.cleaning[0].reviewed, int64_t(12));
    QCOMPARE(r.cleaning[0].seed, cfg.train.seed);
    QCOMPARE(r.cleaning[1].strategy, std::string("random"));
    QCOMPARE(r.cleaning[2].strategy, std::string("queue"));
    QCOMPARE(r.cleaning[2].seed, cfg.train.seed + 1);
    // The same review finds the same flips whatever the training seed.
    QCOMPARE(r.cleaning[2].fixed, r.cleaning[0].fixed);
    QCOMPARE(r.cleaning[4].strategy, std::string("all flips fixed"));
    QCOMPARE(r.cleaning[4].fixed, int64_t(12));
    QCOMPARE(r.seedRuns.size(), size_t(1));
    QCOMPARE(r.seedRuns[0].seed, cfg.train.seed + 1);
    QCOMPARE(r.seedRuns[0].fixed, int64_t(0));

    // The ranking API agrees with what compute stored: self-influence (all, η) is the
    // stored self-influence.
    {
        auto db = ProjectDb::open(cfg.workDirectory + "/evaluation.traclens", ProjectDb::OpenMode::ReadOnly);
        QVERIFY(db.ok());
        auto stored = (*db)->selfInfluence(r.modelId);
        auto ranked = rankTrainingExamples(**db, r.modelId, RankingSpec{});
        QVERIFY(stored.ok() && ranked.ok());
        std::map<int64_t, double> byId(stored->begin(), stored->end());
        QCOMPARE(ranked->size(), size_t(120));
        for (const auto &x : *ranked)
            QVERIFY(std::abs(x.score - byId.at(x.exampleId)) <= 1e-9 * std::max(1.0, std::abs(x.score)));
        // The truth is in the project: the flips are exactly the examples whose label changed.
        auto train = (*db)->examples(Split::Train);
        QVERIFY(train.ok());
        std::set<int64_t> changed, flipped;
        for (const auto &e : *train)
            if (e.currentLabel != e.givenLabel)
                changed.insert(e.id);
        for (const auto &f : r.flips)
            flipped.insert(f.exampleId);
        QCOMPARE(changed, flipped);

        // The report lists the first unflipped examples of the default queue, in its order,
        // each with its rank, label, the fold model's view and its pixels.
        auto queue = rankTrainingExamples(**db, r.modelId, r.defaultSpec);
        QVERIFY2(queue.ok(), queue.status().message().c_str());
        std::map<int64_t, int> labelOf;
        for (const auto &e : *train)
            labelOf[e.id] = e.currentLabel;
        std::vector<std::pair<int64_t, int64_t>> expected; // (id, rank)
        for (size_t i = 0; i < queue->size() && expected.size() < size_t(kUnflippedSuspectsShown); ++i)
            if (!flipped.count((*queue)[i].exampleId))
                expected.emplace_back((*queue)[i].exampleId, int64_t(i) + 1);
        QCOMPARE(expected.size(), size_t(kUnflippedSuspectsShown));
        QCOMPARE(r.unflippedAtTop.size(), expected.size());
        for (size_t i = 0; i < expected.size(); ++i) {
            const UnflippedSuspect &u = r.unflippedAtTop[i];
            QCOMPARE(u.id, expected[i].first);
            QCOMPARE(u.rank, expected[i].second);
            QCOMPARE(u.label, labelOf.at(u.id));
            QVERIFY(u.outOfSample);
            QVERIFY(u.modelClass >= 0 && u.modelClass < int(r.classes.size()));
            QVERIFY(u.labelProbability >= 0.0 && u.labelProbability <= 1.0);
            QVERIFY(!u.source.empty());
            QVERIFY(!u.image.isNull() && u.image.width() <= 224 && u.image.height() <= 224);
        }
    }

    // Files: JSON that reads back, Markdown, and the three charts.
    const QString out = m_dir.filePath("report");
    QVERIFY(writeEvaluationReport(r, out.toStdString()).isOk());
    for (const char *png : {"recall-rankings.png", "recall-checkpoints.png", "score-histogram.png", "unflipped-at-top.png"}) {
        QImage image(out + "/" + png);
        QVERIFY2(!image.isNull() && image.width() > 400, png);
    }
    QFile md(out + "/report.md");
    QVERIFY(md.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(md.readAll());
    QVERIFY(text.contains("| top 10% |"));
    QVERIFY(text.contains("The cleaning loop"));
    QVERIFY(text.contains("# Mislabel detection: data, 10% label noise"));
    QVERIFY(text.contains("moved to a uniformly chosen *other* class"));
    QVERIFY(text.contains("Measured on ") && text.contains(" logical cores), 1 LibTorch threads"));
    auto back = readEvaluationReport((out + "/report.json").toStdString());
    QVERIFY2(back.ok(), back.status().message().c_str());
    QCOMPARE(back->flips.size(), r.flips.size());
    QCOMPARE(back->flips[3].exampleId, r.flips[3].exampleId);
    QCOMPARE(back->flips[3].trueLabel, r.flips[3].trueLabel);
    QCOMPARE(back->rankings.size(), r.rankings.size());
    QCOMPARE(back->rankings[1].recall, r.rankings[1].recall);
    QCOMPARE(back->rankings[1].curve.size(), r.rankings[1].curve.size());
    QCOMPARE(back->defaultSpec.toString(), r.defaultSpec.toString());
    // The report names the ensemble's formula it was made with, and keeps it.
    QCOMPARE(r.ensembleFormula, kEnsembleFormulaVersion);
    QCOMPARE(back->ensembleFormula, kEnsembleFormulaVersion);
    QVERIFY(text.contains(QString("the ensemble is formula %1").arg(kEnsembleFormulaVersion)));
    {
        // A report written before the field existed reads as formula 0 ("not stated"), and
        // its Markdown claims no formula.
        QFile f(out + "/report.json");
        QVERIFY(f.open(QIODevice::ReadOnly));
        QJsonObject o = QJsonDocument::fromJson(f.readAll()).object();
        f.close();
        QVERIFY(o.contains("ensemble_formula"));
        o.remove("ensemble_formula");
        const QString older = m_dir.filePath("older-report.json");
        QFile g(older);
        QVERIFY(g.open(QIODevice::WriteOnly));
        g.write(QJsonDocument(o).toJson());
        g.close();
        auto old = readEvaluationReport(older.toStdString());
        QVERIFY2(old.ok(), old.status().message().c_str());
        QCOMPARE(old->ensembleFormula, 0);
        const QString olderOut = m_dir.filePath("older-report");
        QVERIFY(writeEvaluationReport(*old, olderOut.toStdString()).isOk());
        QFile olderMd(olderOut + "/report.md");
        QVERIFY(olderMd.open(QIODevice::ReadOnly));
        QVERIFY(!QString::fromUtf8(olderMd.readAll()).contains("the ensemble is formula"));
    }
    // The fold models' views: plain for a model trained without mirroring; a report made
    // with mirrored views says so and keeps it.
    QVERIFY(!r.mirroredViews);
    QVERIFY(!back->mirroredViews);
    QVERIFY(!text.contains("scored as given and mirrored"));
    {
        EvaluationReport mirrored = *back;
        mirrored.mirroredViews = true;
        const QString mirroredOut = m_dir.filePath("mirrored-report");
        QVERIFY(writeEvaluationReport(mirrored, mirroredOut.toStdString()).isOk());
        auto read = readEvaluationReport((mirroredOut + "/report.json").toStdString());
        QVERIFY2(read.ok(), read.status().message().c_str());
        QVERIFY(read->mirroredViews);
        QFile mirroredMd(mirroredOut + "/report.md");
        QVERIFY(mirroredMd.open(QIODevice::ReadOnly));
        QVERIFY(QString::fromUtf8(mirroredMd.readAll()).contains("scored as given and mirrored left–right"));
    }
    QCOMPARE(back->labelNoise.pruned, r.labelNoise.pruned);
    QCOMPARE(back->labelNoise.covered, r.labelNoise.covered);
    QVERIFY(text.contains("Estimated wrong labels"));
    QCOMPARE(back->cleaning.size(), r.cleaning.size());
    QCOMPARE(back->cleaning[1].testAccuracy, r.cleaning[1].testAccuracy);
    QCOMPARE(back->seedRuns.size(), size_t(1));
    QCOMPARE(back->seedRuns[0].seed, r.seedRuns[0].seed);
    QVERIFY(text.contains("Seed-to-seed spread"));
    QCOMPARE(back->histogramEdges, r.histogramEdges);
    QVERIFY(text.contains("### Unflipped labels at the top of the default queue"));
    QVERIFY(text.contains("](unflipped-at-top.png)"));
    QVERIFY(text.contains(QString("| %1 | `%2` |").arg(r.unflippedAtTop[0].rank).arg(QString::fromStdString(r.unflippedAtTop[0].source))));
    QCOMPARE(back->unflippedAtTop.size(), r.unflippedAtTop.size());
    QCOMPARE(back->unflippedAtTop[5].id, r.unflippedAtTop[5].id);
    QCOMPARE(back->unflippedAtTop[5].rank, r.unflippedAtTop[5].rank);
    QCOMPARE(back->unflippedAtTop[5].source, r.unflippedAtTop[5].source);
    QCOMPARE(back->unflippedAtTop[5].modelClass, r.unflippedAtTop[5].modelClass);
    QCOMPARE(back->unflippedAtTop[5].labelProbability, r.unflippedAtTop[5].labelProbability);
    QVERIFY(readEvaluationReport((out + "/report.md").toStdString()).status().code() == Status::Code::InvalidArgument);

    // A rerun with the same configuration reuses everything: same model, same numbers.
    auto again = runEvaluation(cfg);
    QVERIFY2(again.ok(), again.status().message().c_str());
    QCOMPARE(again->modelId, r.modelId);
    QCOMPARE(again->rankings[0].recall, r.rankings[0].recall);
    QCOMPARE(again->cleaning[0].seconds, r.cleaning[0].seconds); // read back, not retrained
    // Another ranking reviewed in the loop: only its runs are trained, one per seed, and
    // the rows pair each with its seed's noisy-label model.
    // The other of the two orders the noise estimate chooses between.
    const RankingSpec other{r.defaultSpec.kind == RankingKind::Ensemble ? RankingKind::CvBoundary : RankingKind::Ensemble,
                            {}, 1};
    cfg.cleaningRankings = {other};
    auto extra = runEvaluation(cfg);
    QVERIFY2(extra.ok(), extra.status().message().c_str());
    QCOMPARE(extra->cleaning.size(), size_t(7)); // per seed queue, random, the other; every flip fixed
    QCOMPARE(extra->cleaning[0].seconds, r.cleaning[0].seconds);
    QCOMPARE(extra->cleaning[2].strategy, other.toString());
    QCOMPARE(extra->cleaning[2].reviewed, int64_t(12));
    QCOMPARE(extra->cleaning[5].strategy, other.toString());
    QCOMPARE(extra->cleaning[5].seed, cfg.train.seed + 1);
    QCOMPARE(extra->cleaning[5].fixed, extra->cleaning[2].fixed);
    const auto rows = cleaningRows(*extra);
    QCOMPARE(rows.size(), size_t(3));
    QCOMPARE(rows[1].strategy, other.toString());
    QCOMPARE(rows[1].gains.size(), size_t(2));
    QCOMPARE(rows[1].gains[1], extra->cleaning[5].testAccuracy - extra->seedRuns[0].testAccuracy);
    // Both orders the noise estimate chooses between: the one that is the queue is not
    // reviewed a second time, and nothing is trained again.
    cfg.cleaningRankings = {RankingSpec{RankingKind::CvBoundary, {}, 1}, RankingSpec{RankingKind::Ensemble, {}, 1}};
    auto both = runEvaluation(cfg);
    QVERIFY2(both.ok(), both.status().message().c_str());
    QCOMPARE(both->cleaning.size(), extra->cleaning.size());
    for (size_t i = 0; i < both->cleaning.size(); ++i) {
        QCOMPARE(both->cleaning[i].strategy, extra->cleaning[i].strategy);
        QCOMPARE(both->cleaning[i].seconds, extra->cleaning[i].seconds);
    }
    QCOMPARE(cleaningRows(*both).size(), size_t(3));
    // Without folds there is nothing to rank it by: refused before any work.
    EvaluationConfig noFolds = cfg;
    noFolds.folds = 0;
    QCOMPARE(runEvaluation(noFolds).status().code(), Status::Code::InvalidArgument);
    cfg.cleaningRankings.clear();
    // A different noise seed starts afresh in the same work directory.
    cfg.noiseSeed = 5;
    cfg.cleaningBudgets = {};
    cfg.seedReplicates = 0;
    auto fresh = runEvaluation(cfg);
    QVERIFY2(fresh.ok(), fresh.status().message().c_str());
    QVERIFY(fresh->cleaning.empty());
    std::set<int64_t> a, b;
    for (const auto &f : r.flips)
        a.insert(f.exampleId);
    for (const auto &f : fresh->flips)
        b.insert(f.exampleId);
    QVERIFY(a != b);
    qInfo("pipeline: %.1f s", timer.elapsed() / 1000.0);
}

// A cross-validation interrupted part-way and resumed reports the time of both sittings,
// not only the last one's. Cancelling stops it as a kill does, before the stage's time is
// stored. The first sitting is slowed by its progress callback so that it outlasts the
// second by more than the clock's one-second grain: the check below fails if only the
// last sitting counts.
void TestEvaluation::stageTimesCountEverySitting()
{
    EvaluationConfig cfg = tinyEvaluation("sittings");
    cfg.cleaningBudgets = {};
    cfg.seedReplicates = 0;
    cfg.command = "test";
    const std::string carried = cfg.workDirectory + "/evaluation.traclens.d/sitting-crossval.txt";

    CancelFlag cancel{false};
    QElapsedTimer inFolds;
    auto slowFolds = [&](const Progress &p) {
        if (p.detail.rfind("cross-validate: ", 0) != 0)
            return;
        if (!inFolds.isValid())
            inFolds.start();
        if (inFolds.elapsed() >= 5000)
            cancel = true;
        else
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
    };
    auto first = runEvaluation(cfg, slowFolds, &cancel);
    QVERIFY2(first.status().isCancelled(), first.status().message().c_str());
    const double firstSitting = inFolds.elapsed() / 1000.0;
    QVERIFY(QFile::exists(QString::fromStdString(carried)));

    QElapsedTimer timer;
    timer.start();
    auto resumed = runEvaluation(cfg);
    const double secondSitting = timer.elapsed() / 1000.0;
    QVERIFY2(resumed.ok(), resumed.status().message().c_str());
    auto crossValidationSeconds = [](const EvaluationReport &r) {
        for (const auto &[stage, s] : r.seconds)
            if (stage.rfind("cross-validation (", 0) == 0)
                return s;
        return -1.0;
    };
    const double reported = crossValidationSeconds(*resumed);
    // The guard that makes the next check meaningful: the resumed run alone, every stage of
    // it, took less than what the first one spent in its folds.
    QVERIFY2(secondSitting < firstSitting - 1.5, qPrintable(QString("%1 s, %2 s").arg(secondSitting).arg(firstSitting)));
    QVERIFY2(reported >= firstSitting - 1.5 && reported <= firstSitting + secondSitting + 0.5,
             qPrintable(QString("reported %1 s; sittings %2 s and %3 s").arg(reported).arg(firstSitting).arg(secondSitting)));
    QVERIFY(!QFile::exists(QString::fromStdString(carried)));

    // Finished: a further run reads the stored time and adds nothing.
    auto again = runEvaluation(cfg);
    QVERIFY2(again.ok(), again.status().message().c_str());
    QCOMPARE(crossValidationSeconds(*again), reported);
}

void TestEvaluation::retrainWithCorrections()
{
    // The evaluation project of the last run (noise seed 5): fix two flips by hand.
    auto db = ProjectDb::open(m_dir.filePath("work/evaluation.traclens").toStdString());
    QVERIFY(db.ok());
    auto flips = recordedLabelNoise(**db);
    QVERIFY(flips.ok() && flips->size() == 12);
    auto active = (*db)->activeModel();
    QVERIFY(active.ok() && active->has_value());
    const int64_t previous = **active;
    QVERIFY((*db)->relabel((*flips)[0].exampleId, (*flips)[0].trueLabel, "user").ok());
    QVERIFY((*db)->relabel((*flips)[1].exampleId, (*flips)[1].trueLabel, "user").ok());

    auto r = traclens::retrainWithCorrections(**db, previous);
    QVERIFY2(r.ok(), r.status().message().c_str());
    QVERIFY(r->newModel != previous);
    QCOMPARE(r->previousModel, previous);
    QCOMPARE(r->config.epochs, tinyTraining().epochs);
    QCOMPARE(r->config.seed, tinyTraining().seed);
    QVERIFY(r->labelChangesSince >= 2);
    QVERIFY(r->previousTestAccuracy >= 0.0 && r->newTestAccuracy >= 0.0);
    auto nowActive = (*db)->activeModel();
    QCOMPARE(**nowActive, r->newModel);
    auto recorded = recordedTrainConfig(**db, r->newModel);
    QVERIFY(recorded.ok());
    QCOMPARE(recorded->learningRate, tinyTraining().learningRate);

    // A model trained without a recorded configuration: rebuilt from its curve and manifest.
    TrainConfig c = tinyTraining();
    c.epochs = 3;
    c.lrDecay = 0.25;
    c.lrDecayEvery = 2;
    auto plain = trainProjectModel(**db, c, "plain");
    QVERIFY2(plain.ok(), plain.status().message().c_str());
    auto inferred = recordedTrainConfig(**db, *plain);
    QVERIFY2(inferred.ok(), inferred.status().message().c_str());
    QCOMPARE(inferred->epochs, 3);
    QCOMPARE(inferred->width, c.width);
    QCOMPARE(inferred->embeddingDim, c.embeddingDim);
    QCOMPARE(inferred->learningRate, c.learningRate);
    QCOMPARE(inferred->lrDecayEvery, 2);
    QVERIFY(std::abs(inferred->lrDecay - 0.25) < 1e-12);
    QCOMPARE(inferred->schedule, LrSchedule::Step);

    // The cosine schedule is told from its curve, with its initial rate.
    c.schedule = LrSchedule::Cosine;
    auto annealed = trainProjectModel(**db, c, "annealed");
    QVERIFY2(annealed.ok(), annealed.status().message().c_str());
    auto inferredCosine = recordedTrainConfig(**db, *annealed);
    QVERIFY2(inferredCosine.ok(), inferredCosine.status().message().c_str());
    QCOMPARE(inferredCosine->schedule, LrSchedule::Cosine);
    QVERIFY(std::abs(inferredCosine->learningRate - c.learningRate) < 1e-12 * c.learningRate);
    QCOMPARE(inferredCosine->epochs, 3);

    QCOMPARE(traclens::retrainWithCorrections(**db, 9999).status().code(), Status::Code::NotFound);
}

void TestEvaluation::confusionNoiseFromTheCleanModel()
{
    // Confusion noise without a matrix file: the built-in CNN trained on the clean labels,
    // its confusion on the test split, the flips drawn from it; that model then is the
    // cleaning loop's "every flip fixed" run.
    // The classes are easy to tell apart, so a model errs only where a label is wrong: two
    // test images of each class c are moved to class c+1's folder, and the clean-label
    // model's "confusion" of class c+1 is class c.
    const QString data = m_dir.filePath("data-confusion");
    testing::SyntheticSpec spec;
    spec.classes = 3;
    spec.trainPerClass = 40;
    spec.testPerClass = 10;
    spec.size = 16;
    testing::writeSyntheticImageFolder(data.toStdString(), spec);
    auto folder = [&](int c) { return data + "/test/" + QString::fromStdString(testing::className(c)); };
    std::vector<QStringList> files;
    for (int c = 0; c < 3; ++c)
        files.push_back(QDir(folder(c)).entryList({"*.png"}, QDir::Files, QDir::Name));
    for (int c = 0; c < 3; ++c) {
        QCOMPARE(files[size_t(c)].size(), 10);
        for (int i = 0; i < 2; ++i)
            QVERIFY(QFile::rename(folder(c) + "/" + files[size_t(c)][i], folder((c + 1) % 3) + "/" + files[size_t(c)][i]));
    }
    EvaluationConfig cfg;
    cfg.dataset = data.toStdString();
    cfg.workDirectory = m_dir.filePath("work-confusion").toStdString();
    cfg.noiseRate = 0.1;
    cfg.noiseSeed = 2;
    cfg.noiseType = NoiseType::Confusion;
    cfg.train = tinyTraining();
    cfg.compute.threads = 1;
    cfg.cleaningBudgets = {0.1};
    cfg.cleaningSeeds = 1;
    cfg.seedReplicates = 0;
    auto report = runEvaluation(cfg);
    QVERIFY2(report.ok(), report.status().message().c_str());
    const EvaluationReport &r = *report;
    QCOMPARE(r.flips.size(), size_t(12));
    QCOMPARE(r.confusion.size(), size_t(3));
    double total = 0.0;
    for (const auto &row : r.confusion) {
        QCOMPARE(row.size(), size_t(3));
        for (double v : row)
            total += v;
    }
    QCOMPARE(total, double(r.testCount)); // one count per test image
    for (const auto &f : r.flips) {
        QVERIFY(f.noisyLabel != f.trueLabel);
        QVERIFY2(r.confusion[size_t(f.trueLabel)][size_t(f.noisyLabel)] > 0.0, "a flip the matrix never makes");
    }
    QVERIFY(!r.confusionSource.empty());
    // The clean-label model is not the evaluated one, and its accuracy is the upper bound.
    auto db = ProjectDb::open(cfg.workDirectory + "/evaluation.traclens", ProjectDb::OpenMode::ReadOnly);
    QVERIFY(db.ok());
    auto models = (*db)->models();
    QVERIFY(models.ok());
    QCOMPARE(models->size(), size_t(2));
    int64_t cleanId = 0;
    for (const auto &m : *models)
        if (m.name == "clean-labels")
            cleanId = m.id;
    QVERIFY(cleanId != 0 && cleanId != r.modelId);
    auto cleanEpochs = (*db)->epochs(cleanId);
    QVERIFY(cleanEpochs.ok() && !cleanEpochs->empty());
    const CleaningRun *upper = nullptr;
    for (const auto &run : r.cleaning)
        if (run.strategy == "all flips fixed")
            upper = &run;
    QVERIFY(upper);
    QCOMPARE(upper->testAccuracy, cleanEpochs->back().testAccuracy);
    QCOMPARE(upper->fixed, int64_t(12));

    // The report names the type and shows the matrix; it reads back.
    const QString out = m_dir.filePath("report-confusion");
    QVERIFY(writeEvaluationReport(r, out.toStdString()).isOk());
    QFile md(out + "/report.md");
    QVERIFY(md.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(md.readAll());
    QVERIFY(text.contains("10% confusion label noise"));
    QVERIFY(text.contains("Confusion matrix ("));
    auto back = readEvaluationReport((out + "/report.json").toStdString());
    QVERIFY(back.ok());
    QCOMPARE(back->config.noiseType, NoiseType::Confusion);
    QCOMPARE(back->confusion, r.confusion);

    // Resumed with the same configuration: nothing retrained, same flips.
    auto again = runEvaluation(cfg);
    QVERIFY2(again.ok(), again.status().message().c_str());
    QCOMPARE(again->modelId, r.modelId);
    QCOMPARE(again->confusion, r.confusion);
    QCOMPARE(again->flips.size(), r.flips.size());
    // Another noise type is another configuration: the work directory starts afresh.
    cfg.noiseType = NoiseType::Pair;
    cfg.cleaningBudgets = {};
    auto pair = runEvaluation(cfg);
    QVERIFY2(pair.ok(), pair.status().message().c_str());
    QVERIFY(pair->confusion.empty());
    for (const auto &f : pair->flips)
        QCOMPARE(f.noisyLabel, (f.trueLabel + 1) % 3);
}

QTEST_MAIN(TestEvaluation)
#include "test_evaluation.moc"
