// K-fold cross-validation (core/model/crossvalidation.h): the stratified fold assignment; the
// out-of-sample terms of a tiny project (each example scored by the fold model that did
// not train on it, probabilities summing to 1, scores following the labels given);
// `traclens-cli crossvalidate` killed with SIGKILL after its first fold, then run again:
// finished folds are not retrained and the stored terms equal an uninterrupted run's bit
// for bit; and the adaptive run, whose first fold chooses every fold's epoch count (the
// default without a model trained in the project), resumed after a cancel as well.

#include "clirun.h"
#include "evaluation/calibration.h"
#include "model/crossvalidation.h"
#include "model/modelrunner.h"
#include "model/modelspec.h"
#include "model/trainjob.h"
#include "store/projectdb.h"
#include "testproject.h"
#include "model/trainingrecord.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>

using namespace traclens;
using traclens::testing::TestProject;

class TestCrossValidation : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void foldAssignment_data();
    void foldAssignment();
    void outOfSample_data();
    void outOfSample();
    void noiseRateScores_data();
    void noiseRateScores();
    void noRunIsNotFound();
    void rerunKeepsOrStartsAfresh();
    void mirroredViewsRescoreTheFoldModels_data();
    void mirroredViewsRescoreTheFoldModels();
    void mirroredViewsByDefaultFollowTheTraining_data();
    void mirroredViewsByDefaultFollowTheTraining();
    void noiseEstimateIsKeptPerRun();
    void noiseEstimatePicksTheDefault_data();
    void noiseEstimatePicksTheDefault();
    void resumesAfterSigkill();
    void adaptiveFirstFoldChoosesTheCount_data();
    void adaptiveFirstFoldChoosesTheCount();

private:
    QTemporaryDir m_dir;
    std::unique_ptr<TestProject> m_project;
};

namespace {

std::unique_ptr<ProjectDb> openDb(const std::string &path)
{
    auto db = ProjectDb::open(path);
    return db.ok() ? std::move(db).value() : nullptr;
}

// The smallest run: two folds of one epoch of the tiny model.
CrossValidationConfig tinyCrossValidation()
{
    CrossValidationConfig config;
    config.folds = 2;
    config.train = TestProject::tinyTrainConfig();
    config.train.epochs = 1;
    return config;
}

// Modification times of every file under `dir`, by relative path.
std::map<std::string, std::filesystem::file_time_type> fileTimes(const std::string &dir)
{
    std::map<std::string, std::filesystem::file_time_type> out;
    std::error_code ec;
    for (const auto &e : std::filesystem::recursive_directory_iterator(dir, ec))
        if (e.is_regular_file())
            out[std::filesystem::relative(e.path(), dir).string()] = e.last_write_time();
    return out;
}

} // namespace

void TestCrossValidation::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_project = std::make_unique<TestProject>(m_dir.filePath("tiny").toStdString());
    const Status built = m_project->build(TestProject::Stage::Imported);
    QVERIFY2(built.isOk(), built.message().c_str());
}

void TestCrossValidation::foldAssignment_data()
{
    QTest::addColumn<int>("count");
    QTest::addColumn<int>("classes");
    QTest::addColumn<int>("folds");
    QTest::addColumn<bool>("skewed"); // class sizes far apart
    QTest::newRow("60 examples, 3 classes, 2 folds") << 60 << 3 << 2 << false;
    QTest::newRow("61 examples, 3 classes, 4 folds") << 61 << 3 << 4 << false;
    QTest::newRow("500 examples, 10 classes, 5 folds") << 500 << 10 << 5 << false;
    QTest::newRow("skewed classes, 4 folds") << 203 << 4 << 4 << true;
    QTest::newRow("fewer examples of a class than folds") << 40 << 7 << 10 << true;
}

void TestCrossValidation::foldAssignment()
{
    QFETCH(int, count);
    QFETCH(int, classes);
    QFETCH(int, folds);
    QFETCH(bool, skewed);
    // Ids with gaps, in no particular order, as a project's live examples may have.
    std::mt19937 rng(5);
    std::vector<int64_t> ids(static_cast<size_t>(count));
    std::vector<int> labels(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
        ids[size_t(i)] = 3 * int64_t(i) + 11;
        labels[size_t(i)] = skewed ? std::min(classes - 1, int(std::sqrt(double(rng() % uint32_t(classes * classes)))))
                                   : int(rng() % uint32_t(classes));
    }
    std::shuffle(ids.begin(), ids.end(), rng);

    const std::vector<int> fold = assignFolds(ids, labels, folds, 1);
    QCOMPARE(fold.size(), size_t(count));
    std::vector<std::vector<int>> perClass(size_t(classes), std::vector<int>(size_t(folds), 0));
    std::vector<int> sizes(size_t(folds), 0);
    for (int i = 0; i < count; ++i) {
        QVERIFY(fold[size_t(i)] >= 0 && fold[size_t(i)] < folds);
        ++perClass[size_t(labels[size_t(i)])][size_t(fold[size_t(i)])];
        ++sizes[size_t(fold[size_t(i)])];
    }
    // Stratified: each class spread over the folds within one example; folds balanced.
    for (const auto &counts : perClass)
        QVERIFY(*std::max_element(counts.begin(), counts.end()) - *std::min_element(counts.begin(), counts.end()) <= 1);
    QVERIFY(*std::max_element(sizes.begin(), sizes.end()) - *std::min_element(sizes.begin(), sizes.end()) <= 1);

    // Deterministic, and a property of (id, label), not of the input order.
    QCOMPARE(assignFolds(ids, labels, folds, 1), fold);
    std::vector<size_t> order(static_cast<size_t>(count));
    std::iota(order.begin(), order.end(), size_t(0));
    std::reverse(order.begin(), order.end());
    std::vector<int64_t> ids2;
    std::vector<int> labels2;
    for (size_t p : order) {
        ids2.push_back(ids[p]);
        labels2.push_back(labels[p]);
    }
    const std::vector<int> fold2 = assignFolds(ids2, labels2, folds, 1);
    for (size_t j = 0; j < order.size(); ++j)
        QCOMPARE(fold2[j], fold[order[j]]);

    // Another seed deals differently.
    QVERIFY(assignFolds(ids, labels, folds, 2) != fold);
}

void TestCrossValidation::outOfSample_data()
{
    QTest::addColumn<int>("folds");
    QTest::addColumn<int>("epochs");
    QTest::addColumn<int>("checkpointEvery");
    QTest::addColumn<int>("checkpoints");
    QTest::newRow("2 folds, 1 epoch") << 2 << 1 << 1 << 1;
    QTest::newRow("2 folds, 2 epochs") << 2 << 2 << 1 << 2;
    QTest::newRow("3 folds, 3 epochs, checkpoint every 2") << 3 << 3 << 2 << 2;
}

void TestCrossValidation::outOfSample()
{
    QFETCH(int, folds);
    QFETCH(int, epochs);
    QFETCH(int, checkpointEvery);
    QFETCH(int, checkpoints);
    auto db = openDb(m_project->projectPath());
    QVERIFY(db);
    CrossValidationConfig config;
    config.folds = folds;
    config.train = TestProject::tinyTrainConfig();
    config.train.epochs = epochs;
    config.train.checkpointEvery = checkpointEvery;
    config.seed = 3;
    std::vector<Progress> reports;
    const Status s = runCrossValidation(*db, config, [&](const Progress &p) { reports.push_back(p); });
    QVERIFY2(s.isOk(), s.message().c_str());
    QVERIFY(!reports.empty());
    QCOMPARE(reports.back().stage, std::string("cross-validate"));
    QCOMPARE(reports.back().done, reports.back().total);
    QVERIFY(std::any_of(reports.begin(), reports.end(), [&](const Progress &p) {
        return p.detail.rfind("fold " + std::to_string(folds) + " of " + std::to_string(folds) + ": training epoch", 0)
               == 0;
    }));

    auto terms = loadOutOfSampleTerms(*db);
    QVERIFY2(terms.ok(), terms.ok() ? "" : terms.status().message().c_str());
    auto train = db->exampleLabels(Split::Train);
    QVERIFY(train.ok());
    std::vector<int64_t> ids;
    std::vector<int> labels;
    for (const auto &[id, label] : *train) {
        ids.push_back(id);
        labels.push_back(label);
    }
    QCOMPARE(terms->ids, ids);
    QCOMPARE(terms->numClasses, 3);
    QCOMPARE(terms->numCheckpoints(), checkpoints);
    QCOMPARE(terms->probs.size(), ids.size() * size_t(checkpoints) * 3);
    QCOMPARE(terms->featureNorm.size(), ids.size() * size_t(checkpoints));
    // The trainer's schedule at the first checkpoint's epoch.
    QCOMPARE(terms->learningRates.front(),
             learningRateForEpoch(config.train, std::min(checkpointEvery, epochs), epochs));

    // Each example's fold is the one whose model was trained without it: the assignment
    // recomputed, and the fold model's training record counting the other folds only.
    const std::vector<int> expected = assignFolds(ids, labels, folds, config.seed);
    QCOMPARE(terms->fold, expected);
    for (int k = 0; k < folds; ++k) {
        const int64_t heldOut = std::count(expected.begin(), expected.end(), k);
        auto record = readTrainingRecord(crossValidationDirectory(*db) + "/fold-" + std::to_string(k));
        QVERIFY2(record.ok(), record.ok() ? "" : record.status().message().c_str());
        QCOMPARE(record->trainCount, int64_t(ids.size()) - heldOut);
        QCOMPARE(record->epochs, epochs);
    }

    // Probabilities sum to 1; feature norms are finite and non-negative.
    for (size_t r = 0; r < ids.size() * size_t(checkpoints); ++r) {
        const float *p = terms->probs.data() + r * 3;
        QVERIFY(std::abs(double(p[0]) + p[1] + p[2] - 1.0) < 1e-5);
        QVERIFY(std::isfinite(terms->featureNorm[r]) && terms->featureNorm[r] >= 0.0f);
    }

    // Scores with the current labels and with other labels: they follow the label given.
    std::vector<int> other(labels.size());
    for (size_t i = 0; i < labels.size(); ++i)
        other[i] = (labels[i] + 1) % 3;
    const auto confidence = outOfSampleScores(*terms, ids, labels, OutOfSampleScore::SelfConfidence);
    const auto confidenceOther = outOfSampleScores(*terms, ids, other, OutOfSampleScore::SelfConfidence);
    const auto margin = outOfSampleScores(*terms, ids, labels, OutOfSampleScore::Margin);
    const auto influence = outOfSampleScores(*terms, ids, labels, OutOfSampleScore::SelfInfluence);
    const auto influenceOther = outOfSampleScores(*terms, ids, other, OutOfSampleScore::SelfInfluence);
    const size_t c = size_t(checkpoints);
    for (size_t i = 0; i < ids.size(); ++i) {
        const float *last = terms->probs.data() + (i * c + c - 1) * 3;
        QCOMPARE(confidence[i], 1.0 - double(last[labels[i]]));
        QCOMPARE(confidenceOther[i], 1.0 - double(last[other[i]]));
        QVERIFY(confidence[i] != confidenceOther[i] || last[labels[i]] == last[other[i]]);
        double best = -1.0;
        for (int j = 0; j < 3; ++j)
            if (j != labels[i])
                best = std::max(best, double(last[j]));
        QCOMPARE(margin[i], -(double(last[labels[i]]) - best));
        double sum = 0.0;
        for (size_t cp = 0; cp < c; ++cp) {
            const float *p = terms->probs.data() + (i * c + cp) * 3;
            double e2 = 0.0;
            for (int j = 0; j < 3; ++j)
                e2 += std::pow(double(p[j]) - (j == labels[i] ? 1.0 : 0.0), 2);
            sum += terms->learningRates[cp] * e2 * (double(terms->featureNorm[i * c + cp]) + 1.0);
        }
        QVERIFY(std::abs(influence[i] - sum) <= 1e-12 * std::max(1.0, sum));
        QVERIFY(influence[i] != influenceOther[i]);
    }
    // The agreement: the share whose most probable class is the label, with either labels.
    int agree = 0, agreeOther = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
        const float *last = terms->probs.data() + (i * c + c - 1) * 3;
        const int top = int(std::max_element(last, last + 3) - last);
        agree += top == labels[i];
        agreeOther += top == other[i];
    }
    QCOMPARE(outOfFoldAgreement(*terms, ids, labels), double(agree) / double(ids.size()));
    QCOMPARE(outOfFoldAgreement(*terms, ids, other), double(agreeOther) / double(ids.size()));
    QVERIFY(std::isnan(outOfFoldAgreement(*terms, {ids.back() + 1000}, {0})));
    // Unknown ids and labels score NaN.
    const auto unknown = outOfSampleScores(*terms, {ids.back() + 1000, ids.front()}, {0, 7},
                                           OutOfSampleScore::SelfConfidence);
    QVERIFY(std::isnan(unknown[0]) && std::isnan(unknown[1]));

    // A relabel keeps the run: the terms are the same, and the score follows the new label.
    auto changed = db->relabel(ids.front(), other.front());
    QVERIFY(changed.ok());
    auto again = loadOutOfSampleTerms(*db);
    QVERIFY(again.ok());
    QCOMPARE(again->probs, terms->probs);
    const auto after = outOfSampleScores(*again, {ids.front()}, {other.front()}, OutOfSampleScore::SelfConfidence);
    QCOMPARE(after.front(), confidenceOther.front());
    QVERIFY(db->relabel(ids.front(), labels.front()).ok());
}

void TestCrossValidation::noiseRateScores_data()
{
    // Per example: label and out-of-sample probabilities (one checkpoint). Expected: the
    // scores, worked out by hand from the definition in crossvalidation.h.
    QTest::addColumn<int>("classes");
    QTest::addColumn<QVector<int>>("labels");
    QTest::addColumn<QVector<double>>("probs");
    QTest::addColumn<QVector<double>>("expected");
    QTest::addColumn<QVector<double>>("boundary");

    // Two classes. Thresholds: t0 = mean p0 of the 0-labelled = 0.65, t1 = 0.75. Row 0 of
    // the confident joint: three reach t0, one reaches t1 → Q[0][1] = 1. Row 1: three reach
    // t1, the fourth (0.6, 0.4) reaches neither → Q[1][0] = 0. So the pruned set is the
    // 0-labelled example most likely 1 (score 1/1); the rest follow −(1 − margin)/2, which
    // puts the unconfident (0.6, 0.4) next, before the confidently 0-labelled ones.
    QTest::newRow("two classes")
        << 2 << QVector<int>{0, 0, 0, 0, 1, 1, 1, 1}
        << QVector<double>{0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.2, 0.8, 0.1, 0.9, 0.1, 0.9, 0.2, 0.8, 0.6, 0.4}
        << QVector<double>{-0.9, -0.8, -0.7, 1.0, -0.9, -0.9, -0.8, -0.4}
        // Boundary first: the one pruned example alone in its cell, 1 + 1/1.
        << QVector<double>{-0.9, -0.8, -0.7, 2.0, -0.9, -0.9, -0.8, -0.4};
    // Three classes: t0 = 0.375, t1 = t2 = 0.7. Row 0 counts (2, 3, 1) over 6 examples →
    // Q[0][1] = 3, Q[0][2] = 1. Cell (0,1) by p1 − p0: c1, c2, c3 score 3, 3/2, 3/3; cell
    // (0,2) by p2 − p0: d1 scores 1. The review of the pruned set takes three from the
    // larger cell and one from the smaller, as the estimated noise is shared.
    QTest::newRow("three classes, two cells")
        << 3 << QVector<int>{0, 0, 0, 0, 0, 0, 1, 1, 2, 2}
        << QVector<double>{0.9,  0.05, 0.05, 0.9, 0.05, 0.05, 0.1, 0.85, 0.05, 0.1, 0.8, 0.1,
                           0.15, 0.75, 0.1,  0.1, 0.1,  0.8,  0.2, 0.7,  0.1,  0.2, 0.7, 0.1,
                           0.2,  0.1,  0.7,  0.2, 0.1,  0.7}
        << QVector<double>{-0.925, -0.925, 3.0, 1.5, 1.0, 1.0, -0.75, -0.75, -0.75, -0.75}
        // Boundary first: cell (0,1) holds c1, c2, c3 with |margin| 0.75, 0.7, 0.6, so c3
        // comes first (1 + 3/1), then c2 (1 + 3/2), then c1 (1 + 3/3); d1 is alone in (0,2).
        << QVector<double>{-0.925, -0.925, 2.0, 2.5, 4.0, 2.0, -0.75, -0.75, -0.75, -0.75};
}

void TestCrossValidation::noiseRateScores()
{
    QFETCH(int, classes);
    QFETCH(QVector<int>, labels);
    QFETCH(QVector<double>, probs);
    QFETCH(QVector<double>, expected);
    QFETCH(QVector<double>, boundary);
    OutOfSampleTerms terms;
    terms.numClasses = classes;
    terms.learningRates = {0.1};
    for (int i = 0; i < labels.size(); ++i) {
        terms.ids.push_back(10 + i);
        terms.fold.push_back(i % 2);
        terms.featureNorm.push_back(1.0f);
    }
    for (double p : probs)
        terms.probs.push_back(float(p));
    const std::vector<int> y(labels.begin(), labels.end());
    const auto scores = outOfSampleScores(terms, terms.ids, y, OutOfSampleScore::NoiseRate);
    const auto reordered = outOfSampleScores(terms, terms.ids, y, OutOfSampleScore::Boundary);
    QCOMPARE(int(scores.size()), labels.size());
    QCOMPARE(int(reordered.size()), labels.size());
    for (int i = 0; i < labels.size(); ++i) {
        QVERIFY2(std::abs(scores[size_t(i)] - expected[i]) < 1e-6,
                 qPrintable(QString("example %1: %2, expected %3").arg(i).arg(scores[size_t(i)]).arg(expected[i])));
        QVERIFY2(std::abs(reordered[size_t(i)] - boundary[i]) < 1e-6,
                 qPrintable(QString("boundary, example %1: %2, expected %3")
                                .arg(i)
                                .arg(reordered[size_t(i)])
                                .arg(boundary[i])));
        // Both orders review the same pruned set first.
        QCOMPARE(scores[size_t(i)] >= 1.0, reordered[size_t(i)] >= 1.0);
    }

    // The noise estimate is the pruned set's share: one of 8, four of 10.
    const LabelNoiseEstimate noise = estimateLabelNoise(terms, terms.ids, y);
    QCOMPARE(noise.pruned, int64_t(std::count_if(expected.begin(), expected.end(), [](double v) { return v >= 1.0; })));
    QCOMPARE(noise.covered, int64_t(labels.size()));
    QVERIFY(noise.share() > 0.0 && noise.share() < 0.5);

    // The score depends on the whole set: scoring a subset changes the thresholds, and an
    // id the run does not cover scores NaN without moving the others.
    std::vector<int64_t> ids = terms.ids;
    std::vector<int> withUnknown = y;
    ids.push_back(999);
    withUnknown.push_back(0);
    const auto more = outOfSampleScores(terms, ids, withUnknown, OutOfSampleScore::NoiseRate);
    QVERIFY(std::isnan(more.back()));
    QCOMPARE(estimateLabelNoise(terms, ids, withUnknown).covered, int64_t(labels.size()));
    for (size_t i = 0; i < scores.size(); ++i)
        QCOMPARE(more[i], scores[i]);
    QCOMPARE(QString(outOfSampleScoreName(OutOfSampleScore::NoiseRate)), QString("cv-noise-rate"));
    OutOfSampleScore parsed = OutOfSampleScore::SelfConfidence;
    QVERIFY(parseOutOfSampleScore("noise-rate", &parsed) && parsed == OutOfSampleScore::NoiseRate);
    QVERIFY(parseOutOfSampleScore("cv-boundary", &parsed) && parsed == OutOfSampleScore::Boundary);
}

void TestCrossValidation::noRunIsNotFound()
{
    QTemporaryDir dir;
    TestProject project(dir.filePath("empty").toStdString());
    QVERIFY(project.build(TestProject::Stage::Imported).isOk());
    auto db = openDb(project.projectPath());
    QVERIFY(db);
    auto terms = loadOutOfSampleTerms(*db);
    QVERIFY(!terms.ok());
    QCOMPARE(terms.status().code(), Status::Code::NotFound);
    // A bad configuration is refused before any work.
    CrossValidationConfig one;
    one.folds = 1;
    QCOMPARE(runCrossValidation(*db, one).code(), Status::Code::InvalidArgument);
    CrossValidationConfig tooMany;
    tooMany.folds = 1000;
    QCOMPARE(runCrossValidation(*db, tooMany).code(), Status::Code::InvalidArgument);
}

void TestCrossValidation::rerunKeepsOrStartsAfresh()
{
    QTemporaryDir dir;
    TestProject project(dir.filePath("rerun").toStdString());
    QVERIFY(project.build(TestProject::Stage::Imported).isOk());
    auto db = openDb(project.projectPath());
    QVERIFY(db);
    CrossValidationConfig config = tinyCrossValidation();
    QVERIFY(runCrossValidation(*db, config).isOk());
    auto first = db->crossValidationRun();
    QVERIFY(first.ok() && first->has_value());
    const std::string root = crossValidationDirectory(*db);
    const auto times = fileTimes(root);
    QVERIFY(!times.empty());

    // The same configuration and training set: nothing is trained again.
    std::vector<Progress> reports;
    QVERIFY(runCrossValidation(*db, config, [&](const Progress &p) { reports.push_back(p); }).isOk());
    auto same = db->crossValidationRun();
    QVERIFY(same.ok() && same->has_value());
    QCOMPARE((*same)->id, (*first)->id);
    QCOMPARE(fileTimes(root), times);
    QVERIFY(std::none_of(reports.begin(), reports.end(),
                         [](const Progress &p) { return p.detail.find("training") != std::string::npos; }));

    // A label changed since the run started: a new run, the old folders replaced.
    auto train = db->exampleLabels(Split::Train);
    QVERIFY(train.ok());
    const auto [id, label] = train->front();
    QVERIFY(db->relabel(id, (label + 1) % 3).ok());
    QVERIFY(std::filesystem::create_directories(root + "/fold-0/leftover"));
    QVERIFY(runCrossValidation(*db, config).isOk());
    auto fresh = db->crossValidationRun();
    QVERIFY(fresh.ok() && fresh->has_value());
    QVERIFY((*fresh)->id != (*first)->id);
    QVERIFY((*fresh)->fingerprint != (*first)->fingerprint);
    QVERIFY(!std::filesystem::exists(root + "/fold-0/leftover"));
    auto terms = loadOutOfSampleTerms(*db);
    QVERIFY(terms.ok());
    QCOMPARE(terms->ids.size(), train->size());

    // Another configuration starts afresh too.
    config.seed = 9;
    QVERIFY(runCrossValidation(*db, config).isOk());
    auto reseeded = db->crossValidationRun();
    QVERIFY(reseeded.ok() && reseeded->has_value());
    QVERIFY((*reseeded)->id != (*fresh)->id);
    QVERIFY(loadOutOfSampleTerms(*db).ok());
}

void TestCrossValidation::mirroredViewsByDefaultFollowTheTraining_data()
{
    QTest::addColumn<int>("network");
    QTest::addColumn<int>("augmentation");
    QTest::addColumn<bool>("mirrored");
    // Only fold models that trained on mirrored images score them (measured both ways:
    // docs/evaluation/README.md, "Mirrored views").
    QTest::newRow("small CNN, unaugmented") << int(BuiltinNetwork::Cnn) << int(Augmentation::None) << false;
    QTest::newRow("small CNN, shifted") << int(BuiltinNetwork::Cnn) << int(Augmentation::Shift) << false;
    QTest::newRow("small CNN, mirrored") << int(BuiltinNetwork::Cnn) << int(Augmentation::ShiftFlip) << true;
    QTest::newRow("VGG-style, its own recipe (shifted)") << int(BuiltinNetwork::Vgg) << -1 << false;
    QTest::newRow("VGG-style, mirrored") << int(BuiltinNetwork::Vgg) << int(Augmentation::ShiftFlip) << true;
    QTest::newRow("batch-norm CNN, mirrored") << int(BuiltinNetwork::BnCnn) << int(Augmentation::ShiftFlip) << true;
}

void TestCrossValidation::mirroredViewsByDefaultFollowTheTraining()
{
    QFETCH(int, network);
    QFETCH(int, augmentation);
    QFETCH(bool, mirrored);
    TrainConfig train;
    train.useNetwork(BuiltinNetwork(network));
    if (augmentation >= 0)
        train.augmentation = Augmentation(augmentation);
    QCOMPARE(mirroredViewsByDefault(train), mirrored);
    // The configuration's own default stays plain: a caller that builds one by hand asks.
    QVERIFY(!CrossValidationConfig{}.mirroredViews);
}

void TestCrossValidation::mirroredViewsRescoreTheFoldModels_data()
{
    QTest::addColumn<int>("checkpointEvery");
    QTest::newRow("2 epochs, a checkpoint each") << 1;
    QTest::newRow("3 epochs, 2 checkpoints") << 2;
}

void TestCrossValidation::mirroredViewsRescoreTheFoldModels()
{
    QFETCH(int, checkpointEvery);
    QTemporaryDir dir;
    TestProject project(dir.filePath("views").toStdString());
    QVERIFY(project.build(TestProject::Stage::Imported).isOk());
    auto db = openDb(project.projectPath());
    QVERIFY(db);
    CrossValidationConfig config = tinyCrossValidation();
    config.train.epochs = checkpointEvery == 1 ? 2 : 3;
    config.train.checkpointEvery = checkpointEvery;
    QVERIFY(!config.mirroredViews); // plain unless asked for
    QVERIFY(runCrossValidation(*db, config).isOk());
    auto plainRun = db->crossValidationRun();
    QVERIFY(plainRun.ok() && plainRun->has_value());
    auto plain = loadOutOfSampleTerms(*db);
    QVERIFY(plain.ok());
    const std::string root = crossValidationDirectory(*db);
    const auto times = fileTimes(root);

    // Mirrored: a new run, scored by the fold models as they are (no training, no file
    // of theirs rewritten).
    config.mirroredViews = true;
    std::vector<Progress> reports;
    const Status s = runCrossValidation(*db, config, [&](const Progress &p) { reports.push_back(p); });
    QVERIFY2(s.isOk(), s.message().c_str());
    auto mirroredRun = db->crossValidationRun();
    QVERIFY(mirroredRun.ok() && mirroredRun->has_value());
    QVERIFY((*mirroredRun)->id != (*plainRun)->id);
    QVERIFY((*mirroredRun)->configJson.find("\"views\":\"mirrored\"") != std::string::npos);
    QVERIFY(std::none_of(reports.begin(), reports.end(),
                         [](const Progress &p) { return p.detail.find("training") != std::string::npos; }));
    QVERIFY(std::any_of(reports.begin(), reports.end(),
                        [](const Progress &p) { return p.detail.find("scoring checkpoint") != std::string::npos; }));
    QCOMPARE(fileTimes(root), times);
    auto mirrored = loadOutOfSampleTerms(*db);
    QVERIFY(mirrored.ok());
    QCOMPARE(mirrored->ids, plain->ids);
    QCOMPARE(mirrored->fold, plain->fold);
    QCOMPARE(mirrored->learningRates, plain->learningRates);
    QCOMPARE(mirrored->featureNorm, plain->featureNorm); // ‖h‖² stays the image's own
    QVERIFY(mirrored->probs != plain->probs);

    // Against the fold models run directly on each image and on its mirror (x → W−1−x),
    // with the trainer's conversion of the pixels.
    auto examples = db->examples(Split::Train);
    QVERIFY(examples.ok());
    const int k = mirrored->numClasses;
    const size_t c = size_t(mirrored->numCheckpoints());
    double worst = 0.0;
    for (int fold = 0; fold < config.folds; ++fold) {
        const std::string foldDir = root + "/fold-" + std::to_string(fold);
        auto spec = readModelSpec(foldDir);
        QVERIFY2(spec.ok(), foldDir.c_str());
        QCOMPARE(spec->checkpoints.size(), c);
        std::vector<ExampleRow> held;
        std::vector<size_t> rows;
        for (size_t i = 0; i < mirrored->ids.size(); ++i)
            if (mirrored->fold[i] == fold) {
                held.push_back(*std::find_if(examples->begin(), examples->end(),
                                             [&](const ExampleRow &e) { return e.id == mirrored->ids[i]; }));
                rows.push_back(i);
            }
        TrainData data;
        QVERIFY(loadTrainData(*db, held, spec->input, &data).isOk());
        const InputSpec &in = spec->input;
        const size_t per = in.floatsPerImage();
        std::vector<float> asGiven(held.size() * per), flipped(held.size() * per);
        for (size_t e = 0; e < held.size(); ++e)
            for (int ch = 0; ch < in.channels; ++ch)
                for (int y = 0; y < in.height; ++y)
                    for (int x = 0; x < in.width; ++x) {
                        const size_t at = e * per + (size_t(ch) * in.height + size_t(y)) * in.width;
                        const float v = (float(data.pixels[at + size_t(x)]) / 255.0f - in.mean[size_t(ch)])
                                        / in.std[size_t(ch)];
                        asGiven[at + size_t(x)] = v;
                        flipped[at + size_t(in.width - 1 - x)] = v;
                    }
        for (size_t cp = 0; cp < c; ++cp) {
            auto runner = ModelRunner::load(*spec, cp);
            QVERIFY(runner.ok());
            BatchOutput a, b;
            QVERIFY((*runner)->run(asGiven.data(), int(held.size()), &a).isOk());
            QVERIFY((*runner)->run(flipped.data(), int(held.size()), &b).isOk());
            for (size_t e = 0; e < held.size(); ++e) {
                auto softmax = [&](const BatchOutput &o, int j) {
                    const float *l = o.logits.data() + e * size_t(k);
                    const double top = *std::max_element(l, l + k);
                    double sum = 0.0;
                    for (int t = 0; t < k; ++t)
                        sum += std::exp(double(l[t]) - top);
                    return std::exp(double(l[j]) - top) / sum;
                };
                for (int j = 0; j < k; ++j) {
                    const double expected = 0.5 * (softmax(a, j) + softmax(b, j));
                    const double stored = mirrored->probs[(rows[e] * c + cp) * size_t(k) + size_t(j)];
                    const double single = plain->probs[(rows[e] * c + cp) * size_t(k) + size_t(j)];
                    worst = std::max(worst, std::abs(stored - expected));
                    QVERIFY(std::abs(single - softmax(a, j)) < 1e-5);
                }
            }
        }
    }
    QVERIFY2(worst < 1e-5, QByteArray::number(worst).constData());

    // Back to plain: scored again, equal to the first run's terms bit for bit.
    config.mirroredViews = false;
    reports.clear();
    QVERIFY(runCrossValidation(*db, config, [&](const Progress &p) { reports.push_back(p); }).isOk());
    QVERIFY(std::none_of(reports.begin(), reports.end(),
                         [](const Progress &p) { return p.detail.find("training") != std::string::npos; }));
    auto again = loadOutOfSampleTerms(*db);
    QVERIFY(again.ok());
    QCOMPARE(again->probs, plain->probs);
    QCOMPARE(fileTimes(root), times);

    // A training change still trains again.
    config.mirroredViews = true;
    config.seed += 1;
    reports.clear();
    QVERIFY(runCrossValidation(*db, config, [&](const Progress &p) { reports.push_back(p); }).isOk());
    QVERIFY(std::any_of(reports.begin(), reports.end(),
                        [](const Progress &p) { return p.detail.find("training") != std::string::npos; }));
}

namespace {

// estimateLabelNoise() of the stored run with the training examples' current labels.
LabelNoiseEstimate estimateNow(ProjectDb &db)
{
    auto terms = loadOutOfSampleTerms(db);
    auto train = db.exampleLabels(Split::Train);
    if (!terms.ok() || !train.ok())
        return {};
    std::vector<int64_t> ids;
    std::vector<int> labels;
    for (const auto &[id, label] : *train) {
        ids.push_back(id);
        labels.push_back(label);
    }
    return estimateLabelNoise(*terms, ids, labels);
}

// The meta entry as storedLabelNoiseEstimate() writes it; `agreeing` −1 leaves it out, as
// entries kept before it was.
std::string noiseEntry(int64_t run, int64_t pruned, int64_t covered, int64_t agreeing = -1)
{
    QJsonObject o{{"run", qint64(run)}, {"pruned", qint64(pruned)}, {"covered", qint64(covered)}};
    if (agreeing >= 0)
        o.insert("agreeing", qint64(agreeing));
    return QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString();
}

} // namespace

void TestCrossValidation::noiseEstimateIsKeptPerRun()
{
    QTemporaryDir dir;
    TestProject project(dir.filePath("noise").toStdString());
    QVERIFY(project.build(TestProject::Stage::Imported).isOk());
    auto db = openDb(project.projectPath());
    QVERIFY(db);
    QCOMPARE(storedLabelNoiseEstimate(*db).status().code(), Status::Code::NotFound);
    QVERIFY(runCrossValidation(*db, tinyCrossValidation()).isOk());
    auto run = db->crossValidationRun();
    QVERIFY(run.ok() && run->has_value());

    // Made when the run finished, with the labels it was trained on, and kept with its id.
    const LabelNoiseEstimate atRun = estimateNow(*db);
    auto train = db->exampleLabels(Split::Train);
    QVERIFY(train.ok());
    QCOMPARE(atRun.covered, int64_t(train->size()));
    auto entry = db->meta(kLabelNoiseMetaKey);
    QVERIFY(entry.ok() && entry->has_value());
    QCOMPARE(**entry, noiseEntry((*run)->id, atRun.pruned, atRun.covered, atRun.agreeing));
    QVERIFY(atRun.agreeing >= 0 && atRun.agreeing <= atRun.covered);

    // Relabels do not move it: the default order stays put under a review.
    for (size_t i = 0; i < train->size(); i += 2)
        QVERIFY(db->relabel((*train)[i].first, ((*train)[i].second + 1) % 3).ok());
    auto kept = storedLabelNoiseEstimate(*db);
    QVERIFY(kept.ok());
    QCOMPARE(kept->pruned, atRun.pruned);
    QCOMPARE(kept->covered, atRun.covered);
    QCOMPARE(kept->agreeing, atRun.agreeing);

    // An entry of another run (a project from before the estimate was kept, or a run
    // replaced since) is made again, with today's labels, and stored.
    QVERIFY(db->setMeta(kLabelNoiseMetaKey, noiseEntry((*run)->id + 1000, 1, 2)).isOk());
    const LabelNoiseEstimate now = estimateNow(*db);
    auto remade = storedLabelNoiseEstimate(*db);
    QVERIFY(remade.ok());
    QCOMPARE(remade->pruned, now.pruned);
    QCOMPARE(remade->covered, now.covered);
    entry = db->meta(kLabelNoiseMetaKey);
    QVERIFY(entry.ok() && entry->has_value());
    QCOMPARE(**entry, noiseEntry((*run)->id, now.pruned, now.covered, now.agreeing));
    // So is one that does not parse.
    QVERIFY(db->setMeta(kLabelNoiseMetaKey, "{not json").isOk());
    remade = storedLabelNoiseEstimate(*db);
    QVERIFY(remade.ok());
    QCOMPARE(remade->pruned, now.pruned);
}

void TestCrossValidation::noiseEstimatePicksTheDefault_data()
{
    QTest::addColumn<int>("pruned"); // of 1000 examples
    QTest::addColumn<int>("expected");
    QTest::newRow("10 %: the ensemble") << 100 << int(RankingKind::Ensemble);
    QTest::newRow("17.9 %: the ensemble") << 179 << int(RankingKind::Ensemble);
    QTest::newRow("18 %: cv-boundary") << 180 << int(RankingKind::CvBoundary);
    QTest::newRow("45 %: cv-boundary") << 450 << int(RankingKind::CvBoundary);
}

void TestCrossValidation::noiseEstimatePicksTheDefault()
{
    QFETCH(int, pruned);
    QFETCH(int, expected);
    QCOMPARE(int(evaluationDefaultRanking(pruned / 1000.0).kind), expected);
    QCOMPARE(int(evaluationDefaultRanking(std::nullopt).kind), int(defaultRanking().kind));
    // The project's default reads the run's stored estimate.
    auto db = openDb(m_project->projectPath());
    QVERIFY(db);
    if (!hasFinishedCrossValidation(*db)) {
        QVERIFY(runCrossValidation(*db, tinyCrossValidation()).isOk());
    }
    auto run = db->crossValidationRun();
    QVERIFY(run.ok() && run->has_value());
    QVERIFY(db->setMeta(kLabelNoiseMetaKey, noiseEntry((*run)->id, pruned, 1000)).isOk());
    QCOMPARE(int(projectDefaultRanking(*db).kind), expected);
}

void TestCrossValidation::resumesAfterSigkill()
{
    // Two identical projects: one run killed after its first fold and run again, one
    // uninterrupted.
    QTemporaryDir dir;
    // Large enough that the rest of the second fold (five epochs, then six checkpoints to
    // load and run) outlasts the time between its progress line and the kill, even on a
    // busy machine.
    testing::SyntheticSpec spec;
    spec.trainPerClass = 100;
    spec.size = 32;
    TestProject killed(dir.filePath("killed").toStdString(), spec);
    TestProject reference(dir.filePath("reference").toStdString(), spec);
    QVERIFY(killed.build(TestProject::Stage::Imported).isOk());
    QVERIFY(reference.build(TestProject::Stage::Imported).isOk());
    const QStringList options{"--folds", "3", "--epochs", "6", "--threads", "1", "--progress-lines", "--top", "5"};

    // Killed once fold 2 has trained an epoch: fold 1 is finished, fold 2 has resume state.
    QProcess process;
    process.setProcessChannelMode(QProcess::SeparateChannels);
    process.start(QStringLiteral(TRACLENS_CLI),
                  QStringList{"crossvalidate", QString::fromStdString(killed.projectPath())} + options);
    QVERIFY(process.waitForStarted());
    QByteArray err;
    bool sawFold2 = false;
    QElapsedTimer timer;
    timer.start();
    while (!sawFold2 && timer.elapsed() < 60000 && process.state() != QProcess::NotRunning) {
        process.waitForReadyRead(100);
        err += process.readAllStandardError();
        sawFold2 = err.contains("fold 2 of 3: training epoch 2");
    }
    QVERIFY2(sawFold2, err.constData());
    process.kill(); // SIGKILL
    process.waitForFinished();
    QCOMPARE(process.exitStatus(), QProcess::CrashExit);

    // Fold 1 is finished; on a busy machine the process may have got further before the
    // kill landed, but not to the end (fold 2's remaining epochs, scoring and all of fold
    // 3 lie between its progress line and the end).
    const std::string root = killed.projectPath() + ".d/crossval";
    std::vector<int> finished;
    {
        auto db = openDb(killed.projectPath());
        QVERIFY(db);
        auto run = db->crossValidationRun();
        QVERIFY(run.ok() && run->has_value());
        auto folds = db->crossValidationFolds((*run)->id);
        QVERIFY(folds.ok());
        for (const auto &f : *folds)
            finished.push_back(f.first);
        QVERIFY2(!finished.empty() && finished.front() == 0, "the first fold was finished");
        QVERIFY2(finished.size() < 3, "the kill came before the end");
        QCOMPARE(loadOutOfSampleTerms(*db).status().code(), Status::Code::NotFound);
    }
    std::vector<std::map<std::string, std::filesystem::file_time_type>> finishedFiles;
    for (int k : finished) {
        finishedFiles.push_back(fileTimes(root + "/fold-" + std::to_string(k)));
        QVERIFY(!finishedFiles.back().empty());
    }

    const auto resumed = testing::runCli(QStringList{"crossvalidate", QString::fromStdString(killed.projectPath())}
                                         + options);
    QVERIFY2(resumed.exitCode == 0, resumed.err.constData());
    // Finished folds are neither trained nor rewritten.
    for (size_t i = 0; i < finished.size(); ++i) {
        const QByteArray name = "fold " + QByteArray::number(finished[i] + 1) + " of 3: ";
        QVERIFY2(!resumed.err.contains(name + "training"), resumed.err.constData());
        QVERIFY2(!resumed.err.contains(name + "scoring"), resumed.err.constData());
        QCOMPARE(fileTimes(root + "/fold-" + std::to_string(finished[i])), finishedFiles[i]);
    }
    QVERIFY(resumed.err.contains("fold 3 of 3: scoring"));
    // Fold 2 had saved its first epoch: it went on from there instead of starting over.
    QVERIFY2(!resumed.err.contains("fold 2 of 3: training epoch 1"), resumed.err.constData());

    const auto uninterrupted = testing::runCli(
        QStringList{"crossvalidate", QString::fromStdString(reference.projectPath()), "--json"} + options);
    QVERIFY2(uninterrupted.exitCode == 0, uninterrupted.err.constData());
    QCOMPARE(uninterrupted.json().value("examples").toArray().size(), 5);

    auto a = openDb(killed.projectPath());
    auto b = openDb(reference.projectPath());
    QVERIFY(a && b);
    auto ta = loadOutOfSampleTerms(*a);
    auto tb = loadOutOfSampleTerms(*b);
    QVERIFY(ta.ok() && tb.ok());
    QCOMPARE(ta->ids, tb->ids);
    QCOMPARE(ta->fold, tb->fold);
    QCOMPARE(ta->learningRates, tb->learningRates);
    QCOMPARE(ta->probs.size(), tb->probs.size());
    QCOMPARE(ta->featureNorm.size(), tb->featureNorm.size());
    QVERIFY(std::memcmp(ta->probs.data(), tb->probs.data(), ta->probs.size() * sizeof(float)) == 0);
    QVERIFY(std::memcmp(ta->featureNorm.data(), tb->featureNorm.data(), ta->featureNorm.size() * sizeof(float)) == 0);
    QVERIFY(a->integrityCheck().isOk());
}

void TestCrossValidation::adaptiveFirstFoldChoosesTheCount_data()
{
    QTest::addColumn<QString>("cancelAt"); // a progress detail that cancels the first attempt; "" none
    QTest::addColumn<int>("perClass");     // training examples per class (3 classes, 2 folds)
    QTest::newRow("uninterrupted") << QString() << 40;
    QTest::newRow("cancelled while fold 1 chooses") << QString("fold 1 of 2: choosing the epoch count, epoch 2") << 40;
    QTest::newRow("cancelled in fold 2") << QString("fold 2 of 2: training epoch 1") << 40;
    // Fold 1 trains on 30 examples, too few to hold out a validation part: the fixed count.
    QTest::newRow("too few to choose") << QString() << 20;
}

void TestCrossValidation::adaptiveFirstFoldChoosesTheCount()
{
    QFETCH(QString, cancelAt);
    QFETCH(int, perClass);
    const bool chooses = 3 * perClass / 2 >= kMinAdaptiveTrainExamples;
    QTemporaryDir dir;
    testing::SyntheticSpec spec;
    spec.trainPerClass = perClass;
    TestProject project(dir.filePath("adaptive").toStdString(), spec);
    TestProject reference(dir.filePath("reference").toStdString(), spec);
    QVERIFY(project.build(TestProject::Stage::Imported).isOk());
    QVERIFY(reference.build(TestProject::Stage::Imported).isOk());
    auto db = openDb(project.projectPath());
    QVERIFY(db);

    // Without a model trained in the project there is no count to copy: adaptive.
    QCOMPARE(defaultCrossValidationEpochs(*db), 0);
    const TrainConfig byDefault = defaultCrossValidationTrainConfig(*db);
    QVERIFY(byDefault.adaptive.enabled);
    QCOMPARE(byDefault.adaptive.timeBudgetSeconds, 0.0);

    CrossValidationConfig config = tinyCrossValidation();
    config.train.adaptive = byDefault.adaptive;
    config.train.adaptive.maxEpochs = 5;
    config.train.adaptive.patience = 2;
    config.train.adaptive.minEpochs = 1;

    if (!cancelAt.isEmpty()) {
        std::atomic<bool> cancel{false};
        bool seen = false;
        const Status first = runCrossValidation(
            *db, config,
            [&](const Progress &p) {
                if (QString::fromStdString(p.detail).startsWith(cancelAt)) {
                    seen = true;
                    cancel = true;
                }
            },
            &cancel);
        QVERIFY2(seen, qPrintable(cancelAt));
        QCOMPARE(first.code(), Status::Code::Cancelled);
        QCOMPARE(loadOutOfSampleTerms(*db).status().code(), Status::Code::NotFound);
    }
    std::vector<Progress> reports;
    const Status run = runCrossValidation(*db, config, [&](const Progress &p) { reports.push_back(p); });
    QVERIFY2(run.isOk(), run.message().c_str());
    // Progress never goes back and ends at its total.
    for (size_t i = 1; i < reports.size(); ++i)
        QVERIFY2(reports[i].done >= reports[i - 1].done, reports[i].detail.c_str());
    QVERIFY(!reports.empty() && reports.back().done == reports.back().total);

    std::optional<TrainingRecord> chosen = adaptiveFoldRecord(*db);
    QCOMPARE(chosen.has_value(), chooses);
    if (!chooses) {
        chosen = TrainingRecord{};
        chosen->epochs = config.train.epochs;
    } else {
        QVERIFY(chosen->adaptive);
        QVERIFY(chosen->epochs >= 1 && chosen->epochs <= 5);
        QVERIFY(chosen->stop == TrainingStop::Plateau || chosen->stop == TrainingStop::MaxEpochs);
    }
    // Every fold trained the chosen count: one schedule, one checkpoint per epoch.
    auto stored = db->crossValidationRun();
    QVERIFY(stored.ok() && stored->has_value());
    QVERIFY((*stored)->configJson.find("\"adaptive\"") != std::string::npos);
    auto folds = db->crossValidationFolds((*stored)->id);
    QVERIFY(folds.ok());
    QCOMPARE(int(folds->size()), 2);
    for (const auto &f : *folds)
        QCOMPARE(int(f.second.size()), chosen->epochs);
    auto terms = loadOutOfSampleTerms(*db);
    QVERIFY(terms.ok());

    // The same as a run never interrupted, bit for bit.
    auto other = openDb(reference.projectPath());
    QVERIFY(other);
    QVERIFY(runCrossValidation(*other, config).isOk());
    QCOMPARE(adaptiveFoldRecord(*other).has_value(), chooses);
    auto expected = loadOutOfSampleTerms(*other);
    QVERIFY(expected.ok());
    QCOMPARE(terms->learningRates, expected->learningRates);
    QCOMPARE(terms->probs.size(), expected->probs.size());
    QVERIFY(std::memcmp(terms->probs.data(), expected->probs.data(), terms->probs.size() * sizeof(float)) == 0);

    // The command line's default on a project without a model: fold 1 chooses, and the
    // output says what it chose and how often the fold models' class is the label.
    if (cancelAt.isEmpty()) {
        other.reset(); // the command opens the project for writing
        const auto cli = testing::runCli(QStringList{"crossvalidate", QString::fromStdString(reference.projectPath()),
                                                     "--threads", "1", "--top", "3"});
        QVERIFY2(cli.exitCode == 0, cli.err.constData());
        QCOMPARE(cli.out.contains("fold 1 chose the epoch count: adaptive"), chooses);
        QCOMPARE(cli.out.contains("too few examples to hold out a validation part"), !chooses);
        QVERIFY2(cli.out.contains("of the examples they did not train on"), cli.out.constData());
        const auto json = testing::runCli(QStringList{"crossvalidate", QString::fromStdString(reference.projectPath()),
                                                      "--threads", "1", "--top", "3", "--json"});
        QVERIFY2(json.exitCode == 0, json.err.constData());
        QCOMPARE(json.json().value("epochs_chosen_by_fold_1").toBool(), chooses);
        const double agreement = json.json().value("out_of_fold_agreement").toDouble(-1.0);
        QVERIFY(agreement >= 0.0 && agreement <= 1.0);
    }

    // A fixed count is not adaptive, and says so.
    config.train.adaptive.enabled = false;
    QVERIFY(runCrossValidation(*db, config).isOk());
    QVERIFY(!adaptiveFoldRecord(*db).has_value());
}

QTEST_GUILESS_MAIN(TestCrossValidation)
#include "test_crossvalidation.moc"
