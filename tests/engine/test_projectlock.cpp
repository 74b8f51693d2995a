// The project's writer lock (core/store/projectlock.h): connections of one process share it
// (the GUI writes from its main and its worker thread); a second process that opens the
// project for writing is refused with a message naming the holder's pid, while readers
// go on; a holder killed with SIGKILL leaves no lock behind.

#include "clirun.h"
#include "store/importer.h"
#include "store/projectdb.h"
#include "store/projectlock.h"
#include "syntheticimages.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace traclens;

class TestProjectLock : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void connectionsOfOneProcessShareTheLock();
    void secondProcessWriterIsRefused_data();
    void secondProcessWriterIsRefused();
    void readOnlyOpenWorksBesideAWriter();
    void killedHolderLeavesNoLock();

private:
    QTemporaryDir m_dir;
    QString m_project;
};

namespace {

using Run = traclens::testing::CliRun;

Run cli(const QStringList &args) { return traclens::testing::runCli(args, 120000); }

} // namespace

void TestProjectLock::initTestCase()
{
    QVERIFY(m_dir.isValid());
    testing::SyntheticSpec spec;
    spec.trainPerClass = 4;
    spec.testPerClass = 1;
    testing::writeSyntheticImageFolder(m_dir.filePath("data").toStdString(), spec);
    m_project = m_dir.filePath("p.traclens");
    auto db = ProjectDb::open(m_project.toStdString(), ProjectDb::OpenMode::Create);
    QVERIFY(db.ok());
    auto imported = importDataset(**db, m_dir.filePath("data").toStdString());
    QVERIFY2(imported.ok(), imported.ok() ? "" : imported.status().message().c_str());
}

void TestProjectLock::connectionsOfOneProcessShareTheLock()
{
    auto a = ProjectDb::open(m_project.toStdString());
    QVERIFY(a.ok());
    // A second connection on another thread, as the GUI's job worker opens it.
    Status fromThread = Status::internal("not run");
    std::thread worker([&] {
        auto b = ProjectDb::open(m_project.toStdString());
        if (!b.ok()) {
            fromThread = b.status();
            return;
        }
        auto change = (*b)->relabel(1, 1, "test");
        fromThread = change.ok() ? Status::ok() : change.status();
    });
    worker.join();
    QVERIFY2(fromThread.isOk(), fromThread.message().c_str());
    QVERIFY((*a)->relabel(1, 0, "test").ok());
    QVERIFY(QFile::exists(QString::fromStdString(ProjectLock::lockPathFor(m_project.toStdString()))));
}

void TestProjectLock::secondProcessWriterIsRefused_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::newRow("relabel") << QStringList{"relabel", "@project", "1", "stripes-60"};
    QTest::newRow("import") << QStringList{"import", "@project", "@data", "--quiet"};
    QTest::newRow("train") << QStringList{"train", "@project", "--epochs", "1", "--quiet"};
}

void TestProjectLock::secondProcessWriterIsRefused()
{
    QFETCH(QStringList, args);
    for (QString &a : args) {
        a.replace("@project", m_project);
        a.replace("@data", m_dir.filePath("data"));
    }
    {
        auto holder = ProjectDb::open(m_project.toStdString());
        QVERIFY(holder.ok());
        const size_t historyBefore = (*holder)->labelHistory()->size();
        const Run r = cli(args);
        QCOMPARE(r.exitCode, 1);
        const QString expected = QString("the project is open in another TracLens (pid %1); open it read-only or "
                                         "close the other one")
                                     .arg(::getpid());
        QVERIFY2(QString::fromUtf8(r.err).contains(expected), r.err.constData());
        QVERIFY2(QString::fromUtf8(r.err).contains(m_project), r.err.constData());
        QVERIFY((*holder)->integrityCheck().isOk());
        QCOMPARE((*holder)->labelHistory()->size(), historyBefore); // the refused command wrote nothing
        QVERIFY((*holder)->models()->empty());
    }
    // Closed: the same command now goes through.
    if (args.front() == "relabel") {
        const Run r = cli(args);
        QVERIFY2(r.exitCode == 0, r.err.constData());
    }
}

void TestProjectLock::readOnlyOpenWorksBesideAWriter()
{
    auto holder = ProjectDb::open(m_project.toStdString());
    QVERIFY(holder.ok());
    const Run r = cli({"info", m_project});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    auto reader = ProjectDb::open(m_project.toStdString(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY2(reader.ok(), reader.ok() ? "" : reader.status().message().c_str());
    QCOMPARE(*(*reader)->exampleCount(), *(*holder)->exampleCount());
}

void TestProjectLock::killedHolderLeavesNoLock()
{
    int ready[2];
    QCOMPARE(::pipe(ready), 0);
    const pid_t child = ::fork();
    QVERIFY(child >= 0);
    if (child == 0) {
        // The child holds the project open for writing until it is killed.
        auto db = ProjectDb::open(m_project.toStdString());
        const char c = db.ok() ? 'y' : 'n';
        [[maybe_unused]] ssize_t w = ::write(ready[1], &c, 1);
        for (;;)
            ::pause();
    }
    ::close(ready[1]);
    char c = 0;
    QCOMPARE(::read(ready[0], &c, 1), ssize_t(1));
    ::close(ready[0]);
    QCOMPARE(c, 'y');

    auto refused = ProjectDb::open(m_project.toStdString());
    QVERIFY(!refused.ok());
    QCOMPARE(refused.status().code(), Status::Code::Busy);
    QVERIFY2(refused.status().message().find("(pid " + std::to_string(child) + ")") != std::string::npos,
             refused.status().message().c_str());
    QVERIFY(ProjectDb::open(m_project.toStdString(), ProjectDb::OpenMode::ReadOnly).ok());

    ::kill(child, SIGKILL);
    int status = 0;
    QCOMPARE(::waitpid(child, &status, 0), child);
    // The lock file is still there, but the kernel dropped the lock with the process.
    auto after = ProjectDb::open(m_project.toStdString());
    QVERIFY2(after.ok(), after.ok() ? "" : after.status().message().c_str());
    QVERIFY((*after)->integrityCheck().isOk());
}

QTEST_GUILESS_MAIN(TestProjectLock)
#include "test_projectlock.moc"
