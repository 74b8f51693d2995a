// TorchScript models are programs: traclens-cli runs a model from outside the project
// only after the user trusted its directory (--trust-model), remembered per project. A
// trust row that a project brings along (forged token), a manifest changed since, or a
// symbolic link inside the project pointing elsewhere do not count.

#include "rawsql.h"
#include "clirun.h"
#include "syntheticimages.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <sqlite3.h>

#include <filesystem>

namespace fs = std::filesystem;

using traclens::testing::rawExec;
using traclens::testing::rawText;

namespace {

using Run = traclens::testing::CliRun;

Run cli(const QStringList &args) { return traclens::testing::runCli(args); }



} // namespace

class TestModelTrust : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void modelOutsideProject_data();
    void modelOutsideProject();

private:
    QTemporaryDir m_dir;
    QString m_project, m_image;
};

void TestModelTrust::initTestCase()
{
    QVERIFY(m_dir.isValid());
    // The user's model trust key (read by traclens-cli) lives in this test's folder.
    qputenv("XDG_CONFIG_HOME", m_dir.filePath("config").toUtf8());
    const QString data = m_dir.filePath("data");
    QVERIFY(QDir().mkpath(m_dir.filePath("base")));
    m_project = m_dir.filePath("base/p.traclens");
    traclens::testing::writeSyntheticImageFolder(data.toStdString(), traclens::testing::SyntheticSpec{});
    m_image = data + "/test/stripes-0/" + QDir(data + "/test/stripes-0").entryList(QDir::Files).first();
    Run r = cli({"import", m_project, data, "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    r = cli({"train", m_project, "--epochs", "2", "--width", "4", "--embedding-dim", "8", "--batch", "16", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    r = cli({"compute", m_project, "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
}

void TestModelTrust::modelOutsideProject_data()
{
    QTest::addColumn<QString>("setup");       // outside, forged, symlink
    QTest::addColumn<bool>("trustFirst");     // compute --trust-model first
    QTest::addColumn<bool>("changeManifest"); // after that, edit the manifest
    QTest::addColumn<QStringList>("command");
    QTest::addColumn<bool>("refused");

    const QStringList compute{"compute", "--json", "--quiet"};
    const QStringList queryImage{"query", "--image", "%IMAGE", "--k", "3", "--json"};
    QTest::newRow("outside: compute refuses") << "outside" << false << false << compute << true;
    QTest::newRow("outside: query --image refuses") << "outside" << false << false << queryImage << true;
    QTest::newRow("outside: --trust-model runs it")
        << "outside" << false << false << (compute + QStringList{"--trust-model"}) << false;
    QTest::newRow("outside: query --image --trust-model runs it")
        << "outside" << false << false << (queryImage + QStringList{"--trust-model"}) << false;
    QTest::newRow("outside, trusted before: remembered") << "outside" << true << false << compute << false;
    QTest::newRow("outside, trusted before: query --image runs") << "outside" << true << false << queryImage << false;
    QTest::newRow("outside, trusted, manifest changed since: refused") << "outside" << true << true << compute << true;
    QTest::newRow("trust row brought by the project: refused") << "forged" << false << false << compute << true;
    QTest::newRow("symbolic link inside the project to outside: refused")
        << "symlink" << false << false << compute << true;
}

void TestModelTrust::modelOutsideProject()
{
    QFETCH(QString, setup);
    QFETCH(bool, trustFirst);
    QFETCH(bool, changeManifest);
    QFETCH(QStringList, command);
    QFETCH(bool, refused);

    // A copy of the trained project whose model directory was moved out of the project
    // and the models row pointed at it, as a project from someone else could.
    QTemporaryDir dir;
    const QString project = dir.filePath("p.traclens");
    std::error_code ec;
    fs::copy_file(m_project.toStdString(), project.toStdString(), ec);
    QVERIFY(!ec);
    fs::copy((m_project + ".d").toStdString(), (project + ".d").toStdString(), fs::copy_options::recursive, ec);
    QVERIFY(!ec);
    const QString stored = QString::fromStdString(rawText(project, "SELECT directory FROM models"));
    QVERIFY2(!stored.isEmpty(), "no model row");
    const QString inside = QDir(project + ".d").filePath(stored);
    const QString outside = dir.filePath("elsewhere/model");
    QVERIFY(QDir().mkpath(dir.filePath("elsewhere")));
    QVERIFY(QDir().rename(inside, outside));
    if (setup == "symlink") {
        QVERIFY(QFile::link(outside, inside));
    } else {
        QVERIFY(rawExec(project, "UPDATE models SET directory = '" + outside.toStdString() + "'"));
    }
    if (setup == "forged") {
        QFile manifest(outside + "/traclens-model.json");
        QVERIFY(manifest.open(QIODevice::ReadOnly));
        const std::string hash = QCryptographicHash::hash(manifest.readAll(), QCryptographicHash::Sha256).toHex().toStdString();
        QVERIFY(rawExec(project, "INSERT INTO trusted_model_dirs(directory, manifest_hash, token, trusted_ms) VALUES('"
                                     + outside.toStdString() + "', '" + hash + "', '" + std::string(64, '0') + "', 0)"));
    }
    if (trustFirst) {
        const Run r = cli({"compute", project, "--trust-model", "--quiet"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
    }
    if (changeManifest) {
        QFile manifest(outside + "/traclens-model.json");
        QVERIFY(manifest.open(QIODevice::Append));
        manifest.write("\n");
    }

    command.insert(1, project);
    command.replaceInStrings("%IMAGE", m_image);
    const Run r = cli(command);
    if (!refused) {
        QVERIFY2(r.exitCode == 0, r.err.constData());
        return;
    }
    QVERIFY2(r.exitCode != 0, r.out.constData());
    QVERIFY2(r.err.contains(outside.toUtf8()), r.err.constData()); // names the directory
    QVERIFY2(r.err.contains("--trust-model"), r.err.constData());  // and says how to proceed
    QVERIFY2(r.err.contains("TorchScript models are programs"), r.err.constData());
}

QTEST_GUILESS_MAIN(TestModelTrust)
#include "test_modeltrust.moc"
