// The built-in CNN trainer on a tiny synthetic dataset whose three classes are
// drawn as distinct patterns (horizontal stripes, vertical stripes, a blob), so two
// short epochs must learn them.

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
#include <cmath>
#include <random>

using namespace traclens;

namespace {

const std::vector<std::string> &kClasses = testing::stripeClasses();

TrainData syntheticData(int count, uint32_t seed)
{
    return testing::stripeData(count, seed);
}

TrainConfig smallConfig()
{
    // Few, larger batches: the test stays fast even on a loaded machine, where every
    // OpenMP barrier of a step can cost a scheduler time slice.
    TrainConfig c = testing::tinyTrainConfig(4, 16, 32, 0.1, 7);
    c.epochs = 2;
    return c;
}

std::vector<float> normalised(const TrainData &data)
{
    std::vector<float> out(data.pixels.size());
    for (size_t i = 0; i < out.size(); ++i)
        out[i] = (data.pixels[i] / 255.0f - data.input.mean[0]) / data.input.std[0];
    return out;
}

BatchOutput runCheckpoint(const ModelSpec &spec, size_t index, const TrainData &data)
{
    BatchOutput out;
    auto runner = ModelRunner::load(spec, index);
    if (!runner.ok())
        qFatal("%s", runner.status().toString().c_str());
    if (!(*runner)->isOptimised())
        qFatal("the built-in CNN should run through the optimised TorchScript copy");
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
        const int pred = int(std::max_element(row, row + out.numClasses) - row);
        correct += pred == data.labels[size_t(i)];
    }
    return double(correct) / out.n;
}

} // namespace

class TestTrainer : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void trainsAndWritesCheckpoints();
    void sameSeedSameModel();
    void checkpointEveryKeepsLastEpoch();
    void cosineSchedule_data();
    void cosineSchedule();
    void runIsRepeatable();
    void manifestNotMatchingCheckpoint();
    void cancel_data();
    void cancel();
    void invalidInput_data();
    void invalidInput();

private:
    TrainData m_train, m_test;
};

void TestTrainer::initTestCase()
{
    ModelRunner::setThreads(2);
    m_train = syntheticData(256, 1);
    m_test = syntheticData(96, 2);
}

void TestTrainer::trainsAndWritesCheckpoints()
{
    QTemporaryDir tmp;
    const std::string dir = tmp.filePath("model").toStdString();
    std::vector<std::pair<int, int64_t>> progress;
    std::vector<int> epochsSeen;
    const auto reports = trainBuiltinCnn(
        m_train, m_test, kClasses, smallConfig(), dir,
        [&](int epoch, int64_t seen, int64_t total, double loss) {
            QCOMPARE(total, int64_t(256));
            QVERIFY(std::isfinite(loss));
            progress.emplace_back(epoch, seen);
        },
        [&](const EpochReport &r) { epochsSeen.push_back(r.epoch); }, nullptr);
    QVERIFY2(reports.ok(), reports.status().toString().c_str());
    QCOMPARE(reports->size(), size_t(2));
    QCOMPARE(epochsSeen, (std::vector<int>{1, 2}));
    // Progress after every batch of 32: 8 calls per epoch, ending at the total.
    QCOMPARE(progress.size(), size_t(16));
    QCOMPARE(progress[7], std::make_pair(1, int64_t(256)));
    QCOMPARE(progress.back(), std::make_pair(2, int64_t(256)));

    const EpochReport &first = (*reports)[0], &second = (*reports)[1];
    for (const EpochReport &r : *reports)
        qInfo("epoch %d: lr %.3f, train loss %.3f acc %.3f, test loss %.3f acc %.3f", r.epoch, r.learningRate,
              r.trainLoss, r.trainAccuracy, r.testLoss, r.testAccuracy);
    QCOMPARE(first.learningRate, 0.1);
    QCOMPARE(second.learningRate, 0.05);
    QVERIFY2(second.trainLoss < first.trainLoss,
             qPrintable(QString("loss %1 → %2").arg(first.trainLoss).arg(second.trainLoss)));
    QVERIFY2(second.testAccuracy > 0.6, qPrintable(QString::number(second.testAccuracy))); // chance is 1/3
    QCOMPARE(first.checkpointFile, std::string("ckpt-1.pt"));
    QCOMPARE(second.checkpointFile, std::string("ckpt-2.pt"));

    const Result<ModelSpec> spec = readModelSpec(dir);
    QVERIFY2(spec.ok(), spec.status().toString().c_str());
    QCOMPARE(spec->architecture, std::string("builtin-cnn"));
    QCOMPARE(spec->width, 4);
    QCOMPARE(spec->embeddingDim, 16);
    QCOMPARE(spec->classes, kClasses);
    QCOMPARE(spec->input.height, 16);
    QCOMPARE(spec->checkpoints.size(), size_t(2));
    QCOMPARE(spec->checkpoints[0].file, std::string("ckpt-1.pt"));
    QCOMPARE(spec->checkpoints[0].learningRate, 0.1);
    QCOMPARE(spec->checkpoints[1].learningRate, 0.05);
    // No temporary files left behind: the manifest, two checkpoints and the training record.
    QCOMPARE(QDir(tmp.filePath("model")).entryList(QDir::Files).size(), qsizetype(4));
    QVERIFY(QFile::exists(tmp.filePath("model/training.json")));

    for (size_t c = 0; c < 2; ++c) {
        const BatchOutput out = runCheckpoint(*spec, c, m_test);
        QCOMPARE(out.numClasses, 3);
        QCOMPARE(out.embeddingDim, 16);
        // ModelRunner sees what the trainer measured (its oneDNN path may round
        // differently from training's eager one, so one near-tie may flip).
        QVERIFY2(std::abs(accuracy(out, m_test) - (*reports)[c].testAccuracy) <= 1.0 / 96 + 1e-9,
                 qPrintable(QString("%1 vs %2").arg(accuracy(out, m_test)).arg((*reports)[c].testAccuracy)));
        // Embeddings are ReLU outputs.
        QVERIFY(*std::min_element(out.embeddings.begin(), out.embeddings.end()) >= 0.0f);
    }
}

void TestTrainer::sameSeedSameModel()
{
    QTemporaryDir tmp;
    auto trainInto = [&](const QString &name, uint64_t seed) {
        TrainConfig config = smallConfig();
        config.epochs = 1;
        config.seed = seed;
        const auto r = trainBuiltinCnn(m_train, {}, kClasses, config, tmp.filePath(name).toStdString(), {}, {}, nullptr);
        if (!r.ok())
            qFatal("%s", r.status().toString().c_str());
        if (r->front().testLoss != -1.0)
            qFatal("test loss reported without test data");
        return runCheckpoint(*readModelSpec(tmp.filePath(name).toStdString()), 0, m_test);
    };
    const BatchOutput a = trainInto("a", 11), b = trainInto("b", 11), c = trainInto("c", 12);
    QCOMPARE(a.logits, b.logits);
    QCOMPARE(a.embeddings, b.embeddings);
    QVERIFY(a.logits != c.logits);
}

// A resumed compute job recomputes some batches in a fresh process: the first call of
// a fresh runner must give the same bits as a runner that has been busy for a while.
void TestTrainer::runIsRepeatable()
{
    QTemporaryDir tmp;
    TrainConfig config = smallConfig();
    config.epochs = 1;
    QVERIFY(trainBuiltinCnn(m_train, {}, kClasses, config, tmp.path().toStdString(), {}, {}, nullptr).ok());
    const Result<ModelSpec> spec = readModelSpec(tmp.path().toStdString());
    QVERIFY(spec.ok());
    const std::vector<float> test = normalised(m_test), train = normalised(m_train);
    const int n = 64;

    auto fresh = ModelRunner::load(*spec, 0);
    QVERIFY(fresh.ok());
    BatchOutput first;
    QVERIFY((*fresh)->run(test.data(), n, &first).isOk());

    auto busy = ModelRunner::load(*spec, 0);
    QVERIFY(busy.ok());
    BatchOutput other, later;
    for (int i = 0; i < 4; ++i)
        QVERIFY((*busy)->run(train.data() + size_t(i) * n * 256, n, &other).isOk());
    QVERIFY((*busy)->run(test.data(), n, &later).isOk());
    QCOMPARE(first.logits, later.logits);
    QCOMPARE(first.embeddings, later.embeddings);
}

void TestTrainer::checkpointEveryKeepsLastEpoch()
{
    QTemporaryDir tmp;
    TrainConfig config = smallConfig();
    config.epochs = 3;
    config.checkpointEvery = 2;
    config.lrDecayEvery = 2;
    const auto r = trainBuiltinCnn(m_train, {}, kClasses, config, tmp.path().toStdString(), {}, {}, nullptr);
    QVERIFY2(r.ok(), r.status().toString().c_str());
    QCOMPARE((*r)[0].checkpointFile, std::string());
    const Result<ModelSpec> spec = readModelSpec(tmp.path().toStdString());
    QVERIFY(spec.ok());
    QCOMPARE(spec->checkpoints.size(), size_t(2));
    QCOMPARE(spec->checkpoints[0].file, std::string("ckpt-2.pt"));
    QCOMPARE(spec->checkpoints[0].learningRate, 0.1);
    QCOMPARE(spec->checkpoints[1].file, std::string("ckpt-3.pt"));
    QCOMPARE(spec->checkpoints[1].learningRate, 0.05);
    QVERIFY(!QFile::exists(tmp.filePath("ckpt-1.pt")));
}

void TestTrainer::cosineSchedule_data()
{
    QTest::addColumn<int>("epochs");
    QTest::newRow("one epoch") << 1;
    QTest::newRow("three epochs") << 3;
}

void TestTrainer::cosineSchedule()
{
    // Each checkpoint carries the one rate its epoch trained with: the cosine's value at
    // the middle of the epoch, falling to a small positive rate in the last epoch.
    QFETCH(int, epochs);
    QTemporaryDir tmp;
    TrainConfig config = smallConfig();
    config.schedule = LrSchedule::Cosine;
    config.epochs = epochs;
    const auto r = trainBuiltinCnn(m_train, {}, kClasses, config, tmp.path().toStdString(), {}, {}, nullptr);
    QVERIFY2(r.ok(), r.status().toString().c_str());
    const Result<ModelSpec> spec = readModelSpec(tmp.path().toStdString());
    QVERIFY(spec.ok());
    QCOMPARE(spec->checkpoints.size(), size_t(epochs));
    const double pi = 3.14159265358979323846;
    for (int e = 1; e <= epochs; ++e) {
        const double expected = 0.1 * 0.5 * (1.0 + std::cos(pi * (e - 0.5) / epochs));
        QVERIFY2(std::abs(spec->checkpoints[size_t(e - 1)].learningRate - expected) < 1e-12,
                 qPrintable(QString("epoch %1: %2, expected %3")
                                .arg(e)
                                .arg(spec->checkpoints[size_t(e - 1)].learningRate)
                                .arg(expected)));
        QCOMPARE((*r)[size_t(e - 1)].learningRate, spec->checkpoints[size_t(e - 1)].learningRate);
    }
    QVERIFY(spec->checkpoints.back().learningRate > 0.0);
    if (epochs > 1)
        QVERIFY(spec->checkpoints.back().learningRate < 0.1 * 0.1);
    // The step schedule starts at the full rate; the cosine at its mean over the first epoch.
    QCOMPARE(stepRateForEpoch(config, 1), 0.1);
    QVERIFY(learningRateForEpoch(config, 1, epochs) < 0.1);
    LrSchedule parsed = LrSchedule::Step;
    QVERIFY(parseLrSchedule(lrScheduleName(LrSchedule::Cosine), &parsed));
    QCOMPARE(parsed, LrSchedule::Cosine);
    QVERIFY(!parseLrSchedule("linear", &parsed));
}

void TestTrainer::manifestNotMatchingCheckpoint()
{
    QTemporaryDir tmp;
    TrainConfig config = smallConfig();
    config.epochs = 1;
    QVERIFY(trainBuiltinCnn(m_train, {}, kClasses, config, tmp.path().toStdString(), {}, {}, nullptr).ok());
    Result<ModelSpec> spec = readModelSpec(tmp.path().toStdString());
    QVERIFY(spec.ok());
    // Edited by hand to a width the checkpoint was not trained with.
    spec->width = 8;
    QVERIFY(writeModelSpec(*spec).isOk());
    spec = readModelSpec(tmp.path().toStdString());
    QVERIFY(spec.ok());
    const auto runner = ModelRunner::load(*spec, 0);
    QVERIFY(!runner.ok());
    const std::string &message = runner.status().message();
    QVERIFY2(message.rfind(spec->checkpointPath(0) + ": does not hold a builtin-cnn of width 8", 0) == 0,
             message.c_str());
    QVERIFY2(message.find("conv1.weight has shape [4, 1, 3, 3], expected [8, 1, 3, 3]") != std::string::npos,
             message.c_str());
    QVERIFY2(message.find('\n') == std::string::npos, message.c_str());
}

void TestTrainer::cancel_data()
{
    QTest::addColumn<int>("cancelEpoch");
    QTest::addColumn<int>("keptCheckpoints");
    QTest::newRow("before the first checkpoint") << 1 << 0;
    QTest::newRow("after the first checkpoint") << 2 << 1;
}

void TestTrainer::cancel()
{
    QFETCH(int, cancelEpoch);
    QFETCH(int, keptCheckpoints);
    QTemporaryDir tmp;
    // A manifest from an earlier run must not survive a run cancelled before its
    // first checkpoint.
    QFile stale(tmp.filePath(kModelManifestName));
    QVERIFY(stale.open(QIODevice::WriteOnly));
    stale.write("{}");
    stale.close();

    std::atomic<bool> cancelFlag{false};
    int batchesAfter = 0;
    int lastEpoch = 0;
    TrainConfig config = smallConfig();
    config.epochs = 3;
    const auto r = trainBuiltinCnn(
        m_train, m_test, kClasses, config, tmp.path().toStdString(),
        [&](int epoch, int64_t, int64_t, double) {
            lastEpoch = epoch;
            if (epoch == cancelEpoch && ++batchesAfter == 3)
                cancelFlag = true;
        },
        {}, &cancelFlag);
    QVERIFY(!r.ok());
    QVERIFY(r.status().isCancelled());
    QCOMPARE(lastEpoch, cancelEpoch);
    QCOMPARE(batchesAfter, 3); // checked between batches: stops right after

    const Result<ModelSpec> spec = readModelSpec(tmp.path().toStdString());
    if (keptCheckpoints == 0) {
        QVERIFY(!spec.ok());
        QCOMPARE(spec.status().code(), Status::Code::NotFound);
        return;
    }
    QVERIFY2(spec.ok(), spec.status().toString().c_str());
    QCOMPARE(spec->checkpoints.size(), size_t(keptCheckpoints));
    QVERIFY(ModelRunner::load(*spec, 0).ok());
}

void TestTrainer::invalidInput_data()
{
    QTest::addColumn<int>("problem");
    QTest::addColumn<QString>("expected");
    QTest::newRow("label out of range") << 0 << "example 5 has label 3 but there are 3 classes";
    QTest::newRow("pixel count") << 1 << "holds 65535 pixel values";
    QTest::newRow("zero epochs") << 2 << "must be positive";
    QTest::newRow("std zero") << 3 << "std must be greater than 0";
    QTest::newRow("too small") << 4 << "at least 4×4";
    QTest::newRow("one class") << 5 << "at least 2 classes";
}

void TestTrainer::invalidInput()
{
    QFETCH(int, problem);
    QFETCH(QString, expected);
    TrainData data = syntheticData(30, 3);
    TrainConfig config = smallConfig();
    std::vector<std::string> classes = kClasses;
    switch (problem) {
    case 0: data.labels[5] = 3; break;
    case 1: data.pixels.resize(65535); break;
    case 2: config.epochs = 0; break;
    case 3: data.input.std = {0.0f}; break;
    case 4:
        data.input.height = data.input.width = 2;
        data.pixels.resize(size_t(data.count()) * 4);
        break;
    case 5: classes.resize(1); break;
    }
    QTemporaryDir tmp;
    const auto r = trainBuiltinCnn(data, {}, classes, config, tmp.path().toStdString(), {}, {}, nullptr);
    QVERIFY(!r.ok());
    QCOMPARE(r.status().code(), Status::Code::InvalidArgument);
    QVERIFY2(QString::fromStdString(r.status().message()).contains(expected), r.status().message().c_str());
}

QTEST_GUILESS_MAIN(TestTrainer)
#include "test_trainer.moc"
