// Checkpoint files as identities, through traclens-cli: a checkpoint that changed or
// vanished after compute is refused by name and its factors are kept; with
// --accept-changed-checkpoints only that checkpoint's factors are recomputed; a file that
// was only touched is not recomputed. Model paths are stored relative to the project, so
// the project file and its .d folder can move together.

#include "rawsql.h"
#include "clirun.h"
#include "store/projectdb.h"
#include "syntheticimages.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <sqlite3.h>

#include <filesystem>

using namespace traclens;
namespace fs = std::filesystem;

using traclens::testing::rawExec;
using traclens::testing::rawText;

namespace {

using Run = traclens::testing::CliRun;

Run cli(const QStringList &args) { return traclens::testing::runCli(args); }


// Per checkpoint (in order): its file and a digest of every stored factor row.
struct Stored {
    std::vector<std::string> files;
    std::vector<QByteArray> digests;
    std::vector<int64_t> counts;
};

Stored readStored(const QString &project)
{
    Stored s;
    auto db = ProjectDb::open(project.toStdString(), ProjectDb::OpenMode::ReadOnly);
    if (!db.ok())
        return s;
    auto model = (*db)->activeModel();
    if (!model.ok() || !model->has_value())
        return s;
    auto cps = (*db)->checkpoints(**model);
    if (!cps.ok())
        return s;
    for (const auto &cp : *cps) {
        QCryptographicHash h(QCryptographicHash::Sha256);
        int64_t n = 0;
        (*db)->forEachFactor(cp.id, [&](const FactorRow &r) {
            h.addData(QByteArrayView(reinterpret_cast<const char *>(&r.exampleId), sizeof r.exampleId));
            h.addData(QByteArrayView(reinterpret_cast<const char *>(r.error.data()), qsizetype(r.error.size() * 4)));
            h.addData(QByteArrayView(reinterpret_cast<const char *>(r.embedding.data()),
                                     qsizetype(r.embedding.size() * 4)));
            ++n;
        });
        s.files.push_back(cp.file);
        s.digests.push_back(h.result());
        s.counts.push_back(n);
    }
    return s;
}

bool copyProject(const QString &from, const QString &to)
{
    std::error_code ec;
    fs::copy_file(from.toStdString(), to.toStdString(), ec);
    if (ec)
        return false;
    fs::copy((from + ".d").toStdString(), (to + ".d").toStdString(), fs::copy_options::recursive, ec);
    return !ec;
}

} // namespace

class TestCheckpointChanges : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void storesModelPathsRelativeToProject();
    void changedCheckpoint_data();
    void changedCheckpoint();
    void movedProjectStillWorks();

private:
    QTemporaryDir m_dir;
    QString m_data, m_project, m_image;
    int m_examples = 0;
};

void TestCheckpointChanges::initTestCase()
{
    QVERIFY(m_dir.isValid());
    // The user's model trust key (read by traclens-cli) lives in this test's folder.
    qputenv("XDG_CONFIG_HOME", m_dir.filePath("config").toUtf8());
    m_data = m_dir.filePath("data");
    QVERIFY(QDir().mkpath(m_dir.filePath("base")));
    m_project = m_dir.filePath("base/p.traclens");
    traclens::testing::SyntheticSpec spec; // 3 classes, 20 train and 4 test images each
    traclens::testing::writeSyntheticImageFolder(m_data.toStdString(), spec);
    m_examples = 3 * (20 + 4);
    m_image = m_data + "/test/stripes-60/" + QDir(m_data + "/test/stripes-60").entryList(QDir::Files).first();
    Run r = cli({"import", m_project, m_data, "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    r = cli({"train", m_project, "--epochs", "2", "--width", "4", "--embedding-dim", "8", "--batch", "16", "--lr",
             "0.1", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    r = cli({"compute", m_project, "--json", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(r.json().value("computed").toInt(), m_examples * 2);
}

void TestCheckpointChanges::storesModelPathsRelativeToProject()
{
    const std::string dir = rawText(m_project, "SELECT directory FROM models");
    QVERIFY2(dir.rfind("models/", 0) == 0, dir.c_str());
    QCOMPARE(rawText(m_project, "SELECT file FROM checkpoints WHERE ord = 0"), std::string("ckpt-1.pt"));
    // The API answers absolute paths.
    const Stored s = readStored(m_project);
    QCOMPARE(s.files.size(), size_t(2));
    QVERIFY(fs::path(s.files[0]).is_absolute());
    QVERIFY(QFile::exists(QString::fromStdString(s.files[0])));
    // Every checkpoint was registered with its identity.
    QCOMPARE(rawText(m_project, "SELECT length(content_hash) FROM checkpoints WHERE ord = 1"), std::string("64"));
}

void TestCheckpointChanges::changedCheckpoint_data()
{
    QTest::addColumn<QString>("change");     // append, replace (with the other checkpoint), remove, touch
    QTest::addColumn<QStringList>("command");
    QTest::addColumn<bool>("refused");
    QTest::addColumn<QString>("says");

    const QStringList compute{"compute", "--json", "--quiet"};
    const QStringList accept = compute + QStringList{"--accept-changed-checkpoints"};
    const QStringList queryImage{"query", "--image", "%IMAGE", "--k", "3", "--json"};
    QTest::newRow("modified: compute refuses") << "append" << compute << true << "changed since it was registered";
    QTest::newRow("modified: query --image refuses") << "append" << queryImage << true
                                                     << "--accept-changed-checkpoints";
    QTest::newRow("replaced, accepted: that checkpoint recomputed") << "replace" << accept << false << "";
    QTest::newRow("vanished: compute refuses") << "remove" << compute << true << "is missing";
    QTest::newRow("vanished: accepting cannot help") << "remove" << accept << true << "is missing";
    QTest::newRow("touched, same content: nothing recomputed") << "touch" << compute << false << "";
}

void TestCheckpointChanges::changedCheckpoint()
{
    QFETCH(QString, change);
    QFETCH(QStringList, command);
    QFETCH(bool, refused);
    QFETCH(QString, says);

    QTemporaryDir dir;
    const QString project = dir.filePath("p.traclens");
    QVERIFY(copyProject(m_project, project));
    const Stored before = readStored(project);
    QCOMPARE(before.files.size(), size_t(2));
    QVERIFY2(QString::fromStdString(before.files[0]).startsWith(dir.path()), before.files[0].c_str());
    QVERIFY(before.digests[0] != before.digests[1]);
    const QString first = QString::fromStdString(before.files[0]);
    const QString second = QString::fromStdString(before.files[1]);

    if (change == "append") {
        QFile f(first);
        QVERIFY(f.open(QIODevice::Append));
        f.write("appended");
    } else if (change == "replace") {
        QVERIFY(QFile::remove(first));
        QVERIFY(QFile::copy(second, first));
    } else if (change == "remove") {
        QVERIFY(QFile::remove(first));
    } else if (change == "touch") {
        QFile f(first);
        QVERIFY(f.open(QIODevice::ReadWrite));
        QVERIFY(f.setFileTime(QDateTime::currentDateTime().addSecs(3600), QFileDevice::FileModificationTime));
    }

    command.insert(1, project);
    command.replaceInStrings("%IMAGE", m_image);
    const Run r = cli(command);
    const Stored after = readStored(project);
    QCOMPARE(after.counts, (std::vector<int64_t>{m_examples, m_examples}));
    if (refused) {
        QVERIFY2(r.exitCode != 0, r.out.constData());
        QVERIFY2(r.err.contains(first.toUtf8()), r.err.constData()); // names the file
        QVERIFY2(r.err.contains(says.toUtf8()), r.err.constData());
        QCOMPARE(after.digests, before.digests); // everything stored is kept
        return;
    }
    QVERIFY2(r.exitCode == 0, r.err.constData());
    if (change == "touch") {
        QCOMPARE(r.json().value("computed").toInt(), 0);
        QCOMPARE(after.digests, before.digests);
        // The new time is remembered: the next run does not even hash the file.
        QVERIFY(rawText(project, "SELECT file_mtime FROM checkpoints WHERE ord = 0")
                != rawText(m_project, "SELECT file_mtime FROM checkpoints WHERE ord = 0"));
        return;
    }
    // Replaced by the second checkpoint's weights: only the first checkpoint's factors were
    // recomputed, and they now equal the second's; the second's are untouched.
    QCOMPARE(r.json().value("computed").toInt(), m_examples);
    QCOMPARE(after.digests[1], before.digests[1]);
    QVERIFY(after.digests[0] != before.digests[0]);
    QCOMPARE(after.digests[0], before.digests[1]);
    // And the new file is registered: compute runs again without the option.
    const Run again = cli({"compute", project, "--json", "--quiet"});
    QVERIFY2(again.exitCode == 0, again.err.constData());
    QCOMPARE(again.json().value("computed").toInt(), 0);
}

void TestCheckpointChanges::movedProjectStillWorks()
{
    // Copy the project to another folder under another name, and hide the original's
    // folder so nothing can still be read from there.
    QTemporaryDir dir;
    const QString moved = dir.filePath("moved/renamed.traclens");
    QVERIFY(QDir().mkpath(dir.filePath("moved")));
    QVERIFY(copyProject(m_project, moved));
    const QString hidden = m_dir.filePath("base/hidden.d");
    QVERIFY(QDir().rename(m_project + ".d", hidden));
    auto restore = qScopeGuard([&] { QDir().rename(hidden, m_project + ".d"); });

    const Stored s = readStored(moved);
    QCOMPARE(s.files.size(), size_t(2));
    QVERIFY2(QString::fromStdString(s.files[0]).startsWith(moved + ".d/"), s.files[0].c_str());

    Run r = cli({"compute", moved, "--json", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(r.json().value("computed").toInt(), 0);
    QCOMPARE(r.json().value("reused").toInt(), m_examples * 2);
    r = cli({"query", moved, "--image", m_image, "--k", "3", "--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    r = cli({"query", moved, "--example", "1", "--k", "3", "--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
}

QTEST_GUILESS_MAIN(TestCheckpointChanges)
#include "test_checkpointchanges.moc"
