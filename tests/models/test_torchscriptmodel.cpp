// Imported TorchScript models, end to end: a Python fixture trains a tiny model with
// SGD, saves it with resources/python/traclens_model.py and computes TracIn and
// self-influence with autograd; here the same numbers must come out of ModelRunner +
// computeFactorRow. Then one row per way a model can break the contract.

#include "store/factors.h"
#include "model/modelrunner.h"
#include "model/modelspec.h"
#include "requireorskip.h"
#include "pythonfixture.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

using namespace traclens;

namespace {

const QString kPython = QStringLiteral(TRACLENS_PYTHON);
const QString kSourceDir = QStringLiteral(TRACLENS_SOURCE_DIR);

struct Examples {
    std::vector<float> inputs; // n × floatsPerImage
    std::vector<int> labels;
    int count() const { return int(labels.size()); }
};

Examples examplesFrom(const QJsonObject &o)
{
    Examples e;
    for (const QJsonValue &row : o["inputs"].toArray())
        for (const QJsonValue &v : row.toArray())
            e.inputs.push_back(float(v.toDouble()));
    for (const QJsonValue &v : o["labels"].toArray())
        e.labels.push_back(v.toInt());
    return e;
}

// Error vectors e = p − onehot(y) and embeddings h of some examples at one checkpoint.
struct Factors {
    std::vector<float> e, h, logits;
    int k = 0, d = 0;
};

Factors factorsOf(ModelRunner &runner, const Examples &ex)
{
    Factors f;
    BatchOutput out;
    const Status s = runner.run(ex.inputs.data(), ex.count(), &out);
    if (!s.isOk())
        qFatal("run failed: %s", s.toString().c_str());
    f.k = out.numClasses;
    f.d = out.embeddingDim;
    f.h = out.embeddings;
    f.logits = out.logits;
    f.e.resize(size_t(ex.count()) * f.k);
    std::vector<float> probs(f.k);
    for (int i = 0; i < ex.count(); ++i) {
        float loss = 0.0f;
        computeFactorRow(out.logits.data() + size_t(i) * f.k, f.k, ex.labels[i], probs.data(),
                         f.e.data() + size_t(i) * f.k, &loss);
    }
    return f;
}

bool closeRelative(double actual, double expected, double rel)
{
    return std::abs(actual - expected) <= rel * std::abs(expected) + 1e-9;
}

} // namespace

class TestTorchScriptModel : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void manifestFromPythonHelper();
    void logitsMatchPython_data();
    void logitsMatchPython();
    void tracInMatchesAutograd();
    void runOnSmallAndEmptyBatches();
    void runIsRepeatable();
    void badModel_data();
    void badModel();
    void missingCheckpointFile();
    void indexOutOfRange();

private:
    QTemporaryDir m_tmp;
    QJsonObject m_ref;
    ModelSpec m_spec;
    Examples m_train, m_test;
};

void TestTorchScriptModel::initTestCase()
{
    REQUIRE_OR_SKIP(testing::pythonImports("torch"),
                    kPython + " cannot import torch (Debian package python3-torch); TorchScript fixtures cannot be made");

    QVERIFY(m_tmp.isValid());
    const QString fixtureError = testing::runPythonFixture("tests/models/fixtures/make_torchscript_models.py", {m_tmp.path(), kSourceDir + "/resources/python"});
    QVERIFY2(fixtureError.isEmpty(), qPrintable(fixtureError));

    QFile refFile(m_tmp.filePath("reference.json"));
    QVERIFY(refFile.open(QIODevice::ReadOnly));
    m_ref = QJsonDocument::fromJson(refFile.readAll()).object();
    m_train = examplesFrom(m_ref["train"].toObject());
    m_test = examplesFrom(m_ref["test"].toObject());

    Result<ModelSpec> spec = readModelSpec(m_tmp.filePath("good").toStdString());
    QVERIFY2(spec.ok(), spec.status().toString().c_str());
    m_spec = std::move(spec).value();
    QVERIFY(m_train.inputs.size() == size_t(m_train.count()) * m_spec.input.floatsPerImage());
    ModelRunner::setThreads(2);
}

void TestTorchScriptModel::manifestFromPythonHelper()
{
    QCOMPARE(m_spec.classes, (std::vector<std::string>{"cat", "dog", "bird", "fish"}));
    QCOMPARE(m_spec.input.channels, 3);
    QCOMPARE(m_spec.input.height, 5);
    QCOMPARE(m_spec.input.width, 4);
    QCOMPARE(m_spec.architecture, std::string());
    QCOMPARE(m_spec.checkpoints.size(), size_t(3));
    const QJsonArray lrs = m_ref["learning_rates"].toArray();
    for (size_t i = 0; i < 3; ++i) {
        QCOMPARE(m_spec.checkpoints[i].file, "ckpt-" + std::to_string(i + 1) + ".pt");
        QCOMPARE(m_spec.checkpoints[i].learningRate, lrs[int(i)].toDouble());
    }
}

void TestTorchScriptModel::logitsMatchPython_data()
{
    QTest::addColumn<int>("checkpoint");
    QTest::newRow("ckpt-1") << 0;
    QTest::newRow("ckpt-2") << 1;
    QTest::newRow("ckpt-3") << 2;
}

void TestTorchScriptModel::logitsMatchPython()
{
    QFETCH(int, checkpoint);
    auto runner = ModelRunner::load(m_spec, size_t(checkpoint));
    QVERIFY2(runner.ok(), runner.status().toString().c_str());
    QCOMPARE((*runner)->numClasses(), 4);
    QCOMPARE((*runner)->embeddingDim(), 7);
    // The numbers below come from the optimised copy, so they check it too.
    QVERIFY((*runner)->isOptimised());
    const Factors f = factorsOf(**runner, m_train);
    const QJsonArray expected = m_ref["train_logits"].toArray()[checkpoint].toArray();
    for (int i = 0; i < m_train.count(); ++i) {
        const QJsonArray row = expected[i].toArray();
        for (int j = 0; j < f.k; ++j) {
            const double want = row[j].toDouble();
            const double got = f.logits[size_t(i) * f.k + j];
            QVERIFY2(std::abs(got - want) <= 1e-5 * std::max(1.0, std::abs(want)),
                     qPrintable(QString("logit[%1][%2]: %3 vs %4").arg(i).arg(j).arg(got).arg(want)));
        }
    }
}

void TestTorchScriptModel::tracInMatchesAutograd()
{
    const int nTrain = m_train.count(), nTest = m_test.count();
    std::vector<double> tracIn(size_t(nTrain) * nTest, 0.0), selfInfluence(nTrain, 0.0);
    for (size_t c = 0; c < m_spec.checkpoints.size(); ++c) {
        auto runner = ModelRunner::load(m_spec, c);
        QVERIFY2(runner.ok(), runner.status().toString().c_str());
        const double lr = m_spec.checkpoints[c].learningRate;
        const Factors a = factorsOf(**runner, m_train);
        const Factors b = factorsOf(**runner, m_test);
        const int k = a.k, d = a.d;
        for (int i = 0; i < nTrain; ++i) {
            const float *ei = a.e.data() + size_t(i) * k, *hi = a.h.data() + size_t(i) * d;
            for (int j = 0; j < nTest; ++j)
                tracIn[size_t(i) * nTest + j] +=
                    lr * gradientDot(ei, hi, b.e.data() + size_t(j) * k, b.h.data() + size_t(j) * d, k, d);
            selfInfluence[i] += lr * dot(ei, ei, k) * (dot(hi, hi, d) + 1.0);
        }
    }

    const QJsonArray refTracIn = m_ref["tracin"].toArray();
    const QJsonArray refSelf = m_ref["self_influence"].toArray();
    for (int i = 0; i < nTrain; ++i) {
        for (int j = 0; j < nTest; ++j) {
            const double want = refTracIn[i].toArray()[j].toDouble();
            const double got = tracIn[size_t(i) * nTest + j];
            QVERIFY2(closeRelative(got, want, 1e-4),
                     qPrintable(QString("TracIn(train %1, test %2): %3 vs autograd %4").arg(i).arg(j).arg(got).arg(want)));
        }
        const double want = refSelf[i].toDouble();
        QVERIFY2(want > 0.0, "the fixture's self-influence should be positive");
        QVERIFY2(closeRelative(selfInfluence[i], want, 1e-4),
                 qPrintable(QString("self-influence(train %1): %2 vs autograd %3").arg(i).arg(selfInfluence[i]).arg(want)));
    }
}

void TestTorchScriptModel::runOnSmallAndEmptyBatches()
{
    auto runner = ModelRunner::load(m_spec, 2);
    QVERIFY(runner.ok());
    // One example alone gives the same numbers as inside a batch.
    BatchOutput all, one;
    QVERIFY((*runner)->run(m_train.inputs.data(), m_train.count(), &all).isOk());
    const size_t per = m_spec.input.floatsPerImage();
    QVERIFY((*runner)->run(m_train.inputs.data() + 3 * per, 1, &one).isOk());
    QCOMPARE(one.n, 1);
    QCOMPARE(one.logits.size(), size_t(4));
    QCOMPARE(one.embeddings.size(), size_t(7));
    for (int j = 0; j < 4; ++j)
        QVERIFY(std::abs(one.logits[j] - all.logits[3 * 4 + j]) < 1e-5f);
    for (int j = 0; j < 7; ++j)
        QVERIFY(std::abs(one.embeddings[j] - all.embeddings[3 * 7 + j]) < 1e-5f);

    BatchOutput empty;
    QVERIFY((*runner)->run(nullptr, 0, &empty).isOk());
    QCOMPARE(empty.n, 0);
    QVERIFY(empty.logits.empty());
    QVERIFY(!(*runner)->run(m_train.inputs.data(), 1, nullptr).isOk());
}

// The first call of a fresh runner (a resumed compute job) gives the same bits as a
// runner that has been busy (TorchScript's executor profiles and re-plans early calls).
void TestTorchScriptModel::runIsRepeatable()
{
    auto fresh = ModelRunner::load(m_spec, 1);
    auto busy = ModelRunner::load(m_spec, 1);
    QVERIFY(fresh.ok() && busy.ok());
    BatchOutput first, other, later;
    QVERIFY((*fresh)->run(m_test.inputs.data(), m_test.count(), &first).isOk());
    for (int i = 0; i < 4; ++i)
        QVERIFY((*busy)->run(m_train.inputs.data(), m_train.count(), &other).isOk());
    QVERIFY((*busy)->run(m_test.inputs.data(), m_test.count(), &later).isOk());
    QCOMPARE(first.logits, later.logits);
    QCOMPARE(first.embeddings, later.embeddings);
}

void TestTorchScriptModel::badModel_data()
{
    QTest::addColumn<QString>("dir");
    QTest::addColumn<QString>("expected");
    QTest::newRow("no embed") << "no_embed" << "no method 'embed'";
    QTest::newRow("no fc") << "no_fc" << "no submodule 'fc'";
    QTest::newRow("fc without bias") << "fc_without_bias" << "fc has no bias";
    QTest::newRow("forward != fc(embed)") << "forward_not_fc_of_embed" << "forward(x) differs from fc(embed(x)) by";
    QTest::newRow("class count") << "class_count" << "fc has 4 outputs but the model lists 5 classes";
    QTest::newRow("NaN weight") << "nan_weight" << "weight 'body.1.weight' holds NaN or Inf";
    QTest::newRow("wrong input size") << "wrong_input_size" << "forward(x) fails on a 2×3×6×4 batch";
    QTest::newRow("not TorchScript") << "not_torchscript" << "not a TorchScript module";
}

void TestTorchScriptModel::badModel()
{
    QFETCH(QString, dir);
    QFETCH(QString, expected);
    // The manifests themselves are fine: only ModelRunner::load can tell.
    const Result<ModelSpec> spec = readModelSpec(m_tmp.filePath("bad/" + dir).toStdString());
    QVERIFY2(spec.ok(), spec.status().toString().c_str());
    const auto runner = ModelRunner::load(*spec, 0);
    QVERIFY(!runner.ok());
    const QString message = QString::fromStdString(runner.status().message());
    qInfo().noquote() << message;
    QVERIFY2(message.startsWith(QString::fromStdString(spec->checkpointPath(0)) + ": "), qPrintable(message));
    QVERIFY2(message.contains(expected), qPrintable(message));
    // One line, no LibTorch backtrace.
    QVERIFY2(!message.contains('\n'), qPrintable(message));
}

void TestTorchScriptModel::missingCheckpointFile()
{
    QTemporaryDir tmp;
    const QString dir = tmp.filePath("copy");
    QVERIFY(QDir().mkpath(dir));
    for (const QString name : {"traclens-model.json", "ckpt-1.pt", "ckpt-2.pt", "ckpt-3.pt"})
        QVERIFY(QFile::copy(m_tmp.filePath("good/" + name), dir + "/" + name));
    const Result<ModelSpec> spec = readModelSpec(dir.toStdString());
    QVERIFY(spec.ok());
    // Gone between reading the manifest and loading (e.g. deleted by hand).
    QVERIFY(QFile::remove(dir + "/ckpt-2.pt"));
    QVERIFY(ModelRunner::load(*spec, 0).ok());
    const auto runner = ModelRunner::load(*spec, 1);
    QVERIFY(!runner.ok());
    QCOMPARE(runner.status().code(), Status::Code::NotFound);
    QVERIFY2(runner.status().message() == spec->checkpointPath(1) + ": no such file",
             runner.status().message().c_str());
}

void TestTorchScriptModel::indexOutOfRange()
{
    const auto runner = ModelRunner::load(m_spec, 3);
    QVERIFY(!runner.ok());
    QVERIFY2(runner.status().message().find("has 3") != std::string::npos, runner.status().message().c_str());
}

QTEST_GUILESS_MAIN(TestTorchScriptModel)
#include "test_torchscriptmodel.moc"
