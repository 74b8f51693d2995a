// Adaptive training (trainer.h): the validation run stops on a plateau or on its time
// budget, the scored run is the fixed run of the chosen length, the record says why it
// stopped, and an interrupted run resumes to the same checkpoints. A tiny synthetic set of
// three patterns (stripes across, stripes down, a blob) that a small CNN learns in one or
// two epochs, so validation accuracy saturates early.

#include "model/modelrunner.h"
#include "model/modelspec.h"
#include "model/trainer.h"
#include "syntheticstripes.h"
#include "model/trainingrecord.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>

using namespace traclens;

namespace {

const std::vector<std::string> &kClasses = testing::stripeClasses();

TrainData syntheticData(int count, uint32_t seed)
{
    return testing::stripeData(count, seed);
}

TrainConfig adaptiveConfig()
{
    TrainConfig c = testing::tinyTrainConfig(4, 16, 32, 0.05, 7);
    c.adaptive.enabled = true;
    c.adaptive.patience = 2;
    c.adaptive.minEpochs = 2;
    c.adaptive.maxEpochs = 30;
    return c;
}

// The curve the stopping rule reads: the mean of each epoch's accuracy and the ones before
// it, `smoothing` in all.
std::vector<double> smoothed(const std::vector<ValidationPoint> &curve, int smoothing)
{
    std::vector<double> out;
    for (size_t i = 0; i < curve.size(); ++i) {
        const size_t from = i + 1 >= size_t(smoothing) ? i + 1 - size_t(smoothing) : 0;
        double sum = 0.0;
        for (size_t j = from; j <= i; ++j)
            sum += curve[j].accuracy;
        out.push_back(sum / double(i + 1 - from));
    }
    return out;
}

// Logits of a checkpoint on `data`, through ModelRunner (what TracIn reads).
std::vector<float> logitsOf(const std::string &dir, size_t checkpoint, const TrainData &data)
{
    auto spec = readModelSpec(dir);
    if (!spec.ok())
        qFatal("%s", spec.status().toString().c_str());
    auto runner = ModelRunner::load(*spec, checkpoint);
    if (!runner.ok())
        qFatal("%s", runner.status().toString().c_str());
    std::vector<float> x(data.pixels.size());
    for (size_t i = 0; i < x.size(); ++i)
        x[i] = (data.pixels[i] / 255.0f - data.input.mean[0]) / data.input.std[0];
    BatchOutput out;
    const Status s = (*runner)->run(x.data(), int(data.count()), &out);
    if (!s.isOk())
        qFatal("%s", s.toString().c_str());
    return out.logits;
}

} // namespace

class TestAdaptiveTraining : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void patienceGrowsOnSmallParts_data();
    void patienceGrowsOnSmallParts();
    void stopsOnPlateau_data();
    void stopsOnPlateau();
    void timeBudgetStopsAfterFirstEpoch();
    void resumeGivesSameCheckpoints_data();
    void resumeGivesSameCheckpoints();
    void tooFewExamples();

private:
    TrainData m_train, m_test;
    QTemporaryDir m_tmp;
    std::string m_referenceDir; // the uninterrupted adaptive run (stopsOnPlateau's first row)
    TrainingRecord m_reference;
};

void TestAdaptiveTraining::initTestCase()
{
    ModelRunner::setThreads(2);
    m_train = syntheticData(300, 1);
    m_test = syntheticData(90, 2);
    QVERIFY(m_tmp.isValid());
}

void TestAdaptiveTraining::patienceGrowsOnSmallParts_data()
{
    QTest::addColumn<qint64>("validationCount");
    QTest::addColumn<qint64>("reference");
    QTest::addColumn<int>("patience");
    QTest::addColumn<int>("expected");
    QTest::addColumn<int>("maxEpochs"); // the automatic limit
    // The product's defaults: 4 epochs of patience and at most 20 from 1,000 held out up,
    // √-scaled below.
    QTest::newRow("5,000 held out") << qint64(5000) << qint64(1000) << 4 << 4 << 20;
    QTest::newRow("1,000 held out") << qint64(1000) << qint64(1000) << 4 << 4 << 20;
    QTest::newRow("999 held out") << qint64(999) << qint64(1000) << 4 << 5 << 21;
    QTest::newRow("400 held out") << qint64(400) << qint64(1000) << 4 << 7 << 32;
    QTest::newRow("100 held out") << qint64(100) << qint64(1000) << 4 << 13 << 64;
    QTest::newRow("60 held out, patience 2") << qint64(60) << qint64(1000) << 2 << 9 << 82;
    QTest::newRow("rule off") << qint64(100) << qint64(0) << 4 << 4 << 20;
}

void TestAdaptiveTraining::patienceGrowsOnSmallParts()
{
    QFETCH(qint64, validationCount);
    QFETCH(qint64, reference);
    QFETCH(int, patience);
    QFETCH(int, expected);
    QFETCH(int, maxEpochs);
    AdaptiveTraining a;
    a.patience = patience;
    a.patienceReference = reference;
    QCOMPARE(adaptivePatience(validationCount, a), expected);
    // The automatic epoch limit grows alike from 20; a limit given is kept as it is.
    QCOMPARE(adaptiveMaxEpochs(validationCount, a), maxEpochs);
    a.maxEpochs = 12;
    QCOMPARE(adaptiveMaxEpochs(validationCount, a), 12);
    // The validation run's decay period grows as the patience does, so the patience stays
    // one step of its schedule.
    TrainConfig c;
    c.lrDecayEvery = patience;
    c.adaptive.patienceReference = reference;
    QCOMPARE(validationDecayEvery(validationCount, c), expected);
    c.lrDecayEvery = 0; // no decay stays no decay
    QCOMPARE(validationDecayEvery(validationCount, c), 0);
    // The split sizes behind the defaults' parts: 10 %, at least min(100, a fifth).
    const AdaptiveTraining d;
    QCOMPARE(adaptiveValidationCount(600, d), int64_t(100));
    QCOMPARE(adaptiveValidationCount(300, d), int64_t(60));
    QCOMPARE(adaptiveValidationCount(20000, d), int64_t(2000));
    QCOMPARE(adaptiveValidationCount(60000, d), int64_t(5000));
}

void TestAdaptiveTraining::stopsOnPlateau_data()
{
    QTest::addColumn<qint64>("reference");
    QTest::addColumn<int>("smoothing");
    // First: the product's rule, the reference run of the resume tests.
    QTest::newRow("small part: 3-epoch mean, longer patience") << qint64(AdaptiveTraining{}.patienceReference)
                                                               << AdaptiveTraining{}.smoothing;
    QTest::newRow("each epoch's accuracy, fixed patience") << qint64(0) << 1;
}

void TestAdaptiveTraining::stopsOnPlateau()
{
    QFETCH(qint64, reference);
    QFETCH(int, smoothing);
    TrainConfig config = adaptiveConfig();
    config.adaptive.patienceReference = reference;
    config.adaptive.smoothing = smoothing;
    const bool productRule = reference == AdaptiveTraining{}.patienceReference;
    const std::string dir = m_tmp.filePath(productRule ? "plateau" : "plateau-raw").toStdString();
    std::vector<int> validationEpochs, scoredEpochs;
    std::vector<int> phases;
    int64_t lastWorkTotal = 0;
    TrainCallbacks cb;
    cb.progress = [&](const TrainProgressInfo &p) {
        if (phases.empty() || phases.back() != p.phase)
            phases.push_back(p.phase);
        QVERIFY(p.workDone <= p.workTotal);
        lastWorkTotal = p.workTotal;
    };
    cb.onValidation = [&](const ValidationPoint &v) { validationEpochs.push_back(v.epoch); };
    cb.onEpoch = [&](const EpochReport &r) { scoredEpochs.push_back(r.epoch); };
    const auto out = trainBuiltinCnn(m_train, m_test, kClasses, config, dir, cb, nullptr);
    QVERIFY2(out.ok(), out.status().toString().c_str());
    const TrainingRecord &rec = out->record;
    for (const auto &v : rec.validation)
        qInfo("validation epoch %d: accuracy %.3f (train %.3f)", v.epoch, v.accuracy, v.trainAccuracy);
    qInfo("%s", rec.summary().c_str());

    QVERIFY(rec.adaptive);
    QCOMPARE(rec.stop, TrainingStop::Plateau);
    QCOMPARE(rec.validationCount, int64_t(60)); // 10 % of 300 is below the floor of min(100, 300/5)
    // 60 held out: the product's rule waits ⌈2·√(1000/60)⌉ = 9 epochs, the fixed one 2.
    const int patience = productRule ? 9 : 2;
    QCOMPARE(rec.patience, patience);
    QCOMPARE(rec.smoothing, smoothing);
    // Saturates early: the validation run ends before its limit of 30, exactly
    // `patience` epochs after the last epoch whose smoothed accuracy beat the best by
    // minDelta.
    QVERIFY2(int(rec.validation.size()) < config.adaptive.maxEpochs, qPrintable(QString::number(rec.validation.size())));
    const std::vector<double> acc = smoothed(rec.validation, smoothing);
    const double minDelta = config.adaptive.minDelta;
    int plateauFrom = 0;
    double best = 0.0;
    for (size_t i = 0; i < acc.size(); ++i)
        if (plateauFrom == 0 || acc[i] >= best + minDelta - 1e-9) {
            best = acc[i];
            plateauFrom = int(i) + 1;
        }
    QCOMPARE(int(rec.validation.size()), plateauFrom + patience);
    // The chosen epoch is the first with the highest smoothed accuracy, which may lie
    // inside the plateau (a rise smaller than minDelta).
    QVERIFY(rec.bestEpoch >= plateauFrom);
    for (size_t i = 0; i < acc.size(); ++i) {
        QVERIFY(acc[i] <= acc[size_t(rec.bestEpoch - 1)]);
        if (int(i) + 1 < rec.bestEpoch)
            QVERIFY(acc[i] < acc[size_t(rec.bestEpoch - 1)]);
    }
    QVERIFY(QString::fromStdString(rec.summary()).contains(QString("patience %1").arg(patience)));
    QVERIFY(rec.validation[size_t(rec.bestEpoch - 1)].accuracy > 0.75); // chance is 1/3
    QCOMPARE(rec.epochs, std::max(rec.bestEpoch, 2));
    QCOMPARE(rec.trainCount, int64_t(300));
    QCOMPARE(phases, (std::vector<int>{1, 2}));
    QCOMPARE(int(validationEpochs.size()), int(rec.validation.size()));
    QCOMPARE(int(scoredEpochs.size()), rec.epochs);
    QCOMPARE(lastWorkTotal, int64_t(rec.validation.size()) * 240 + int64_t(rec.epochs) * 300);

    // The scored run: one checkpoint per epoch with the schedule's rates.
    QCOMPARE(int(out->epochs.size()), rec.epochs);
    const auto spec = readModelSpec(dir);
    QVERIFY2(spec.ok(), spec.status().toString().c_str());
    QCOMPARE(int(spec->checkpoints.size()), rec.epochs);
    for (size_t i = 0; i < spec->checkpoints.size(); ++i)
        QCOMPARE(spec->checkpoints[i].learningRate, 0.05 * std::pow(0.5, double(i)));
    QVERIFY(out->epochs.back().testAccuracy > 0.75);

    // Recorded beside the checkpoints; no resume state or search weights left.
    const auto stored = readTrainingRecord(dir);
    QVERIFY2(stored.ok(), stored.status().toString().c_str());
    QCOMPARE(stored->stop, TrainingStop::Plateau);
    QCOMPARE(stored->epochs, rec.epochs);
    QCOMPARE(stored->validation.size(), rec.validation.size());
    QCOMPARE(stored->validation.back().accuracy, rec.validation.back().accuracy);
    QCOMPARE(stored->patience, patience);
    QCOMPARE(stored->smoothing, smoothing);
    QCOMPARE(stored->summary(), rec.summary());
    QCOMPARE(QDir(QString::fromStdString(dir)).entryList({"train-state.json", "search-*", "state-*"}),
             QStringList());
    if (productRule) {
        m_reference = rec;
        m_referenceDir = dir;
    }

    // The scored run is the fixed run of the chosen length: same checkpoints.
    TrainConfig fixed = config;
    fixed.adaptive.enabled = false;
    fixed.epochs = rec.epochs;
    const std::string fixedDir = m_tmp.filePath("fixed").toStdString();
    const auto f = trainBuiltinCnn(m_train, m_test, kClasses, fixed, fixedDir, TrainCallbacks{}, nullptr);
    QVERIFY2(f.ok(), f.status().toString().c_str());
    QCOMPARE(f->record.stop, TrainingStop::FixedEpochs);
    QCOMPARE(logitsOf(fixedDir, size_t(rec.epochs - 1), m_test), logitsOf(dir, size_t(rec.epochs - 1), m_test));
}

void TestAdaptiveTraining::timeBudgetStopsAfterFirstEpoch()
{
    TrainConfig config = adaptiveConfig();
    config.adaptive.timeBudgetSeconds = 1e-6;
    const std::string dir = m_tmp.filePath("budget").toStdString();
    const auto out = trainBuiltinCnn(m_train, m_test, kClasses, config, dir, TrainCallbacks{}, nullptr);
    QVERIFY2(out.ok(), out.status().toString().c_str());
    QCOMPARE(out->record.stop, TrainingStop::TimeBudget);
    QCOMPARE(out->record.validation.size(), size_t(1));
    QCOMPARE(out->record.epochs, 1); // the budget leaves no room for the minimum of 2 either
    QCOMPARE(out->record.timeBudgetSeconds, 1e-6);
    // A valid model all the same.
    const auto spec = readModelSpec(dir);
    QVERIFY2(spec.ok(), spec.status().toString().c_str());
    QCOMPARE(spec->checkpoints.size(), size_t(1));
    QVERIFY(ModelRunner::load(*spec, 0).ok());
    QCOMPARE(readTrainingRecord(dir)->stop, TrainingStop::TimeBudget);
}

void TestAdaptiveTraining::resumeGivesSameCheckpoints_data()
{
    QTest::addColumn<int>("phase");
    QTest::addColumn<int>("epoch");
    QTest::newRow("interrupted in the validation run") << 1 << 2;
    QTest::newRow("interrupted in the scored run") << 2 << 2;
}

void TestAdaptiveTraining::resumeGivesSameCheckpoints()
{
    QFETCH(int, phase);
    QFETCH(int, epoch);
    if (m_referenceDir.empty())
        QSKIP("needs the reference run of stopsOnPlateau");
    QVERIFY(m_reference.epochs >= epoch);
    const std::string dir = m_tmp.filePath(QString("resume-%1").arg(phase)).toStdString();
    std::atomic<bool> cancel{false};
    TrainCallbacks cb;
    cb.progress = [&](const TrainProgressInfo &p) {
        if (p.phase == phase && p.epoch == epoch && p.seen >= 64)
            cancel = true;
    };
    const auto interrupted = trainBuiltinCnn(m_train, m_test, kClasses, adaptiveConfig(), dir, cb, &cancel);
    QVERIFY(!interrupted.ok());
    QVERIFY2(interrupted.status().isCancelled(), interrupted.status().toString().c_str());
    QVERIFY(QFile::exists(QString::fromStdString(dir) + "/train-state.json"));

    TrainConfig config = adaptiveConfig();
    config.resume = true;
    std::vector<int> phasesAfter;
    TrainCallbacks cb2;
    cb2.progress = [&](const TrainProgressInfo &p) {
        if (phasesAfter.empty())
            QCOMPARE(p.epoch, epoch); // goes on where it stopped, not from the start
        if (phasesAfter.empty() || phasesAfter.back() != p.phase)
            phasesAfter.push_back(p.phase);
    };
    const auto resumed = trainBuiltinCnn(m_train, m_test, kClasses, config, dir, cb2, nullptr);
    QVERIFY2(resumed.ok(), resumed.status().toString().c_str());
    QCOMPARE(phasesAfter.front(), phase);
    QCOMPARE(resumed->record.stop, m_reference.stop);
    QCOMPARE(resumed->record.epochs, m_reference.epochs);
    QCOMPARE(resumed->record.validation.size(), m_reference.validation.size());
    for (size_t i = 0; i < m_reference.validation.size(); ++i)
        QCOMPARE(resumed->record.validation[i].accuracy, m_reference.validation[i].accuracy);
    QCOMPARE(int(resumed->epochs.size()), m_reference.epochs);
    for (int c = 0; c < m_reference.epochs; ++c)
        QCOMPARE(logitsOf(dir, size_t(c), m_test), logitsOf(m_referenceDir, size_t(c), m_test));
}

void TestAdaptiveTraining::tooFewExamples()
{
    const TrainData few = syntheticData(40, 3);
    const auto out = trainBuiltinCnn(few, {}, kClasses, adaptiveConfig(), m_tmp.filePath("few").toStdString(),
                                     TrainCallbacks{}, nullptr);
    QVERIFY(!out.ok());
    QCOMPARE(out.status().code(), Status::Code::InvalidArgument);
    QVERIFY(QString::fromStdString(out.status().message()).contains("fixed number of epochs"));
}

QTEST_GUILESS_MAIN(TestAdaptiveTraining)
#include "test_adaptivetraining.moc"
