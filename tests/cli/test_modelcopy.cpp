// `import-model --copy` keeps a copy of the model (manifest and the checkpoints it lists,
// nothing else) inside the project's .d folder: after the original folder is moved or
// deleted, compute and query still work, without --trust-model, and the copied
// checkpoints carry the original files' content hashes. Without --copy, compute names the
// missing directory and suggests importing again with --copy.

#include "clirun.h"
#include "model/modelspec.h"
#include "store/projectdb.h"
#include "testproject.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>

namespace fs = std::filesystem;

namespace {

using Run = traclens::testing::CliRun;

Run cli(const QStringList &args) { return traclens::testing::runCli(args, 120000); }

QByteArray sha256(const QString &file)
{
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QCryptographicHash h(QCryptographicHash::Sha256);
    h.addData(&f);
    return h.result().toHex();
}

} // namespace

class TestModelCopy : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void originalFolderGone_data();
    void originalFolderGone();

private:
    QTemporaryDir m_dir;
    QString m_data, m_model;
};

void TestModelCopy::initTestCase()
{
    QVERIFY(m_dir.isValid());
    qputenv("XDG_CONFIG_HOME", m_dir.filePath("config").toUtf8());
    // A trained project whose model directory (a traclens-model/1 directory) serves as the
    // model "from elsewhere" that each row imports into a fresh project.
    traclens::testing::TestProject base(m_dir.filePath("base").toStdString());
    const traclens::Status built = base.build(traclens::testing::TestProject::Stage::Trained);
    QVERIFY2(built.isOk(), built.message().c_str());
    m_data = QString::fromStdString(base.datasetPath());
    m_model = QString::fromStdString(base.projectPath()) + ".d/models/tiny";
    QVERIFY2(QFile::exists(m_model + "/traclens-model.json"), qPrintable(m_model));
}

void TestModelCopy::originalFolderGone_data()
{
    QTest::addColumn<bool>("copy");
    QTest::addColumn<QString>("then"); // what happens to the original folder: delete or move
    QTest::newRow("--copy, original deleted") << true << "delete";
    QTest::newRow("--copy, original moved") << true << "move";
    QTest::newRow("no copy, original deleted: clear error") << false << "delete";
    QTest::newRow("no copy, original moved: clear error") << false << "move";
}

void TestModelCopy::originalFolderGone()
{
    QFETCH(bool, copy);
    QFETCH(QString, then);

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    // The model as someone's training folder: the model files and a file that is not part
    // of the model.
    const QString original = dir.filePath("training/my-model");
    std::error_code ec;
    fs::create_directories(original.toStdString(), ec);
    fs::copy(m_model.toStdString(), original.toStdString(), fs::copy_options::recursive, ec);
    QVERIFY2(!ec, ec.message().c_str());
    {
        QFile notes(original + "/notes.txt");
        QVERIFY(notes.open(QIODevice::WriteOnly));
        notes.write("not part of the model\n");
    }
    auto spec = traclens::readModelSpec(original.toStdString());
    QVERIFY2(spec.ok(), spec.status().message().c_str());
    QStringList checkpointNames;
    for (const auto &c : spec->checkpoints)
        checkpointNames << QString::fromStdString(c.file);
    QVERIFY(!checkpointNames.isEmpty());
    QMap<QString, QByteArray> originalHashes;
    for (const QString &name : checkpointNames)
        originalHashes[name] = sha256(original + "/" + name);

    const QString project = dir.filePath("p.traclens");
    Run r = cli({"import", project, m_data, "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QStringList importArgs{"import-model", project, original, "--json", "--quiet"};
    if (copy)
        importArgs << "--copy";
    r = cli(importArgs);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject imported = r.json();
    QCOMPARE(imported.value("copied").toBool(), copy);
    const QString registered = imported.value("directory").toString();
    const qint64 modelId = imported.value("model").toInteger();

    if (copy) {
        // Inside the project's .d folder, holding the manifest and the checkpoints only.
        QVERIFY2(registered.startsWith(project + ".d/models/"), qPrintable(registered));
        QStringList copied = QDir(registered).entryList(QDir::Files);
        QStringList expected = checkpointNames;
        expected << "traclens-model.json";
        copied.sort();
        expected.sort();
        QCOMPARE(copied, expected);
        // The registered identities are the original files' content hashes.
        auto db = traclens::ProjectDb::open(project.toStdString(), traclens::ProjectDb::OpenMode::ReadOnly);
        QVERIFY(db.ok());
        auto cps = db.value()->checkpoints(modelId);
        QVERIFY(cps.ok());
        QCOMPARE(int(cps->size()), checkpointNames.size());
        for (const auto &cp : *cps) {
            const QString name = QDir(registered).relativeFilePath(QString::fromStdString(cp.file));
            QVERIFY2(QString::fromStdString(cp.file).startsWith(registered), cp.file.c_str());
            QCOMPARE(QByteArray::fromStdString(cp.contentHash), originalHashes.value(name));
        }
    } else {
        QCOMPARE(registered, original);
    }

    if (then == "delete") {
        QVERIFY(QDir(dir.filePath("training")).removeRecursively());
    } else {
        QVERIFY(QDir().rename(dir.filePath("training"), dir.filePath("moved-training")));
    }

    // No --trust-model: the copy lies inside the project.
    r = cli({"compute", project, "--json", "--quiet"});
    if (!copy) {
        QCOMPARE(r.exitCode, 3);
        const QString err = QString::fromUtf8(r.err);
        QVERIFY2(err.contains(original + ": the directory of model"), r.err.constData()); // names it
        QVERIFY2(err.contains("missing"), r.err.constData());
        QVERIFY2(err.contains("import-model " + project) && err.contains("--copy"), r.err.constData());
        return;
    }
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY(r.json().value("computed").toInt() > 0);
    r = cli({"query", project, "--example", "1", "--k", "3", "--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(r.json().value("proponents").toArray().size(), 3);
    // A model that runs (query --image) works as well.
    const QString image = m_data + "/test/stripes-0/" + QDir(m_data + "/test/stripes-0").entryList(QDir::Files).first();
    r = cli({"query", project, "--image", image, "--k", "2", "--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
}

QTEST_GUILESS_MAIN(TestModelCopy)
#include "test_modelcopy.moc"
