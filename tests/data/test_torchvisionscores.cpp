// TracIn scores and self-influence through traclens-cli for a model whose manifest carries
// input.transforms, against PyTorch autograd on torchvision's tensors: a Python fixture
// writes an ImageFolder of JPEG and PNG photos (RGB, grey, RGBA; none at the model's
// 32×32), trains a tiny TorchScript model on ImageFolder + Resize(36) + CenterCrop(32) +
// Normalize, and sums learning-rate-weighted dot products of each example's gradient of
// cross-entropy on fc.weight and fc.bias. TracLens imports, computes and answers queries;
// every score must agree to 1e-4 relative.

#include "clirun.h"
#include "requireorskip.h"
#include "pythonfixture.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using traclens::testing::CliRun;
using traclens::testing::runCli;

namespace {

const QString kPython = QStringLiteral(TRACLENS_PYTHON);
const QString kSourceDir = QStringLiteral(TRACLENS_SOURCE_DIR);
// Relative agreement required. The reference is float64 autograd on float32 tensors; TracLens
// stores float32 factors, so the floor below keeps near-zero scores from demanding more
// than float32 resolution of the largest score in the same query.
constexpr double kRelative = 1e-4;

QJsonObject readJson(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(f.readAll()).object() : QJsonObject();
}

// Path below the dataset root ("train/cat/a.png") of a query answer's absolute path.
QString relativeToData(const QString &path, const QString &dataRoot)
{
    return QDir(dataRoot).relativeFilePath(path);
}

} // namespace

class TestTorchvisionScores : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void selfInfluenceMatchesAutograd();
    void tracinMatchesAutograd_data();
    void tracinMatchesAutograd();
    void legacyPreparationDiffers();

private:
    // query --example for each of `tests` in `project`: train path → score, per test.
    QList<QHash<QString, double>> queryScores(const QString &project, const QStringList &tests);

    QTemporaryDir m_tmp;
    QString m_data, m_project;
    QJsonObject m_reference;
    QList<QHash<QString, double>> m_scores; // per test example, in reference order
};

void TestTorchvisionScores::initTestCase()
{
    QVERIFY(m_tmp.isValid());
    REQUIRE_OR_SKIP(traclens::testing::pythonImports("torch, torchvision, PIL"),
                    kPython + " cannot import torchvision and PIL (Debian packages python3-torchvision, python3-pil)");
    const QString fixtureError = traclens::testing::runPythonFixture("tests/data/fixtures/make_torchvision_scores.py", {m_tmp.path()});
    QVERIFY2(fixtureError.isEmpty(), qPrintable(fixtureError));
    m_reference = readJson(m_tmp.filePath("reference.json"));
    QCOMPARE(m_reference.value("train").toArray().size(), 9);

    m_data = m_tmp.filePath("data");
    m_project = m_tmp.filePath("p.traclens");
    CliRun r = runCli({"import", m_project, m_data, "--json", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(r.json().value("added").toInt(), 12);
    r = runCli({"import-model", m_project, m_tmp.filePath("model"), "--json", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    r = runCli({"compute", m_project, "--json", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(r.json().value("computed").toInt(), 12 * 2);
    QStringList tests;
    for (const QJsonValue &t : m_reference.value("test").toArray())
        tests << t.toString();
    m_scores = queryScores(m_project, tests);
    QCOMPARE(m_scores.size(), tests.size());
}

QList<QHash<QString, double>> TestTorchvisionScores::queryScores(const QString &project, const QStringList &tests)
{
    // One process for all queries (--example repeats; --json then prints one line per
    // example, in order): each run of the CLI loads LibTorch.
    QStringList args{"query", project, "--k", "50", "--json"};
    for (const QString &t : tests)
        args << "--example" << t;
    const CliRun r = runCli(args);
    QList<QHash<QString, double>> all;
    if (r.exitCode != 0) {
        qWarning("%s", r.err.constData());
        return all;
    }
    // A single example's answer is one indented object; several are one line each.
    const QList<QByteArray> lines = tests.size() == 1 ? QList<QByteArray>{r.out} : r.out.trimmed().split('\n');
    for (int i = 0; i < lines.size() && i < tests.size(); ++i) {
        const QJsonObject o = QJsonDocument::fromJson(lines[i]).object();
        QHash<QString, double> scores;
        // The answer's label is the query's class: the lines are in --example order.
        if (o.value("label").toString() != tests[i].section('/', 1, 1))
            return {};
        for (const char *list : {"proponents", "opponents"})
            for (const QJsonValue &v : o.value(list).toArray())
                scores.insert(relativeToData(v.toObject().value("path").toString(), m_data),
                              v.toObject().value("score").toDouble());
        all.append(scores);
    }
    return all;
}

void TestTorchvisionScores::selfInfluenceMatchesAutograd()
{
    const CliRun r = runCli({"self-influence", m_project, "--top", "0", "--split", "all", "--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonArray ranking = r.json().value("ranking").toArray();
    const QJsonObject expected = m_reference.value("self_influence").toObject();
    QCOMPARE(ranking.size(), expected.size());
    double worst = 0.0;
    for (const QJsonValue &v : ranking) {
        const QString path = v.toObject().value("path").toString();
        QVERIFY2(expected.contains(path), qPrintable(path));
        const double ours = v.toObject().value("self_influence").toDouble();
        const double theirs = expected.value(path).toDouble();
        QVERIFY(theirs > 0.0);
        const double relative = std::abs(ours - theirs) / theirs;
        worst = std::max(worst, relative);
        QVERIFY2(relative <= kRelative, qPrintable(QString("%1: %2 vs autograd %3").arg(path).arg(ours).arg(theirs)));
    }
    qInfo("self-influence: largest relative difference %.3g over %lld examples", worst, qlonglong(ranking.size()));
}

void TestTorchvisionScores::tracinMatchesAutograd_data()
{
    QTest::addColumn<int>("test");
    const QJsonArray tests = m_reference.value("test").toArray();
    for (int j = 0; j < tests.size(); ++j)
        QTest::newRow(qPrintable(tests[j].toString())) << j;
}

void TestTorchvisionScores::tracinMatchesAutograd()
{
    QFETCH(int, test);
    const QString testPath = m_reference.value("test").toArray()[test].toString();
    const QJsonArray train = m_reference.value("train").toArray();
    const QJsonArray tracin = m_reference.value("tracin").toArray();
    const QHash<QString, double> &scores = m_scores[test];
    QCOMPARE(scores.size(), train.size());

    double largest = 0.0;
    for (int i = 0; i < train.size(); ++i)
        largest = std::max(largest, std::abs(tracin[i].toArray()[test].toDouble()));
    double worst = 0.0;
    for (int i = 0; i < train.size(); ++i) {
        const QString path = train[i].toString();
        QVERIFY2(scores.contains(path), qPrintable(path));
        const double theirs = tracin[i].toArray()[test].toDouble();
        const double relative = std::abs(scores.value(path) - theirs) / std::max(std::abs(theirs), 1e-3 * largest);
        worst = std::max(worst, relative);
        QVERIFY2(relative <= kRelative,
                 qPrintable(QString("%1: %2 vs autograd %3").arg(path).arg(scores.value(path)).arg(theirs)));
    }
    qInfo("%s: largest relative difference %.3g", qPrintable(testPath), worst);
}

// The same data and checkpoints with the recipe removed from the manifest: TracLens' own
// preparation (whole image, area resize) gives other pixels, and the scores move far
// beyond the tolerance above. This is why the recipe matters, and shows the comparison
// above can fail.
void TestTorchvisionScores::legacyPreparationDiffers()
{
    const QString modelDir = m_tmp.filePath("model-without-transforms");
    QVERIFY(QDir().mkpath(modelDir));
    QJsonObject manifest = readJson(m_tmp.filePath("model/traclens-model.json"));
    QJsonObject input = manifest.value("input").toObject();
    input.remove("transforms");
    manifest.insert("input", input);
    for (const QJsonValue &c : manifest.value("checkpoints").toArray()) {
        const QString file = c.toObject().value("file").toString();
        QVERIFY(QFile::copy(m_tmp.filePath("model/" + file), modelDir + "/" + file));
    }
    QFile out(modelDir + "/traclens-model.json");
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(QJsonDocument(manifest).toJson());
    out.close();

    const QString project = m_tmp.filePath("legacy.traclens");
    CliRun r = runCli({"import", project, m_data, "--json", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    r = runCli({"import-model", project, modelDir, "--json", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    r = runCli({"compute", project, "--json", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());

    const QString testPath = m_reference.value("test").toArray()[0].toString();
    const QList<QHash<QString, double>> answers = queryScores(project, {testPath});
    QCOMPARE(answers.size(), 1);
    const QHash<QString, double> &scores = answers[0];
    const QJsonArray train = m_reference.value("train").toArray();
    QCOMPARE(scores.size(), train.size());
    double worst = 0.0;
    for (int i = 0; i < train.size(); ++i) {
        const double theirs = m_reference.value("tracin").toArray()[i].toArray()[0].toDouble();
        worst = std::max(worst, std::abs(scores.value(train[i].toString()) - theirs) / std::abs(theirs));
    }
    qInfo("without transforms: largest relative difference %.3g", worst);
    QVERIFY2(worst > 100 * kRelative, qPrintable(QString::number(worst)));
}

QTEST_GUILESS_MAIN(TestTorchvisionScores)
#include "test_torchvisionscores.moc"
