// SIGKILL at the worst moments. traclens-cli runs as a QProcess and is killed during
// import, training and index building; a child process is killed right after a relabel
// returned. Every kill follows a marker of progress — a committed row, a state file, a
// progress line of --progress-lines, a byte down a pipe — never a timer, so a slow or a
// fast machine kills at the same point. After each kill the project passes PRAGMA
// integrity_check, nothing finished is lost, and running the command again finishes
// without redoing finished parts.
// (Vector computation: test_computeresume.)

#include "clirun.h"
#include "model/modelrunner.h"
#include "model/modelspec.h"
#include "store/importer.h"
#include "store/projectdb.h"
#include "syntheticimages.h"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <filesystem>
#include <functional>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

using namespace traclens;
namespace fs = std::filesystem;

class TestCrashSafety : public QObject {
    Q_OBJECT
private slots:
    void importKilledMidway();
    void trainingKilledMidwayResumes();
    void indexKilledMidway();
    void killedRightAfterRelabel();
};

namespace {

using Run = traclens::testing::CliRun;

Run cli(const QStringList &args) { return traclens::testing::runCli(args); }

// Starts the CLI and kills it with SIGKILL as soon as `ready` says so; `ready` is given
// the CLI's stderr so far. False when the process ended first, or no marker came within
// `timeoutMs` (then the test cannot say anything about a kill midway). The time limit
// only bounds the wait; it never decides when to kill.
bool runAndKill(const QStringList &args, const std::function<bool(const QByteArray &err)> &ready,
                int timeoutMs = 120000)
{
    QProcess p;
    p.start(TRACLENS_CLI, args);
    if (!p.waitForStarted())
        return false;
    QElapsedTimer timer;
    timer.start();
    bool hit = false;
    QByteArray err;
    while (timer.elapsed() < timeoutMs && p.state() == QProcess::Running) {
        err += p.readAllStandardError();
        if (ready(err)) {
            hit = true;
            break;
        }
        QTest::qWait(1);
    }
    if (!hit || p.state() != QProcess::Running) {
        if (!hit)
            qWarning("no kill marker within %d ms; stderr so far:\n%s", timeoutMs, err.constData());
        p.kill();
        p.waitForFinished(10000);
        return false;
    }
    ::kill(pid_t(p.processId()), SIGKILL);
    p.waitForFinished(10000);
    return p.exitStatus() == QProcess::CrashExit;
}

int64_t readOnlyCount(const QString &project)
{
    auto db = ProjectDb::open(project.toStdString(), ProjectDb::OpenMode::ReadOnly);
    if (!db.ok())
        return -1;
    auto n = (*db)->exampleCount();
    return n.ok() ? *n : -1;
}

void checkIntegrity(const QString &project)
{
    auto db = ProjectDb::open(project.toStdString());
    QVERIFY2(db.ok(), db.ok() ? "" : db.status().message().c_str());
    QVERIFY((*db)->integrityCheck().isOk());
}

} // namespace

void TestCrashSafety::importKilledMidway()
{
    QTemporaryDir dir;
    testing::SyntheticSpec spec;
    spec.trainPerClass = 1500;
    spec.testPerClass = 100;
    testing::writeSyntheticImageFolder(dir.filePath("data").toStdString(), spec);
    const int64_t total = 3 * 1600;
    const QString project = dir.filePath("p.traclens");

    int64_t atKill = 0;
    const bool killed = runAndKill({"import", project, dir.filePath("data"), "--quiet"}, [&](const QByteArray &) {
        atKill = readOnlyCount(project);
        return atKill > 0;
    });
    QVERIFY2(killed, "the import finished before it could be killed midway");
    checkIntegrity(project);
    const int64_t kept = readOnlyCount(project);
    QVERIFY2(kept >= atKill && kept < total, qPrintable(QString("kept %1 of %2").arg(kept).arg(total)));

    const Run r = cli({"import", project, dir.filePath("data"), "--json", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject o = r.json();
    QCOMPARE(o.value("train").toInt(), 4500);
    QCOMPARE(o.value("test").toInt(), 300);
    QCOMPARE(qint64(o.value("unchanged").toInt()), kept); // finished chunks were not read again
    QCOMPARE(qint64(o.value("added").toInt()), total - kept);

    auto db = ProjectDb::open(project.toStdString(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY(db.ok());
    auto rows = (*db)->examples();
    QVERIFY(rows.ok());
    QCOMPARE(int64_t(rows->size()), total);
    std::set<std::string> sources;
    for (const auto &e : *rows)
        sources.insert(e.source);
    QCOMPARE(int64_t(sources.size()), total); // no duplicates
    QVERIFY((*db)->integrityCheck().isOk());
}

void TestCrashSafety::trainingKilledMidwayResumes()
{
    QTemporaryDir dir;
    testing::SyntheticSpec spec;
    spec.trainPerClass = 300;
    spec.testPerClass = 20;
    testing::writeSyntheticImageFolder(dir.filePath("data").toStdString(), spec);
    const QString project = dir.filePath("p.traclens");
    const QString reference = dir.filePath("ref.traclens");
    {
        const Run r = cli({"import", project, dir.filePath("data"), "--quiet"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
    }
    QVERIFY(QFile::copy(project, reference));
    const QStringList train{"--epochs", "8", "--width", "4", "--embedding-dim", "8", "--batch", "16", "--lr", "0.05",
                            "--threads", "1", "--name", "m", "--json", "--quiet"};

    // Uninterrupted.
    Run ref = cli(QStringList{"train", reference} + train);
    QVERIFY2(ref.exitCode == 0, ref.err.constData());

    // Killed after its second epoch's state is on disk.
    const fs::path modelDir = (project + ".d/models/m").toStdString();
    const bool killed = runAndKill(QStringList{"train", project} + train, [&](const QByteArray &) {
        QFile f(QString::fromStdString((modelDir / "train-state.json").string()));
        if (!f.open(QIODevice::ReadOnly))
            return false;
        return QJsonDocument::fromJson(f.readAll()).object().value("epoch").toInt() >= 2;
    });
    QVERIFY2(killed, "training finished before it could be killed midway");
    checkIntegrity(project);
    int doneEpochs = 0;
    {
        auto db = ProjectDb::open(project.toStdString(), ProjectDb::OpenMode::ReadOnly);
        QVERIFY(db.ok());
        auto job = (*db)->job("train:m");
        QVERIFY(job.ok() && job->has_value());
        QCOMPARE(QString::fromStdString((*job)->state), QString("running"));
        QCOMPARE((*job)->message, modelDir.string());
        doneEpochs = int((*job)->done);
        QVERIFY(doneEpochs >= 1 && doneEpochs < 8); // the job row lags the state file by at most an epoch
        QVERIFY((*db)->models()->empty()); // not registered until it finishes
    }
    const auto firstCheckpointTime = fs::last_write_time(modelDir / "ckpt-1.pt");

    Run resumed = cli(QStringList{"train", project} + train);
    QVERIFY2(resumed.exitCode == 0, resumed.err.constData());
    QVERIFY(fs::last_write_time(modelDir / "ckpt-1.pt") == firstCheckpointTime); // epoch 1 was not trained again
    QVERIFY(!fs::exists(modelDir / "train-state.json"));
    QCOMPARE(resumed.json().value("checkpoints").toInt(), 8);
    // Same curves to the last bit (restored epochs come from the saved state).
    QCOMPARE(resumed.json().value("epochs").toVariant(), ref.json().value("epochs").toVariant());

    // Same weights: every checkpoint gives the same outputs as the uninterrupted run's.
    auto a = readModelSpec(modelDir.string());
    auto b = readModelSpec((reference + ".d/models/m").toStdString());
    QVERIFY(a.ok() && b.ok());
    QCOMPARE(a->checkpoints.size(), size_t(8));
    std::vector<float> input(size_t(5) * a->input.floatsPerImage());
    for (size_t i = 0; i < input.size(); ++i)
        input[i] = float(i % 17) / 8.0f - 1.0f;
    for (size_t i = 0; i < a->checkpoints.size(); ++i) {
        auto ra = ModelRunner::load(*a, i);
        auto rb = ModelRunner::load(*b, i);
        QVERIFY(ra.ok() && rb.ok());
        BatchOutput oa, ob;
        QVERIFY((*ra)->run(input.data(), 5, &oa).isOk());
        QVERIFY((*rb)->run(input.data(), 5, &ob).isOk());
        QVERIFY2(oa.logits == ob.logits && oa.embeddings == ob.embeddings,
                 qPrintable(QString("checkpoint %1 differs").arg(i + 1)));
    }
    auto db = ProjectDb::open(project.toStdString(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY(db.ok());
    QCOMPARE(QString::fromStdString((*(*db)->job("train:m"))->state), QString("done"));
    QCOMPARE((*db)->models()->size(), size_t(1));

    // Trained again under the same name: a new model, not a resume of the finished one.
    Run again = cli(QStringList{"train", project, "--epochs", "1", "--width", "2", "--embedding-dim", "4", "--name",
                                "m", "--json", "--quiet"});
    QVERIFY2(again.exitCode == 0, again.err.constData());
    QCOMPARE(again.json().value("checkpoints").toInt(), 1);
}

void TestCrashSafety::indexKilledMidway()
{
    QTemporaryDir dir;
    const QString project = dir.filePath("s.traclens");
    {
        const Run r = cli({"synth", project, "--train", "60000", "--test", "100", "--dim", "32", "--quiet"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
    }
    // Killed on the first progress line of the build itself (stage "index", not yet
    // done): the factors are loaded and the index is half made, nothing of it saved.
    QByteArray marker;
    const bool killed = runAndKill({"index", project, "--threads", "1", "--progress-lines"}, [&](const QByteArray &err) {
        for (const QByteArray &line : err.left(err.lastIndexOf('\n')).split('\n')) { // whole lines only
            const QList<QByteArray> f = line.split('\t');
            if (f.size() >= 4 && f[0] == "progress" && f[1] == "index" && f[2].toLongLong() < f[3].toLongLong()) {
                marker = line;
                return true;
            }
        }
        return false;
    });
    QVERIFY2(killed, "the index was built (or no progress line came) before it could be killed midway");
    qInfo("killed after: %s", marker.constData());
    checkIntegrity(project);

    Run r = cli({"index", project, "--threads", "1", "--json", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY(r.json().value("built").toBool());
    // Finished work is kept: the next run finds the index up to date.
    r = cli({"index", project, "--threads", "1", "--json", "--quiet", "--query", "1", "--k", "3"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY(!r.json().value("built").toBool());
    checkIntegrity(project);
}

// The edit was acknowledged (relabel returned) and then the process died before it
// closed the project: the edit and its history row are there after a restart.
void TestCrashSafety::killedRightAfterRelabel()
{
    QTemporaryDir dir;
    testing::SyntheticSpec spec;
    spec.trainPerClass = 5;
    spec.testPerClass = 1;
    testing::writeSyntheticImageFolder(dir.filePath("data").toStdString(), spec);
    const std::string project = dir.filePath("p.traclens").toStdString();
    {
        auto db = ProjectDb::open(project, ProjectDb::OpenMode::Create);
        QVERIFY(db.ok());
        QVERIFY(importDataset(**db, dir.filePath("data").toStdString()).ok());
    }
    for (int round = 0; round < 3; ++round) {
        int ready[2];
        QCOMPARE(::pipe(ready), 0);
        const pid_t child = ::fork();
        QVERIFY(child >= 0);
        if (child == 0) {
            auto db = ProjectDb::open(project);
            char c = 'n';
            if (db.ok()) {
                auto ex = (*db)->example(1);
                if (ex.ok() && (*db)->relabel(1, (ex->currentLabel + 1) % 3, "user").ok())
                    c = 'y';
            }
            [[maybe_unused]] ssize_t w = ::write(ready[1], &c, 1);
            for (;;)
                ::pause();
        }
        ::close(ready[1]);
        char c = 0;
        QCOMPARE(::read(ready[0], &c, 1), ssize_t(1));
        ::close(ready[0]);
        ::kill(child, SIGKILL);
        int status = 0;
        QCOMPARE(::waitpid(child, &status, 0), child);
        QCOMPARE(c, 'y');

        auto db = ProjectDb::open(project);
        QVERIFY2(db.ok(), db.ok() ? "" : db.status().message().c_str());
        QVERIFY((*db)->integrityCheck().isOk());
        auto history = (*db)->labelHistory(1);
        QVERIFY(history.ok());
        QCOMPARE(int(history->size()), round + 1);
        auto ex = (*db)->example(1);
        QVERIFY(ex.ok());
        QCOMPARE(ex->currentLabel, history->back().newLabel);
    }
}

QTEST_GUILESS_MAIN(TestCrashSafety)
#include "test_crashsafety.moc"
