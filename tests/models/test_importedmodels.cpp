// Imported torchvision architectures (ResNet-18, MobileNetV3-small), wrapped to the
// model contract: load() must run them frozen and optimised for inference, and the
// optimised copy must give the embeddings and logits of the scripted module as saved,
// to the tolerance load() applies (1e-4 × max(1, largest |value|)).

#include "model/modelrunner.h"
#include "model/modelspec.h"
#include "requireorskip.h"
#include "pythonfixture.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>

using namespace traclens;

namespace {

const QString kPython = QStringLiteral(TRACLENS_PYTHON);
const QString kSourceDir = QStringLiteral(TRACLENS_SOURCE_DIR);

std::vector<float> flatten(const QJsonArray &rows)
{
    std::vector<float> v;
    for (const QJsonValue &row : rows)
        for (const QJsonValue &x : row.toArray())
            v.push_back(float(x.toDouble()));
    return v;
}

// Largest |got − want| over largest |want|, and the bound load() accepts.
struct Deviation {
    double maxDiff = 0, maxAbs = 0;
    double bound() const { return 1e-4 * std::max(1.0, maxAbs); }
};

Deviation deviation(const std::vector<float> &got, const std::vector<float> &want)
{
    Deviation d;
    for (size_t i = 0; i < want.size(); ++i) {
        d.maxDiff = std::max(d.maxDiff, double(std::abs(got[i] - want[i])));
        d.maxAbs = std::max(d.maxAbs, double(std::abs(want[i])));
    }
    return d;
}

} // namespace

class TestImportedModels : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void loadsOptimised_data();
    void loadsOptimised();

private:
    QTemporaryDir m_tmp;
    QJsonObject m_ref;
};

void TestImportedModels::initTestCase()
{
    REQUIRE_OR_SKIP(testing::pythonImports("torch, torchvision"),
                    kPython + " cannot import torch and torchvision (Debian packages python3-torch, "
                              "python3-torchvision); the fixtures cannot be made");
    QVERIFY(m_tmp.isValid());
    const QString fixtureError = testing::runPythonFixture("tests/models/fixtures/make_torchvision_models.py", {m_tmp.path(), kSourceDir + "/resources/python"}, 180000);
    QVERIFY2(fixtureError.isEmpty(), qPrintable(fixtureError));
    QFile refFile(m_tmp.filePath("reference.json"));
    QVERIFY(refFile.open(QIODevice::ReadOnly));
    m_ref = QJsonDocument::fromJson(refFile.readAll()).object();
    QVERIFY(!m_ref.isEmpty());
    ModelRunner::setThreads(2);
}

void TestImportedModels::loadsOptimised_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("embeddingDim");
    QTest::newRow("resnet18") << "resnet18" << 512;
    QTest::newRow("mobilenet_v3_small") << "mobilenet_v3_small" << 1024;
}

void TestImportedModels::loadsOptimised()
{
    QFETCH(QString, name);
    QFETCH(int, embeddingDim);
    Result<ModelSpec> spec = readModelSpec(m_tmp.filePath(name).toStdString());
    QVERIFY2(spec.ok(), spec.status().toString().c_str());
    auto runner = ModelRunner::load(*spec, 0);
    QVERIFY2(runner.ok(), runner.status().toString().c_str());
    QVERIFY2((*runner)->isOptimised(), "the model runs as loaded, not frozen and optimised");
    QCOMPARE((*runner)->embeddingDim(), embeddingDim);
    QCOMPARE((*runner)->numClasses(), 10);

    const QJsonObject ref = m_ref[name].toObject();
    const std::vector<float> inputs = flatten(ref["inputs"].toArray());
    const std::vector<float> wantH = flatten(ref["embeddings"].toArray());
    const std::vector<float> wantZ = flatten(ref["logits"].toArray());
    const int n = ref["inputs"].toArray().size();
    QCOMPARE(inputs.size(), size_t(n) * spec->input.floatsPerImage());
    BatchOutput out;
    const Status s = (*runner)->run(inputs.data(), n, &out);
    QVERIFY2(s.isOk(), s.toString().c_str());
    QCOMPARE(out.embeddings.size(), wantH.size());
    QCOMPARE(out.logits.size(), wantZ.size());
    const Deviation h = deviation(out.embeddings, wantH);
    const Deviation z = deviation(out.logits, wantZ);
    // A model whose features are all zero would pass any tolerance.
    QVERIFY(h.maxAbs > 1e-3);
    QVERIFY2(h.maxDiff <= h.bound(), qPrintable(QString("embeddings differ by %1 (bound %2)").arg(h.maxDiff).arg(h.bound())));
    QVERIFY2(z.maxDiff <= z.bound(), qPrintable(QString("logits differ by %1 (bound %2)").arg(z.maxDiff).arg(z.bound())));
    qInfo("%s: embeddings differ by at most %.3g (largest %.3g), logits by %.3g", qPrintable(name), h.maxDiff,
          h.maxAbs, z.maxDiff);
}

QTEST_GUILESS_MAIN(TestImportedModels)
#include "test_importedmodels.moc"
