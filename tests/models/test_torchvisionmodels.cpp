// torchvision classifiers brought in with the Python helper's three lines, end to end: a
// fixture trains resnet18 / mobilenet_v3_small / efficientnet_b0 (4 classes, 32×32 RGB, no
// pretrained weights) a few plain-SGD steps on a generated image folder, saves two
// checkpoints with `CheckpointWriter(..., transform=eval_transform)` and `writer.save(model,
// learning_rate=lr)`, and computes TracIn and self-influence with autograd on the last
// layer's weight and bias. traclens-cli then imports the folder and the model, computes,
// and its query and self-influence answers must equal autograd to 1e-4 relative (TracIn:
// relative to the pair's scale √(self(z)·self(z′)), see kRelative). Models the helper cannot
// wrap, and training transforms, are refused with a clear message.

#include "clirun.h"
#include "requireorskip.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMap>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <map>
#include <memory>

namespace {

const QString kPython = QStringLiteral(TRACLENS_PYTHON);
const QString kSourceDir = QStringLiteral(TRACLENS_SOURCE_DIR);
const QString kFixtures = kSourceDir + QStringLiteral("/tests/models/fixtures/");
// The comparison, against autograd's value x: self-influence |TracLens − x| ≤ kRelative · |x|;
// TracIn(z, z′) |TracLens − x| ≤ kRelative · √(self(z)·self(z′)), the largest magnitude the
// pair's score can have (Cauchy–Schwarz), i.e. normalised TracIn agrees to kRelative. A score
// that is a near-cancelling sum (x ≈ 0) keeps float32's absolute error, not its relative one.
constexpr double kRelative = 1e-4;
const QStringList kArchs{"resnet18", "mobilenet_v3_small", "efficientnet_b0"};
// Evaluation transforms and the manifest `input` the helper records for them (the shared
// contract: channels/height/width/mean/std and input.transforms), or "error: <text>".
struct TransformCase {
    const char *name, *transform, *inputSize, *expected;
};
const TransformCase kTransforms[] = {
    {"Resize(int) + CenterCrop + Normalize",
     "T.Compose([T.Resize(72), T.CenterCrop(64), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])",
     "", R"({"channels": 3, "height": 64, "width": 64, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
           "transforms": [{"op": "resize", "size": [72], "interpolation": "bilinear"},
                          {"op": "center_crop", "size": [64, 64]}]})"},
    {"Resize((h, w)) bicubic, no Normalize", "T.Compose([T.Resize((40, 30), interpolation=I.BICUBIC), T.ToTensor()])",
     "", R"({"channels": 3, "height": 40, "width": 30, "mean": [0, 0, 0], "std": [1, 1, 1],
           "transforms": [{"op": "resize", "size": [40, 30], "interpolation": "bicubic"}]})"},
    {"Grayscale, nearest, one-value Normalize",
     "T.Compose([T.Grayscale(), T.Resize(28, interpolation=I.NEAREST), T.CenterCrop(28), T.ToTensor(), "
     "T.Normalize((0.1307,), (0.3081,))])",
     "", R"({"channels": 1, "height": 28, "width": 28, "mean": [0.1307], "std": [0.3081],
           "transforms": [{"op": "grayscale", "channels": 1}, {"op": "resize", "size": [28], "interpolation": "nearest"},
                          {"op": "center_crop", "size": [28, 28]}]})"},
    {"Grayscale(3), nested Compose, CenterCrop(int)",
     "T.Compose([T.Grayscale(num_output_channels=3), T.Compose([T.CenterCrop(20)]), T.ToTensor(), T.Normalize([0.5], [0.25])])",
     "", R"({"channels": 3, "height": 20, "width": 20, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25],
           "transforms": [{"op": "grayscale", "channels": 3}, {"op": "center_crop", "size": [20, 20]}]})"},
    {"Resize(int, max_size) with input_size", "T.Compose([T.Resize(32, max_size=48), T.ToTensor()])", "32,48",
     R"({"channels": 3, "height": 32, "width": 48, "mean": [0, 0, 0], "std": [1, 1, 1],
           "transforms": [{"op": "resize", "size": [32], "interpolation": "bilinear", "max_size": 48}]})"},
    {"ToTensor only, with input_size", "T.ToTensor()", "16,24",
     R"({"channels": 3, "height": 16, "width": 24, "mean": [0, 0, 0], "std": [1, 1, 1], "transforms": []})"},
    {"ColorJitter", "T.Compose([T.ColorJitter(0.2), T.CenterCrop(8), T.ToTensor()])", "",
     "error: transform 0 (ColorJitter) is a random augmentation; pass the evaluation transform"},
    {"Resize after ToTensor", "T.Compose([T.ToTensor(), T.Resize((8, 8))])", "",
     "error: transform 1 (Resize) comes after ToTensor"},
    {"Lambda", "T.Compose([T.Lambda(lambda im: im), T.CenterCrop(8), T.ToTensor()])", "",
     "error: transform 0 (Lambda) cannot be recorded"},
    {"no ToTensor", "T.Compose([T.CenterCrop(8)])", "", "error: the transform has no ToTensor"},
    {"lanczos", "T.Compose([T.Resize((8, 8), interpolation=I.LANCZOS), T.ToTensor()])", "",
     "error: interpolation InterpolationMode.LANCZOS is not supported"},
    {"input_size disagrees", "T.Compose([T.CenterCrop(32), T.ToTensor()])", "30,30",
     "error: input_size=(30, 30) but the transform makes 32x32 images"},
};

const QStringList kRefusals{"no_linear",       "softmax_after_fc", "fc_without_bias",
                            "wrong_class_count", "random_transform", "size_unknown"};

using traclens::testing::runCli;

struct PythonRun {
    int exitCode = -1;
    QByteArray output;
};

// The helper is imported from the source tree, as a user's script imports the installed one.
void startPython(QProcess *p, const QStringList &args)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("PYTHONPATH", kSourceDir + "/resources/python");
    env.insert("OMP_NUM_THREADS", "1");
    p->setProcessEnvironment(env);
    p->setProcessChannelMode(QProcess::MergedChannels);
    p->start(kPython, args);
}

PythonRun finish(QProcess *p, int timeoutMs = 240000)
{
    if (!p->waitForFinished(timeoutMs))
        p->kill();
    return {p->exitStatus() == QProcess::NormalExit ? p->exitCode() : -1, p->readAll()};
}

bool torchvisionAvailable()
{
    QProcess p;
    startPython(&p, {"-c", "import torch, torchvision, PIL"});
    return finish(&p, 120000).exitCode == 0;
}

QJsonObject readJson(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

// A path from traclens-cli (absolute, or relative to the data folder) against the
// fixture's path relative to the data folder.
bool sameExample(const QString &path, const QString &relative)
{
    return path == relative || path.endsWith("/" + relative);
}

// Empty when `actual` is within kRelative · scale of autograd's `expected`, else what differs.
QString close(double actual, double expected, double scale)
{
    const double diff = std::abs(actual - expected);
    if (std::isfinite(actual) && diff <= kRelative * scale)
        return {};
    return QString("TracLens %1, autograd %2 (difference %3 of the scale %4)")
        .arg(actual, 0, 'g', 10)
        .arg(expected, 0, 'g', 10)
        .arg(diff / scale, 0, 'g', 3)
        .arg(scale, 0, 'g', 6);
}

} // namespace

class TestTorchvisionModels : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void helperTakesThreeLines();
    void tracInMatchesAutograd_data();
    void tracInMatchesAutograd();
    void refused_data();
    void refused();
    void transformRecorded_data();
    void transformRecorded();

private:
    QTemporaryDir m_tmp;
    QMap<QString, PythonRun> m_fixtures; // by arch, and "refusals"
};

void TestTorchvisionModels::initTestCase()
{
    REQUIRE_OR_SKIP(torchvisionAvailable(), kPython + " cannot import torch, torchvision and PIL (Debian packages "
                                                      "python3-torch, python3-torchvision, python3-pil)");
    QVERIFY(m_tmp.isValid());
    // The user's model trust key (read by traclens-cli) lives in this test's folder.
    qputenv("XDG_CONFIG_HOME", m_tmp.filePath("config").toUtf8());
    // The fixtures are independent and mostly single-threaded (TorchScript compiles on one
    // thread): run them all at once.
    std::map<QString, std::unique_ptr<QProcess>> running;
    for (const QString &arch : kArchs) {
        running[arch] = std::make_unique<QProcess>();
        startPython(running[arch].get(), {kFixtures + "make_torchvision_model.py", m_tmp.filePath(arch), arch});
    }
    QJsonArray cases;
    for (const TransformCase &c : kTransforms) {
        QJsonObject o{{"name", c.name}, {"transform", c.transform}};
        if (*c.inputSize) {
            QJsonArray size;
            for (const QString &v : QString(c.inputSize).split(','))
                size.append(v.toInt());
            o.insert("input_size", size);
        }
        cases.append(o);
    }
    QFile casesFile(m_tmp.filePath("transform-cases.json"));
    QVERIFY(casesFile.open(QIODevice::WriteOnly));
    casesFile.write(QJsonDocument(cases).toJson());
    casesFile.close();
    running["transforms"] = std::make_unique<QProcess>();
    startPython(running["transforms"].get(), {kFixtures + "describe_transforms.py", m_tmp.filePath("transforms.json"),
                                              casesFile.fileName()});
    running["refusals"] = std::make_unique<QProcess>();
    startPython(running["refusals"].get(), QStringList{kFixtures + "refuse_model.py", m_tmp.filePath("refusals")}
                                               + kRefusals);
    for (auto &[name, process] : running)
        m_fixtures[name] = finish(process.get());
}

// The documented promise: a training loop needs three lines to write TracLens checkpoints;
// the fixture is such a loop, and only three of its lines use the helper.
void TestTorchvisionModels::helperTakesThreeLines()
{
    QFile f(kFixtures + "make_torchvision_model.py");
    QVERIFY(f.open(QIODevice::ReadOnly | QIODevice::Text));
    const QRegularExpression usesHelper(QStringLiteral("\\b(traclens_model|CheckpointWriter|writer)\\b"));
    QStringList lines;
    for (const QString &line : QString::fromUtf8(f.readAll()).split('\n')) {
        if (usesHelper.match(line).hasMatch())
            lines << line.trimmed();
    }
    QCOMPARE(lines.size(), 3);
    QVERIFY2(lines[0].startsWith("from traclens_model import CheckpointWriter"), qPrintable(lines[0]));
    QVERIFY2(lines[1].startsWith("writer = CheckpointWriter(") && lines[1].contains("transform=eval_transform"),
             qPrintable(lines[1]));
    QCOMPARE(lines[2], QStringLiteral("writer.save(model, learning_rate=lr)"));
}

void TestTorchvisionModels::tracInMatchesAutograd_data()
{
    QTest::addColumn<QString>("arch");
    QTest::addColumn<QString>("head"); // where the helper must have found the last layer
    QTest::newRow("resnet18") << "resnet18" << "fc";
    QTest::newRow("mobilenet_v3_small") << "mobilenet_v3_small" << "classifier.3";
    QTest::newRow("efficientnet_b0") << "efficientnet_b0" << "classifier.1";
}

void TestTorchvisionModels::tracInMatchesAutograd()
{
    QFETCH(QString, arch);
    QFETCH(QString, head);
    const QString dir = m_tmp.filePath(arch);
    const PythonRun fixture = m_fixtures.value(arch);
    QVERIFY2(fixture.exitCode == 0, fixture.output.constData());
    const QJsonObject ref = readJson(dir + "/reference.json");
    QVERIFY(!ref.isEmpty());

    // The manifest records the evaluation transform (CenterCrop, ToTensor, Normalize).
    const QJsonObject manifest = readJson(dir + "/model/traclens-model.json");
    const QJsonObject input = manifest["input"].toObject();
    QCOMPARE(input["channels"].toInt(), 3);
    QCOMPARE(input["height"].toInt(), 32);
    QCOMPARE(input["width"].toInt(), 32);
    QCOMPARE(input["mean"].toArray(), (QJsonArray{0.485, 0.456, 0.406}));
    QCOMPARE(input["std"].toArray(), (QJsonArray{0.229, 0.224, 0.225}));
    QCOMPARE(input["transforms"].toArray(),
             (QJsonArray{QJsonObject{{"op", "center_crop"}, {"size", QJsonArray{32, 32}}}}));
    QCOMPARE(manifest["checkpoints"].toArray().size(), 2);

    // The saved module: the original layer's copy as fc, the rest of the model as embed.
    // (read back by the fixture with torch.jit.load)
    const QJsonObject saved = ref["saved"].toObject();
    QCOMPARE(saved["head"].toString(), head);
    QCOMPARE(saved["fc"].toString(), QStringLiteral("Linear"));
    QCOMPARE(saved["at_head"].toString(), QStringLiteral("Identity"));
    QCOMPARE(saved["fc_weight"].toArray().first().toInt(), 4);
    QCOMPARE(saved["fc_bias"].toArray(), QJsonArray{4});

    const QString project = dir + "/p.traclens";
    auto r = runCli({"import", project, dir + "/data", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    r = runCli({"import-model", project, dir + "/model", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    r = runCli({"compute", project, "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());

    const QJsonArray trainPaths = ref["train"].toArray(), testPaths = ref["test"].toArray();
    const QJsonArray tracin = ref["tracin"].toArray();
    const QJsonArray selfTrain = ref["self_influence_train"].toArray();
    const QJsonArray selfTest = ref["self_influence_test"].toArray();
    QVERIFY(trainPaths.size() >= 20 && testPaths.size() >= 8);

    // TracIn of every (train, test) pair: a query per test example lists all training
    // examples (k = the training split's size) as proponents.
    QStringList query{"query", project, "--k", QString::number(trainPaths.size()), "--json"};
    for (const QJsonValue &p : testPaths)
        query << "--example" << p.toString();
    r = runCli(query);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QList<QByteArray> answers = r.out.trimmed().split('\n');
    QCOMPARE(answers.size(), testPaths.size());
    int compared = 0;
    for (int t = 0; t < testPaths.size(); ++t) {
        const QJsonObject answer = QJsonDocument::fromJson(answers[t]).object();
        const double self = selfTest[t].toDouble();
        const QString selfMismatch = close(answer["self_influence"].toDouble(), self, self);
        QVERIFY2(selfMismatch.isEmpty(), qPrintable(testPaths[t].toString() + " self-influence: " + selfMismatch));
        const QJsonArray proponents = answer["proponents"].toArray();
        QCOMPARE(proponents.size(), trainPaths.size());
        for (const QJsonValue &v : proponents) {
            const QJsonObject o = v.toObject();
            const QString path = QDir::cleanPath(o["path"].toString());
            int i = 0;
            while (i < trainPaths.size() && !sameExample(path, trainPaths[i].toString()))
                ++i;
            QVERIFY2(i < trainPaths.size(), qPrintable("not a training example of the fixture: " + path));
            const double expected = tracin[i].toArray()[t].toDouble();
            const double scale = std::sqrt(selfTrain[i].toDouble() * self);
            const QString mismatch = close(o["score"].toDouble(), expected, scale);
            QVERIFY2(mismatch.isEmpty(), qPrintable(QString("TracIn(%1, %2): %3")
                                                        .arg(trainPaths[i].toString(), testPaths[t].toString(), mismatch)));
            ++compared;
        }
    }
    QCOMPARE(compared, int(trainPaths.size() * testPaths.size()));

    // Self-influence of every training example.
    r = runCli({"self-influence", project, "--split", "train", "--top", "0", "--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonArray ranking = r.json()["ranking"].toArray();
    QCOMPARE(ranking.size(), trainPaths.size());
    for (const QJsonValue &v : ranking) {
        const QJsonObject o = v.toObject();
        const QString path = QDir::cleanPath(o["path"].toString());
        int i = 0;
        while (i < trainPaths.size() && !sameExample(path, trainPaths[i].toString()))
            ++i;
        QVERIFY2(i < trainPaths.size(), qPrintable("not a training example of the fixture: " + path));
        const double self = selfTrain[i].toDouble();
        const QString mismatch = close(o["self_influence"].toDouble(), self, self);
        QVERIFY2(mismatch.isEmpty(), qPrintable(trainPaths[i].toString() + " self-influence: " + mismatch));
    }
}

void TestTorchvisionModels::refused_data()
{
    QTest::addColumn<QString>("kase");
    QTest::addColumn<QStringList>("message"); // what the ValueError must say
    QTest::newRow("no linear layer (SqueezeNet)")
        << "no_linear" << QStringList{"no linear layer found", "SqueezeNet", "head='...'"};
    QTest::newRow("softmax after the last layer")
        << "softmax_after_fc" << QStringList{"the layer after 'fc' changes the output", "softmax", "head='...'"};
    QTest::newRow("last layer without bias") << "fc_without_bias" << QStringList{"'fc' has no bias", "bias=True"};
    QTest::newRow("class count") << "wrong_class_count"
                                 << QStringList{"'fc' has 5 outputs but 4 classes are listed"};
    QTest::newRow("training transform")
        << "random_transform" << QStringList{"RandomResizedCrop", "random augmentation", "evaluation transform"};
    QTest::newRow("size not fixed by the transform")
        << "size_unknown" << QStringList{"does not fix the image size", "input_size=(height, width)"};
}

void TestTorchvisionModels::refused()
{
    QFETCH(QString, kase);
    QFETCH(QStringList, message);
    const PythonRun &run = m_fixtures["refusals"];
    QVERIFY2(run.exitCode == 0, run.output.constData());
    const QJsonObject result = readJson(m_tmp.filePath("refusals/refusals.json"))[kase].toObject();
    QVERIFY2(result["refused"].toBool(), "the helper saved the model");
    const QString text = result["message"].toString();
    for (const QString &part : message)
        QVERIFY2(text.contains(part), qPrintable("expected '" + part + "' in: " + text));
    // Nothing importable was left behind.
    const QString dir = m_tmp.filePath("refusals/" + kase);
    QVERIFY(!QFile::exists(dir + "/ckpt-1.pt"));
    QVERIFY(!QFile::exists(dir + "/traclens-model.json"));
}

void TestTorchvisionModels::transformRecorded_data()
{
    QTest::addColumn<QString>("expected");
    for (const TransformCase &c : kTransforms)
        QTest::newRow(c.name) << QString(c.expected);
}

void TestTorchvisionModels::transformRecorded()
{
    QFETCH(QString, expected);
    const PythonRun &run = m_fixtures["transforms"];
    QVERIFY2(run.exitCode == 0, run.output.constData());
    const QJsonObject result = readJson(m_tmp.filePath("transforms.json"))[QTest::currentDataTag()].toObject();
    QVERIFY2(!result.isEmpty(), "no result for this transform");
    if (expected.startsWith("error: ")) {
        QVERIFY2(result.contains("error"), "recorded, not refused");
        const QString text = result["error"].toString();
        QVERIFY2(text.contains(expected.mid(7)), qPrintable(text));
        return;
    }
    QVERIFY2(result.contains("input"), qPrintable(result["error"].toString()));
    const QJsonObject want = QJsonDocument::fromJson(expected.toUtf8()).object();
    QVERIFY(!want.isEmpty());
    const QJsonObject got = result["input"].toObject();
    QVERIFY2(got == want, QJsonDocument(got).toJson(QJsonDocument::Compact).constData());
}

QTEST_GUILESS_MAIN(TestTorchvisionModels)
#include "test_torchvisionmodels.moc"
