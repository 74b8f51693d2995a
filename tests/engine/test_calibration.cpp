// The project's measured default ranking: which ranking a calibration picks from a
// report, what it stores, and when the stored default is used or falls back.

#include "evaluation/calibration.h"
#include "evaluation/evaluation.h"
#include "store/projectdb.h"
#include "influence/ranking.h"

#include <QDateTime>
#include <QVector>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <limits>

using namespace traclens;

namespace {

RankingEvaluation row(RankingKind kind, std::vector<double> recall, double auc, bool offered = true)
{
    RankingEvaluation r;
    r.spec = defaultRankingFor(kind);
    r.name = r.spec.toString();
    r.recall = std::move(recall);
    r.auc = auc;
    r.offered = offered;
    return r;
}

// Budgets 5 % and 10 %; random always looks best where it may, so that picking it would show.
EvaluationReport report(std::vector<RankingEvaluation> rows)
{
    EvaluationReport rep;
    rep.config.budgets = {0.05, 0.10};
    rep.config.noiseRate = 0.2;
    rep.config.noiseType = NoiseType::Pair;
    rep.baselineName = "cv-self-confidence";
    rep.rankings = std::move(rows);
    return rep;
}

// A report whose cleaning loop reviewed the queue (the ensemble) and cv-boundary beside a
// random review, one gain per seed each (points); every seed's noisy-label model has 80 %.
// By recall cv-boundary is the better, so a choice by the cleaning loop shows.
EvaluationReport cleaningReport(const QVector<double> &queue, const QVector<double> &boundary,
                                const QVector<double> &random)
{
    EvaluationReport rep = report({row(RankingKind::Ensemble, {0.5, 0.8}, 0.9),
                                   row(RankingKind::CvBoundary, {0.6, 0.9}, 0.9),
                                   row(RankingKind::Random, {0.99, 0.99}, 0.99)});
    rep.defaultSpec = defaultRankingFor(RankingKind::Ensemble);
    rep.config.cleaningBudgets = {0.10};
    rep.config.cleaningRankings = {defaultRankingFor(RankingKind::CvBoundary)};
    rep.config.train.seed = 1;
    rep.testAccuracyBefore = 0.80;
    const auto add = [&](const std::string &strategy, const QVector<double> &gains) {
        for (int i = 0; i < gains.size(); ++i) {
            CleaningRun run;
            run.strategy = strategy;
            run.seed = uint64_t(i + 1);
            run.budget = 0.10;
            run.reviewed = 100;
            run.testAccuracy = 0.80 + gains[i] / 100.0;
            rep.cleaning.push_back(run);
        }
    };
    add("queue", queue);
    add("cv-boundary", boundary);
    add("random", random);
    for (int seed = 2; seed <= std::max({queue.size(), boundary.size(), random.size()}); ++seed) {
        CleaningRun run;
        run.strategy = "seed";
        run.seed = uint64_t(seed);
        run.testAccuracy = 0.80;
        rep.seedRuns.push_back(run);
    }
    return rep;
}

std::unique_ptr<ProjectDb> emptyProject(const QTemporaryDir &dir)
{
    auto db = ProjectDb::open(dir.filePath("p.traclens").toStdString(), ProjectDb::OpenMode::Create);
    if (!db.ok())
        return nullptr;
    return std::move(db).value();
}

} // namespace

Q_DECLARE_METATYPE(traclens::EvaluationReport)

class TestCalibration : public QObject
{
    Q_OBJECT

private slots:
    void picksBestRanking_data();
    void picksBestRanking();
    void cleaningLoopChooses_data();
    void cleaningLoopChooses();
    void reportWithoutCandidatesIsRefused();
    void defaultFallsBackWithoutCalibration();
    void defaultFollowsStoredCalibration_data();
    void defaultFollowsStoredCalibration();
    void brokenEntryFallsBack();
};

void TestCalibration::picksBestRanking_data()
{
    QTest::addColumn<EvaluationReport>("rep");
    QTest::addColumn<QString>("expected"); // ranking kind name
    const RankingEvaluation random = row(RankingKind::Random, {0.99, 0.99}, 0.99);
    QTest::newRow("highest mean recall")
        << report({row(RankingKind::Loss, {0.5, 0.8}, 0.9), row(RankingKind::Margin, {0.6, 0.8}, 0.8), random})
        << "margin";
    QTest::newRow("mean over budgets, not the first")
        << report({row(RankingKind::Loss, {0.7, 0.7}, 0.9), row(RankingKind::SelfInfluence, {0.5, 0.95}, 0.8), random})
        << "self-influence";
    QTest::newRow("equal mean: higher AUC")
        << report({row(RankingKind::Loss, {0.6, 0.8}, 0.90), row(RankingKind::Neighbours, {0.7, 0.7}, 0.95), random})
        << "neighbours";
    QTest::newRow("study-only rows are not offered")
        << report({row(RankingKind::Loss, {0.6, 0.8}, 0.9), row(RankingKind::SelfInfluence, {0.9, 0.9}, 0.9, false),
                   random})
        << "loss";
    QTest::newRow("the baseline can win")
        << report({row(RankingKind::Ensemble, {0.6, 0.8}, 0.9), row(RankingKind::CvSelfConfidence, {0.7, 0.9}, 0.9),
                   random})
        << "cv-self-confidence";
}

void TestCalibration::picksBestRanking()
{
    QFETCH(EvaluationReport, rep);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    auto db = emptyProject(dir);
    QVERIFY(db);
    QVERIFY(recordCalibration(*db, rep, "/reports/report.json").isOk());

    auto stored = storedCalibration(*db);
    QVERIFY(stored.ok());
    QVERIFY(stored->has_value());
    const CalibrationEvidence &e = **stored;
    QCOMPARE(QString(rankingKindName(e.spec.kind)), expected);
    const RankingEvaluation *best = bestCalibrationRanking(rep);
    QVERIFY(best);
    QCOMPARE(e.name, best->name);
    QVERIFY(e.spec.checkpoints == best->spec.checkpoints);
    QCOMPARE(e.recall, best->recall);
    QCOMPARE(e.auc, best->auc);
    QCOMPARE(e.budgets, rep.config.budgets);
    QCOMPARE(e.noiseType, std::string("pair"));
    QCOMPARE(e.noiseRate, 0.2);
    QCOMPARE(e.reportPath, std::string("/reports/report.json"));
    QCOMPARE(e.baselineName, std::string("cv-self-confidence"));
    QVERIFY(e.recallAt(0.10).has_value());
    QCOMPARE(*e.recallAt(0.10), best->recall[1]);
    QVERIFY(!e.recallAt(0.30).has_value());
    QVERIFY(QDateTime::fromString(QString::fromStdString(e.date), Qt::ISODate).isValid());
    // The entry is compact JSON under the documented key.
    auto raw = db->meta(kCalibrationMetaKey);
    QVERIFY(raw.ok() && raw->has_value());
    QVERIFY(QJsonDocument::fromJson(QByteArray::fromStdString(**raw)).isObject());
    QVERIFY(!QByteArray::fromStdString(**raw).contains('\n'));
}

void TestCalibration::cleaningLoopChooses_data()
{
    QTest::addColumn<EvaluationReport>("rep");
    QTest::addColumn<QString>("expected");      // ranking kind name
    QTest::addColumn<bool>("byCleaning");       // whether the evidence names the loop's gains
    QTest::addColumn<double>("gain");           // the chosen review's mean gain, points
    QTest::addColumn<QString>("runnerUp");
    QTest::addColumn<double>("runnerUpGain");
    QTest::addColumn<double>("randomGain");     // NaN: no random review

    const double nan = std::numeric_limits<double>::quiet_NaN();
    QTest::newRow("the review that gained more, not the one that found more")
        << cleaningReport({0.6, 0.5, 0.7}, {0.2, 0.3, 0.1}, {0.1, 0.0, 0.2}) << "ensemble" << true << 0.6
        << "cv-boundary" << 0.2 << 0.1;
    QTest::newRow("boundary-first gained more")
        << cleaningReport({0.1, 0.2, 0.0}, {0.9, 0.7, 0.8}, {0.3, 0.3, 0.3}) << "cv-boundary" << true << 0.8
        << "ensemble" << 0.1 << 0.3;
    QTest::newRow("equal gains: the queue stays")
        << cleaningReport({0.4, 0.4, 0.4}, {0.3, 0.5, 0.4}, {0.1, 0.1, 0.1}) << "ensemble" << true << 0.4
        << "cv-boundary" << 0.4 << 0.1;
    QTest::newRow("no random review")
        << cleaningReport({0.1, 0.1, 0.1}, {0.5, 0.5, 0.5}, {}) << "cv-boundary" << true << 0.5 << "ensemble" << 0.1
        << nan;
    QTest::newRow("two seeds: by the flips found")
        << cleaningReport({0.9, 0.9}, {0.1, 0.1}, {0.0, 0.0}) << "cv-boundary" << false << nan << "" << nan << nan;
    QTest::newRow("one review beside random: by the flips found")
        << cleaningReport({0.9, 0.9, 0.9}, {}, {0.0, 0.0, 0.0}) << "cv-boundary" << false << nan << "" << nan << nan;
}

void TestCalibration::cleaningLoopChooses()
{
    QFETCH(EvaluationReport, rep);
    QFETCH(QString, expected);
    QFETCH(bool, byCleaning);
    QFETCH(double, gain);
    QFETCH(QString, runnerUp);
    QFETCH(double, runnerUpGain);
    QFETCH(double, randomGain);

    std::optional<CleaningEvidence> evidence = CleaningEvidence{}; // must be reset when not chosen by it
    const RankingEvaluation *best = bestCalibrationRanking(rep, &evidence);
    QVERIFY(best);
    QCOMPARE(QString(rankingKindName(best->spec.kind)), expected);
    QCOMPARE(evidence.has_value(), byCleaning);

    QTemporaryDir dir;
    auto db = emptyProject(dir);
    QVERIFY(db);
    QVERIFY(recordCalibration(*db, rep, "/reports/report.json").isOk());
    auto stored = storedCalibration(*db);
    QVERIFY(stored.ok() && stored->has_value());
    const CalibrationEvidence &e = **stored;
    QCOMPARE(QString(rankingKindName(e.spec.kind)), expected);
    QCOMPARE(e.cleaning.has_value(), byCleaning);
    if (!byCleaning)
        return;
    // What is stored reads back as it was chosen.
    QCOMPARE(e.cleaning->budget, 0.10);
    QCOMPARE(e.cleaning->seeds, 3);
    QVERIFY(qAbs(e.cleaning->gain * 100.0 - gain) < 1e-9);
    QCOMPARE(QString::fromStdString(e.cleaning->runnerUp), runnerUp);
    QVERIFY(qAbs(e.cleaning->runnerUpGain * 100.0 - runnerUpGain) < 1e-9);
    QCOMPARE(e.cleaning->randomGain.has_value(), !std::isnan(randomGain));
    if (e.cleaning->randomGain)
        QVERIFY(qAbs(*e.cleaning->randomGain * 100.0 - randomGain) < 1e-9);
}

void TestCalibration::reportWithoutCandidatesIsRefused()
{
    QTemporaryDir dir;
    auto db = emptyProject(dir);
    QVERIFY(db);
    const Status s = recordCalibration(*db, report({row(RankingKind::Random, {0.1, 0.2}, 0.5)}), "r.json");
    QVERIFY(!s.isOk());
    auto stored = storedCalibration(*db);
    QVERIFY(stored.ok());
    QVERIFY(!stored->has_value());
}

void TestCalibration::defaultFallsBackWithoutCalibration()
{
    QTemporaryDir dir;
    auto db = emptyProject(dir);
    QVERIFY(db);
    QVERIFY(!hasFinishedCrossValidation(*db));
    const RankingSpec spec = projectDefaultRanking(*db);
    QCOMPARE(int(spec.kind), int(RankingKind::Loss));
    QVERIFY(spec.checkpoints == defaultRanking().checkpoints);
}

void TestCalibration::defaultFollowsStoredCalibration_data()
{
    QTest::addColumn<int>("stored");   // RankingKind the calibration picked
    QTest::addColumn<int>("expected"); // what the project's default is without cross-validation
    QTest::newRow("margin needs nothing more") << int(RankingKind::Margin) << int(RankingKind::Margin);
    QTest::newRow("self-influence") << int(RankingKind::SelfInfluence) << int(RankingKind::SelfInfluence);
    QTest::newRow("ensemble without cross-validation falls back") << int(RankingKind::Ensemble) << int(RankingKind::Loss);
    QTest::newRow("baseline without cross-validation falls back")
        << int(RankingKind::CvSelfConfidence) << int(RankingKind::Loss);
}

void TestCalibration::defaultFollowsStoredCalibration()
{
    QFETCH(int, stored);
    QFETCH(int, expected);
    QTemporaryDir dir;
    auto db = emptyProject(dir);
    QVERIFY(db);
    RankingEvaluation best = row(RankingKind(stored), {0.9, 0.95}, 0.97);
    best.spec.checkpoints = CheckpointPolicy{1, 0, CheckpointPolicy::Weighting::Uniform};
    best.name = best.spec.toString();
    QVERIFY(recordCalibration(*db, report({row(RankingKind::Loss, {0.5, 0.6}, 0.8), best}), "r.json").isOk());
    const RankingSpec spec = projectDefaultRanking(*db);
    QCOMPARE(int(spec.kind), expected);
    if (expected == stored)
        QVERIFY(spec.checkpoints == best.spec.checkpoints);
    // The evidence stays readable for display either way.
    auto evidence = storedCalibration(*db);
    QVERIFY(evidence.ok() && evidence->has_value());
    QCOMPARE(int((*evidence)->spec.kind), stored);
}

void TestCalibration::brokenEntryFallsBack()
{
    QTemporaryDir dir;
    auto db = emptyProject(dir);
    QVERIFY(db);
    QVERIFY(db->setMeta(kCalibrationMetaKey, R"({"spec":{"kind":"no-such-ranking"}})").isOk());
    QCOMPARE(int(projectDefaultRanking(*db).kind), int(RankingKind::Loss));
    QVERIFY(!storedCalibration(*db).ok());
}

QTEST_GUILESS_MAIN(TestCalibration)
#include "test_calibration.moc"
