// traclens-model.json: round trip, and one row per way a manifest can be wrong, each
// checked for a message that names the file and the field.

#include "model/modelspec.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <functional>

using namespace traclens;

namespace {

QJsonObject validManifest()
{
    QJsonObject input{{"channels", 1}, {"height", 28}, {"width", 28},
                      {"mean", QJsonArray{0.1307}}, {"std", QJsonArray{0.3081}}};
    QJsonArray checkpoints{QJsonObject{{"file", "ckpt-1.pt"}, {"learning_rate", 0.1}},
                           QJsonObject{{"file", "ckpt-2.pt"}, {"learning_rate", 0.05}}};
    return QJsonObject{{"format", kModelFormat},
                       {"classes", QJsonArray{"zero", "one", "two"}},
                       {"input", input},
                       {"checkpoints", checkpoints}};
}

QByteArray edited(const std::function<void(QJsonObject &)> &edit)
{
    QJsonObject o = validManifest();
    edit(o);
    return QJsonDocument(o).toJson();
}

// Edits a nested object: QJsonObject hands out copies, so write it back.
void editInput(QJsonObject &o, const std::function<void(QJsonObject &)> &edit)
{
    QJsonObject in = o["input"].toObject();
    edit(in);
    o["input"] = in;
}

void editCheckpoint(QJsonObject &o, int i, const std::function<void(QJsonObject &)> &edit)
{
    QJsonArray a = o["checkpoints"].toArray();
    QJsonObject c = a[i].toObject();
    edit(c);
    a[i] = c;
    o["checkpoints"] = a;
}

void writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    QVERIFY2(f.open(QIODevice::WriteOnly), qPrintable(path));
    f.write(bytes);
}

} // namespace

class TestModelSpec : public QObject {
    Q_OBJECT

private slots:
    void roundTrip_data();
    void roundTrip();
    void invalid_data();
    void invalid();
    void missingManifest();
    void missingDirectory();
    void writeToMissingDirectoryFails();
    void checkpointPath();
};

void TestModelSpec::roundTrip_data()
{
    QTest::addColumn<bool>("builtin");
    QTest::addColumn<int>("channels");
    QTest::newRow("torchscript-grey") << false << 1;
    QTest::newRow("builtin-cnn-rgb") << true << 3;
}

void TestModelSpec::roundTrip()
{
    QFETCH(bool, builtin);
    QFETCH(int, channels);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());

    ModelSpec spec;
    spec.directory = tmp.path().toStdString();
    spec.classes = {"T-shirt/top", "Trouser", "Ünïcødé ☂"};
    spec.input.channels = channels;
    spec.input.height = 32;
    spec.input.width = 24;
    spec.input.mean = channels == 1 ? std::vector<float>{0.1307f} : std::vector<float>{0.485f, 0.456f, 0.406f};
    spec.input.std = channels == 1 ? std::vector<float>{0.3081f} : std::vector<float>{0.229f, 0.224f, 0.225f};
    spec.checkpoints = {{"ckpt-1.pt", 0.1}, {"sub/ckpt-2.pt", 0.05}, {"ckpt-3.pt", 0.0125}};
    if (builtin) {
        spec.architecture = "builtin-cnn";
        spec.width = 8;
        spec.embeddingDim = 32;
    }
    QVERIFY(QDir(tmp.path()).mkpath("sub"));
    for (const auto &c : spec.checkpoints)
        writeFile(tmp.filePath(QString::fromStdString(c.file)), "x");

    const Status written = writeModelSpec(spec);
    QVERIFY2(written.isOk(), written.toString().c_str());
    // Atomic write leaves no temporary file behind.
    QCOMPARE(QDir(tmp.path()).entryList(QDir::Files).size(), qsizetype(3));

    const Result<ModelSpec> read = readModelSpec(tmp.path().toStdString());
    QVERIFY2(read.ok(), read.status().toString().c_str());
    QCOMPARE(read->directory, QDir(tmp.path()).absolutePath().toStdString());
    QCOMPARE(read->classes, spec.classes);
    QCOMPARE(read->input.channels, spec.input.channels);
    QCOMPARE(read->input.height, 32);
    QCOMPARE(read->input.width, 24);
    QCOMPARE(read->input.mean, spec.input.mean);
    QCOMPARE(read->input.std, spec.input.std);
    QCOMPARE(read->checkpoints.size(), spec.checkpoints.size());
    for (size_t i = 0; i < spec.checkpoints.size(); ++i) {
        QCOMPARE(read->checkpoints[i].file, spec.checkpoints[i].file);
        QCOMPARE(read->checkpoints[i].learningRate, spec.checkpoints[i].learningRate);
    }
    QCOMPARE(read->architecture, spec.architecture);
    QCOMPARE(read->width, spec.width);
    QCOMPARE(read->embeddingDim, spec.embeddingDim);

    // Floats are written in their shortest form, as a person would type them.
    QFile f(tmp.filePath(kModelManifestName));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray text = f.readAll();
    QVERIFY2(text.contains(channels == 1 ? "0.1307" : "0.485"), text.constData());
    QVERIFY(!text.contains("0.13070000"));

    // Overwriting works too (QSaveFile replaces the old file).
    spec.checkpoints.pop_back();
    QVERIFY(writeModelSpec(spec).isOk());
    QCOMPARE(readModelSpec(spec.directory)->checkpoints.size(), size_t(2));
}

void TestModelSpec::invalid_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("expected");
    QTest::addColumn<int>("code");
    const int invalid = int(Status::Code::InvalidArgument);

    QTest::newRow("truncated json") << QByteArray("{\"format\": \"traclens-model/1\",\n \"classes\": [")
                                    << "invalid JSON at offset" << invalid;
    QTest::newRow("top-level array") << QByteArray("[1, 2]") << "top level must be a JSON object" << invalid;
    QTest::newRow("format missing") << edited([](QJsonObject &o) { o.remove("format"); }) << "format is missing"
                                    << invalid;
    QTest::newRow("format newer") << edited([](QJsonObject &o) { o["format"] = "traclens-model/2"; })
                                  << "format 'traclens-model/2' is not supported" << int(Status::Code::Unsupported);
    QTest::newRow("classes missing") << edited([](QJsonObject &o) { o.remove("classes"); }) << "classes is missing"
                                     << invalid;
    QTest::newRow("classes not array") << edited([](QJsonObject &o) { o["classes"] = "a,b"; })
                                       << "classes must be an array" << invalid;
    QTest::newRow("one class") << edited([](QJsonObject &o) { o["classes"] = QJsonArray{"a"}; })
                               << "classes must list at least 2" << invalid;
    QTest::newRow("class not string") << edited([](QJsonObject &o) { o["classes"] = QJsonArray{"a", 3}; })
                                      << "classes[1] must be a string" << invalid;
    QTest::newRow("class repeated") << edited([](QJsonObject &o) { o["classes"] = QJsonArray{"a", "b", "a"}; })
                                    << "classes[2] repeats the class 'a'" << invalid;
    QTest::newRow("input missing") << edited([](QJsonObject &o) { o.remove("input"); }) << "input is missing"
                                   << invalid;
    QTest::newRow("channels 2") << edited([](QJsonObject &o) { editInput(o, [](QJsonObject &i) { i["channels"] = 2; }); })
                                << "input.channels must be 1 or 3" << invalid;
    QTest::newRow("channels fractional")
        << edited([](QJsonObject &o) { editInput(o, [](QJsonObject &i) { i["channels"] = 1.5; }); })
        << "input.channels must be 1 or 3" << invalid;
    QTest::newRow("height 0") << edited([](QJsonObject &o) { editInput(o, [](QJsonObject &i) { i["height"] = 0; }); })
                              << "input.height must be a whole number" << invalid;
    QTest::newRow("width text") << edited([](QJsonObject &o) { editInput(o, [](QJsonObject &i) { i["width"] = "28"; }); })
                                << "input.width must be a whole number" << invalid;
    QTest::newRow("mean missing") << edited([](QJsonObject &o) { editInput(o, [](QJsonObject &i) { i.remove("mean"); }); })
                                  << "input.mean is missing" << invalid;
    QTest::newRow("mean length")
        << edited([](QJsonObject &o) { editInput(o, [](QJsonObject &i) { i["mean"] = QJsonArray{0.5, 0.5}; }); })
        << "input.mean has 2 values but input.channels is 1" << invalid;
    QTest::newRow("std length rgb") << edited([](QJsonObject &o) {
        editInput(o, [](QJsonObject &i) {
            i["channels"] = 3;
            i["mean"] = QJsonArray{0.5, 0.5, 0.5};
            i["std"] = QJsonArray{0.2};
        });
    }) << "input.std has 1 values but input.channels is 3" << invalid;
    QTest::newRow("std zero") << edited([](QJsonObject &o) { editInput(o, [](QJsonObject &i) { i["std"] = QJsonArray{0}; }); })
                              << "input.std[0] must be greater than 0" << invalid;
    QTest::newRow("std negative")
        << edited([](QJsonObject &o) { editInput(o, [](QJsonObject &i) { i["std"] = QJsonArray{-0.3}; }); })
        << "input.std[0] must be greater than 0" << invalid;
    QTest::newRow("mean not number")
        << edited([](QJsonObject &o) { editInput(o, [](QJsonObject &i) { i["mean"] = QJsonArray{"x"}; }); })
        << "input.mean[0] must be a number" << invalid;
    QTest::newRow("checkpoints missing") << edited([](QJsonObject &o) { o.remove("checkpoints"); })
                                         << "checkpoints is missing" << invalid;
    QTest::newRow("checkpoints empty") << edited([](QJsonObject &o) { o["checkpoints"] = QJsonArray{}; })
                                       << "checkpoints is empty" << invalid;
    QTest::newRow("checkpoint not object") << edited([](QJsonObject &o) { o["checkpoints"] = QJsonArray{"ckpt-1.pt"}; })
                                           << "checkpoints[0] must be an object" << invalid;
    QTest::newRow("lr negative")
        << edited([](QJsonObject &o) { editCheckpoint(o, 1, [](QJsonObject &c) { c["learning_rate"] = -0.1; }); })
        << "checkpoints[1].learning_rate must be a positive number" << invalid;
    QTest::newRow("lr zero")
        << edited([](QJsonObject &o) { editCheckpoint(o, 0, [](QJsonObject &c) { c["learning_rate"] = 0; }); })
        << "checkpoints[0].learning_rate must be a positive number" << invalid;
    QTest::newRow("lr text")
        << edited([](QJsonObject &o) { editCheckpoint(o, 1, [](QJsonObject &c) { c["learning_rate"] = "0.1"; }); })
        << "checkpoints[1].learning_rate must be a positive number" << invalid;
    QTest::newRow("lr missing")
        << edited([](QJsonObject &o) { editCheckpoint(o, 0, [](QJsonObject &c) { c.remove("learning_rate"); }); })
        << "checkpoints[0].learning_rate is missing" << invalid;
    QTest::newRow("file missing")
        << edited([](QJsonObject &o) { editCheckpoint(o, 1, [](QJsonObject &c) { c.remove("file"); }); })
        << "checkpoints[1].file is missing" << invalid;
    QTest::newRow("file absolute")
        << edited([](QJsonObject &o) { editCheckpoint(o, 1, [](QJsonObject &c) { c["file"] = "/tmp/ckpt-1.pt"; }); })
        << "checkpoints[1].file must be relative" << invalid;
    QTest::newRow("checkpoint file absent")
        << edited([](QJsonObject &o) { editCheckpoint(o, 1, [](QJsonObject &c) { c["file"] = "ckpt-9.pt"; }); })
        << "checkpoints[1].file: checkpoint 'ckpt-9.pt' does not exist" << int(Status::Code::NotFound);
    QTest::newRow("checkpoint is a directory")
        << edited([](QJsonObject &o) { editCheckpoint(o, 0, [](QJsonObject &c) { c["file"] = "subdir"; }); })
        << "checkpoints[0].file: checkpoint 'subdir' is not a regular file" << invalid;
    QTest::newRow("architecture unknown")
        << edited([](QJsonObject &o) { o["architecture"] = QJsonObject{{"type", "resnet18"}}; })
        << "architecture.type 'resnet18' is not known" << int(Status::Code::Unsupported);
    QTest::newRow("architecture width 0")
        << edited([](QJsonObject &o) { o["architecture"] = QJsonObject{{"type", "builtin-cnn"}, {"width", 0}}; })
        << "architecture.width must be a whole number" << invalid;
    QTest::newRow("architecture embedding text") << edited([](QJsonObject &o) {
        o["architecture"] = QJsonObject{{"type", "builtin-cnn"}, {"embedding_dim", "64"}};
    }) << "architecture.embedding_dim must be a whole number" << invalid;
}

void TestModelSpec::invalid()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, expected);
    QFETCH(int, code);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    writeFile(tmp.filePath("ckpt-1.pt"), "x");
    writeFile(tmp.filePath("ckpt-2.pt"), "x");
    QVERIFY(QDir(tmp.path()).mkdir("subdir"));
    writeFile(tmp.filePath(kModelManifestName), json);

    const Result<ModelSpec> r = readModelSpec(tmp.path().toStdString());
    QVERIFY(!r.ok());
    const QString message = QString::fromStdString(r.status().message());
    // Every message starts with the manifest's path, then names the field.
    QVERIFY2(message.startsWith(QDir(tmp.path()).absoluteFilePath(kModelManifestName) + ": "), qPrintable(message));
    QVERIFY2(message.contains(expected), qPrintable(message));
    QCOMPARE(int(r.status().code()), code);
}

void TestModelSpec::missingManifest()
{
    QTemporaryDir tmp;
    const Result<ModelSpec> r = readModelSpec(tmp.path().toStdString());
    QVERIFY(!r.ok());
    QCOMPARE(r.status().code(), Status::Code::NotFound);
    const QString message = QString::fromStdString(r.status().message());
    QVERIFY2(message.contains(QDir(tmp.path()).absoluteFilePath(kModelManifestName)), qPrintable(message));
    QVERIFY2(message.contains("no such file"), qPrintable(message));
}

void TestModelSpec::missingDirectory()
{
    QTemporaryDir tmp;
    const std::string dir = tmp.filePath("nowhere").toStdString();
    const Result<ModelSpec> r = readModelSpec(dir);
    QVERIFY(!r.ok());
    QCOMPARE(r.status().code(), Status::Code::NotFound);
    QVERIFY2(r.status().message().find("nowhere/traclens-model.json") != std::string::npos,
             r.status().message().c_str());
    QVERIFY2(r.status().message().find("does not exist") != std::string::npos, r.status().message().c_str());
}

void TestModelSpec::writeToMissingDirectoryFails()
{
    QTemporaryDir tmp;
    ModelSpec spec;
    spec.directory = tmp.filePath("nowhere").toStdString();
    spec.classes = {"a", "b"};
    const Status s = writeModelSpec(spec);
    QVERIFY(!s.isOk());
    QCOMPARE(s.code(), Status::Code::IoError);
    QVERIFY2(s.message().find("nowhere/traclens-model.json") != std::string::npos, s.message().c_str());
}

void TestModelSpec::checkpointPath()
{
    ModelSpec spec;
    spec.directory = "/models/m";
    spec.checkpoints = {{"ckpt-1.pt", 0.1}};
    QCOMPARE(spec.checkpointPath(0), std::string("/models/m/ckpt-1.pt"));
    QCOMPARE(spec.checkpointPath(1), std::string());
}

QTEST_GUILESS_MAIN(TestModelSpec)
#include "test_modelspec.moc"
