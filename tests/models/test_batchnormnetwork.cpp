// The built-in batch-norm networks ("builtin-bn-cnn", "builtin-vgg"): they learn the synthetic stripes,
// ModelRunner's optimised TorchScript copy (batch norm folded from its running
// statistics) reproduces the trainer's accuracy, a run interrupted mid-way resumes to
// the same checkpoints (momentum buffers included), augmentation is seeded, and
// configurations it cannot train are refused with the reason.

#include "model/modelrunner.h"
#include "model/modelspec.h"
#include "model/trainer.h"
#include "syntheticstripes.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <atomic>

using namespace traclens;

namespace {

const std::vector<std::string> &kClasses = testing::stripeClasses();

TrainConfig bnConfig(Augmentation augmentation, BuiltinNetwork network = BuiltinNetwork::BnCnn)
{
    TrainConfig c = testing::tinyTrainConfig(4, 16, 32, 0.05, 3);
    c.useNetwork(network);
    // Small enough for a fast test; the recipe (momentum, decay, network) stays.
    c.width = 4;
    c.embeddingDim = 16;
    c.batchSize = 32;
    c.augmentation = augmentation;
    c.epochs = 3;
    return c;
}

std::vector<float> normalised(const TrainData &data)
{
    std::vector<float> out(data.pixels.size());
    for (size_t i = 0; i < out.size(); ++i)
        out[i] = (data.pixels[i] / 255.0f - data.input.mean[0]) / data.input.std[0];
    return out;
}

BatchOutput run(const std::string &dir, size_t checkpoint, const TrainData &data, bool *optimised = nullptr)
{
    BatchOutput out;
    const Result<ModelSpec> spec = readModelSpec(dir);
    if (!spec.ok())
        qFatal("%s", spec.status().toString().c_str());
    auto runner = ModelRunner::load(*spec, checkpoint);
    if (!runner.ok())
        qFatal("%s", runner.status().toString().c_str());
    if (optimised)
        *optimised = (*runner)->isOptimised();
    const std::vector<float> x = normalised(data);
    const Status s = (*runner)->run(x.data(), int(data.count()), &out);
    if (!s.isOk())
        qFatal("%s", s.toString().c_str());
    return out;
}

double accuracy(const BatchOutput &out, const TrainData &data)
{
    int correct = 0;
    for (int i = 0; i < out.n; ++i) {
        const float *row = out.logits.data() + size_t(i) * out.numClasses;
        correct += int(std::max_element(row, row + out.numClasses) - row) == data.labels[size_t(i)];
    }
    return double(correct) / out.n;
}

} // namespace

class TestBatchNormNetwork : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void trainsAndRunsOptimised_data();
    void trainsAndRunsOptimised();
    void resumeGivesSameCheckpoints_data();
    void resumeGivesSameCheckpoints();
    void augmentationIsSeeded();
    void names_data();
    void names();
    void refusesWhatItCannotTrain_data();
    void refusesWhatItCannotTrain();

private:
    TrainData m_train, m_test;
    QTemporaryDir m_tmp;
};

void TestBatchNormNetwork::initTestCase()
{
    ModelRunner::setThreads(2);
    m_train = testing::stripeData(256, 1);
    m_test = testing::stripeData(96, 2);
}

void TestBatchNormNetwork::trainsAndRunsOptimised_data()
{
    QTest::addColumn<int>("network");
    QTest::addColumn<int>("augmentation");
    QTest::newRow("no augmentation") << int(BuiltinNetwork::BnCnn) << int(Augmentation::None);
    QTest::newRow("shifts") << int(BuiltinNetwork::BnCnn) << int(Augmentation::Shift);
    QTest::newRow("shifts and mirrors") << int(BuiltinNetwork::BnCnn) << int(Augmentation::ShiftFlip);
    QTest::newRow("VGG-style, shifts") << int(BuiltinNetwork::Vgg) << int(Augmentation::Shift);
}

void TestBatchNormNetwork::trainsAndRunsOptimised()
{
    QFETCH(int, network);
    QFETCH(int, augmentation);
    const std::string dir = m_tmp.filePath(QString("train-%1-%2").arg(network).arg(augmentation)).toStdString();
    const auto reports = trainBuiltinCnn(m_train, m_test, kClasses,
                                         bnConfig(Augmentation(augmentation), BuiltinNetwork(network)), dir, {}, {},
                                         nullptr);
    QVERIFY2(reports.ok(), reports.status().toString().c_str());
    QCOMPARE(reports->size(), size_t(3));
    const EpochReport &last = reports->back();
    QVERIFY2(last.testAccuracy > 0.6, qPrintable(QString::number(last.testAccuracy))); // chance is 1/3

    const Result<ModelSpec> spec = readModelSpec(dir);
    QVERIFY2(spec.ok(), spec.status().toString().c_str());
    QCOMPARE(spec->architecture, std::string(builtinNetworkName(BuiltinNetwork(network))));
    QCOMPARE(spec->width, 4);
    QCOMPARE(spec->embeddingDim, 16);
    // The manifest, three checkpoints and the training record: no optimizer state left.
    QCOMPARE(QDir(QString::fromStdString(dir)).entryList(QDir::Files).size(), qsizetype(5));
    // The record says which network and augmentation, so cross-validation can repeat them.
    const Result<TrainingRecord> record = readTrainingRecord(dir);
    QVERIFY2(record.ok(), record.status().toString().c_str());
    QCOMPARE(record->network, std::string(builtinNetworkName(BuiltinNetwork(network))));
    QCOMPARE(record->augmentation, std::string(augmentationName(Augmentation(augmentation))));
    const Result<TrainingRecord> back = parseTrainingRecord(trainingRecordToJson(*record));
    QVERIFY(back.ok());
    QCOMPARE(back->network, record->network);
    QCOMPARE(back->augmentation, record->augmentation);

    bool optimised = false;
    const BatchOutput out = run(dir, 2, m_test, &optimised);
    // The TorchScript copy with batch norm from the running statistics matched the eager
    // module on the validation batch, or run() would not use it.
    QVERIFY(optimised);
    QCOMPARE(out.embeddingDim, 16);
    QVERIFY(*std::min_element(out.embeddings.begin(), out.embeddings.end()) >= 0.0f);
    // What the trainer measured in eval mode (one near-tie may round the other way).
    QVERIFY2(std::abs(accuracy(out, m_test) - last.testAccuracy) <= 1.0 / 96 + 1e-9,
             qPrintable(QString("%1 vs %2").arg(accuracy(out, m_test)).arg(last.testAccuracy)));
}

void TestBatchNormNetwork::resumeGivesSameCheckpoints_data()
{
    QTest::addColumn<bool>("adaptive");
    QTest::addColumn<int>("phase");
    QTest::addColumn<int>("epoch");
    QTest::newRow("fixed epochs, interrupted in epoch 2") << false << 0 << 2;
    QTest::newRow("fixed epochs, interrupted in epoch 3") << false << 0 << 3;
    QTest::newRow("adaptive, interrupted in the validation run") << true << 1 << 2;
}

void TestBatchNormNetwork::resumeGivesSameCheckpoints()
{
    QFETCH(bool, adaptive);
    QFETCH(int, phase);
    QFETCH(int, epoch);
    TrainConfig config = bnConfig(Augmentation::ShiftFlip);
    if (adaptive) {
        config.adaptive.enabled = true;
        config.adaptive.maxEpochs = 3;
        config.adaptive.minEpochs = 2;
    }
    const QString tag = QString("%1-%2-%3").arg(adaptive).arg(phase).arg(epoch);
    const std::string reference = m_tmp.filePath("reference-" + tag).toStdString();
    const auto whole = trainBuiltinCnn(m_train, m_test, kClasses, config, reference, TrainCallbacks{}, nullptr);
    QVERIFY2(whole.ok(), whole.status().toString().c_str());

    const std::string dir = m_tmp.filePath("resumed-" + tag).toStdString();
    std::atomic<bool> cancel{false};
    TrainCallbacks cb;
    cb.progress = [&](const TrainProgressInfo &p) {
        if (p.phase == phase && p.epoch == epoch && p.seen >= 64)
            cancel = true;
    };
    const auto interrupted = trainBuiltinCnn(m_train, m_test, kClasses, config, dir, cb, &cancel);
    QVERIFY(!interrupted.ok());
    QVERIFY2(interrupted.status().isCancelled(), interrupted.status().toString().c_str());
    // Momentum buffers are state: they are kept beside the weights.
    QVERIFY(!QDir(QString::fromStdString(dir)).entryList({"optim-*.pt"}, QDir::Files).isEmpty());

    config.resume = true;
    int firstEpoch = 0;
    TrainCallbacks cb2;
    cb2.progress = [&](const TrainProgressInfo &p) {
        if (firstEpoch == 0)
            firstEpoch = p.epoch;
    };
    const auto resumed = trainBuiltinCnn(m_train, m_test, kClasses, config, dir, cb2, nullptr);
    QVERIFY2(resumed.ok(), resumed.status().toString().c_str());
    QCOMPARE(firstEpoch, epoch); // went on where it stopped
    QCOMPARE(resumed->epochs.size(), whole->epochs.size());
    for (size_t c = 0; c < whole->epochs.size(); ++c) {
        const BatchOutput a = run(reference, c, m_test), b = run(dir, c, m_test);
        QCOMPARE(b.logits, a.logits);
        QCOMPARE(b.embeddings, a.embeddings);
    }
    QVERIFY(QDir(QString::fromStdString(dir)).entryList({"optim-*.pt", "train-state.json"}, QDir::Files).isEmpty());
}

void TestBatchNormNetwork::augmentationIsSeeded()
{
    auto trainInto = [&](const QString &name, Augmentation a, uint64_t seed) {
        TrainConfig config = bnConfig(a);
        config.epochs = 1;
        config.seed = seed;
        const std::string dir = m_tmp.filePath(name).toStdString();
        const auto r = trainBuiltinCnn(m_train, {}, kClasses, config, dir, {}, {}, nullptr);
        if (!r.ok())
            qFatal("%s", r.status().toString().c_str());
        return run(dir, 0, m_test).logits;
    };
    const auto a = trainInto("aug-a", Augmentation::ShiftFlip, 5);
    QCOMPARE(trainInto("aug-b", Augmentation::ShiftFlip, 5), a);
    // The same seed and shuffle without the transformations trains on other pixels.
    QVERIFY(trainInto("aug-none", Augmentation::None, 5) != a);
    QVERIFY(trainInto("aug-shift", Augmentation::Shift, 5) != a);
}

void TestBatchNormNetwork::names_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("known");
    QTest::addColumn<int>("network");
    QTest::newRow("short") << "bn-cnn" << true << int(BuiltinNetwork::BnCnn);
    QTest::newRow("architecture") << "builtin-bn-cnn" << true << int(BuiltinNetwork::BnCnn);
    QTest::newRow("small") << "cnn" << true << int(BuiltinNetwork::Cnn);
    QTest::newRow("VGG-style") << "vgg" << true << int(BuiltinNetwork::Vgg);
    QTest::newRow("unknown") << "resnet" << false << 0;
}

void TestBatchNormNetwork::names()
{
    QFETCH(QString, name);
    QFETCH(bool, known);
    QFETCH(int, network);
    BuiltinNetwork n = BuiltinNetwork::Cnn;
    QCOMPARE(parseBuiltinNetwork(name.toStdString(), &n), known);
    if (known) {
        QCOMPARE(int(n), network);
        BuiltinNetwork back = BuiltinNetwork::Cnn;
        QVERIFY(parseBuiltinNetwork(builtinNetworkName(n), &back));
        QCOMPARE(back, n);
    }
    for (Augmentation a : {Augmentation::None, Augmentation::Shift, Augmentation::ShiftFlip}) {
        Augmentation parsed = Augmentation::None;
        QVERIFY(parseAugmentation(augmentationName(a), &parsed));
        QCOMPARE(parsed, a);
    }
}

void TestBatchNormNetwork::refusesWhatItCannotTrain_data()
{
    QTest::addColumn<int>("problem");
    QTest::addColumn<QString>("expected");
    QTest::newRow("images under 8×8") << 0 << "at least 8×8";
    QTest::newRow("momentum 1") << 1 << "momentum must be in [0, 1)";
    QTest::newRow("negative weight decay") << 2 << "weight decay 0 or more";
}

void TestBatchNormNetwork::refusesWhatItCannotTrain()
{
    QFETCH(int, problem);
    QFETCH(QString, expected);
    TrainData data = testing::stripeData(30, 3);
    TrainConfig config = bnConfig(Augmentation::None);
    switch (problem) {
    case 0:
        data.input.height = data.input.width = 6;
        data.pixels.resize(size_t(data.count()) * 36);
        break;
    case 1: config.momentum = 1.0; break;
    case 2: config.weightDecay = -1e-4; break;
    }
    const auto r = trainBuiltinCnn(data, {}, kClasses, config, m_tmp.filePath("bad").toStdString(), {}, {}, nullptr);
    QVERIFY(!r.ok());
    QCOMPARE(r.status().code(), Status::Code::InvalidArgument);
    QVERIFY2(QString::fromStdString(r.status().message()).contains(expected), r.status().message().c_str());
}

QTEST_GUILESS_MAIN(TestBatchNormNetwork)
#include "test_batchnormnetwork.moc"
