// `traclens-cli compute --distributed` on one machine: rank 0 coordinates and commits,
// the other ranks compute (core/distributed). Checks that several processes give the
// factors of one process bit for bit, that a worker or the coordinator killed with SIGKILL
// stops the run with a message and a re-run resumes without recomputing committed chunks,
// and that an unreadable image is reported with the node and the file.
//
// Skips only when this build has no distributed support, and fails instead when CI is set:
// CI installs libgloo-dev (packaging/install-deps.sh), so there the test must run.

#include "store/projectdb.h"
#include "requireorskip.h"
#include "testproject.h"

#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QRegularExpression>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <arpa/inet.h>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace traclens;

namespace {

constexpr int kChunk = 32;
constexpr int kCheckpoints = 2;

using FactorMap = std::map<std::pair<int, int64_t>, std::vector<float>>;

FactorMap allFactors(const std::string &project, int64_t modelId)
{
    FactorMap out;
    auto db = ProjectDb::open(project, ProjectDb::OpenMode::ReadOnly);
    if (!db.ok())
        return out;
    auto cps = (*db)->checkpoints(modelId);
    for (const auto &cp : *cps) {
        (*db)->forEachFactor(cp.id, [&](const FactorRow &r) {
            std::vector<float> v = r.error;
            v.insert(v.end(), r.embedding.begin(), r.embedding.end());
            v.insert(v.end(), r.probs.begin(), r.probs.end());
            v.push_back(r.loss);
            v.push_back(float(r.predicted));
            v.push_back(float(r.labelUsed));
            out[{cp.order, r.exampleId}] = std::move(v);
        });
    }
    return out;
}

// Read-only while a run holds the project; read-write once every process has ended, so
// that a killed writer's write-ahead log is recovered first.
int64_t storedPairs(const std::string &project, int64_t modelId, bool running = false)
{
    auto db = ProjectDb::open(project, running ? ProjectDb::OpenMode::ReadOnly : ProjectDb::OpenMode::ReadWrite);
    if (!db.ok())
        return -1;
    auto cps = (*db)->checkpoints(modelId);
    if (!cps.ok())
        return -1;
    int64_t n = 0;
    for (const auto &cp : *cps) {
        auto count = (*db)->factorCount(cp.id);
        if (!count.ok())
            return -1;
        n += *count;
    }
    return n;
}

QString hostName()
{
    char buf[256] = {};
    gethostname(buf, sizeof buf - 1);
    return QString::fromLocal8Bit(buf);
}

// A port nobody listens on now: bound to port 0, read back, closed. Parallel ctest runs
// each get their own.
int freePort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    int port = -1;
    if (::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0
        && ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

// One traclens-cli process per rank, all on this machine.
struct Run {
    std::vector<std::unique_ptr<QProcess>> ranks;
    std::vector<QByteArray> errors; // stderr read so far

    Run(const QString &project, int world, const QStringList &extra = {})
    {
        const int port = freePort();
        for (int r = 0; r < world; ++r) {
            auto p = std::make_unique<QProcess>();
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            env.insert("RANK", QString::number(r));
            env.insert("WORLD_SIZE", QString::number(world));
            env.insert("MASTER_ADDR", "127.0.0.1");
            env.insert("MASTER_PORT", QString::number(port));
            p->setProcessEnvironment(env);
            p->start(TRACLENS_CLI, QStringList{"compute", project, "--distributed", "--threads", "1", "--chunk",
                                               QString::number(kChunk), "--batch", "16", "--json", "--quiet"}
                                       + extra + (r == 0 ? QStringList{"--progress-lines"} : QStringList{}));
            p->waitForStarted();
            ranks.push_back(std::move(p));
            errors.emplace_back();
        }
    }
    bool waitAll(int ms = 120000)
    {
        QElapsedTimer t;
        t.start();
        for (auto &p : ranks)
            if (!p->waitForFinished(int(std::max<qint64>(1, ms - t.elapsed()))))
                return false;
        return true;
    }
    QByteArray err(int r)
    {
        errors[size_t(r)] += ranks[size_t(r)]->readAllStandardError();
        return errors[size_t(r)];
    }
    QJsonObject json(int r) { return QJsonDocument::fromJson(ranks[size_t(r)]->readAllStandardOutput()).object(); }
    ~Run()
    {
        for (auto &p : ranks)
            if (p->state() != QProcess::NotRunning) {
                p->kill();
                p->waitForFinished(5000);
            }
    }
};

} // namespace

class TestDistributedCompute : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void matchesOneProcess_data();
    void matchesOneProcess();
    void workerKilledThenResumed();
    void coordinatorKilledThenResumed();
    void unreadableImageNamesNodeAndFile();

private:
    // A fresh copy of the trained project (no factors yet); the dataset is shared.
    QString copyProject(const QString &name);
    QString commandError(Run &run, int rank);
    // After a killed run: the project is intact, and a run with `processes` processes
    // reuses every committed row and computes the rest to the single-process factors.
    void resumesFromCommitted(const QString &project, int processes, int64_t committed);

    QTemporaryDir m_dir;
    std::unique_ptr<testing::TestProject> m_project;
    FactorMap m_reference;
    int64_t m_pairs = 0;
};

void TestDistributedCompute::initTestCase()
{
    // Without distributed support, the CLI says so; that is the only reason to skip.
    {
        QProcess p;
        // No launcher variables: a build with support stops at once asking for them.
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        for (const char *v : {"RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS"})
            env.remove(v);
        p.setProcessEnvironment(env);
        p.start(TRACLENS_CLI, {"compute", m_dir.filePath("none.traclens"), "--distributed"});
        QVERIFY(p.waitForFinished(60000));
        const QByteArray err = p.readAllStandardError();
        // With CI set, a build without support fails here instead (requireorskip.h): CI
        // installs libgloo-dev, so a skip there would be a test that stopped testing.
        REQUIRE_OR_SKIP(!err.contains("no distributed support"),
                        "this build of traclens-cli has no distributed support (configure with libgloo-dev installed)");
        QVERIFY2(err.contains("RANK and WORLD_SIZE"), err.constData());
    }
    testing::SyntheticSpec spec;
    spec.trainPerClass = 200;
    spec.testPerClass = 20;
    spec.size = 64; // enough work per chunk that a run can be killed midway
    m_project = std::make_unique<testing::TestProject>(m_dir.filePath("base").toStdString(), spec);
    const Status built = m_project->build(testing::TestProject::Stage::Trained);
    QVERIFY2(built.isOk(), built.message().c_str());
    m_pairs = int64_t(spec.classes * (spec.trainPerClass + spec.testPerClass) * kCheckpoints);

    // The reference: one process, plain compute, the same threads, chunks and batches.
    const QString ref = copyProject("reference");
    QProcess p;
    p.start(TRACLENS_CLI, {"compute", ref, "--threads", "1", "--chunk", QString::number(kChunk), "--batch", "16",
                           "--quiet"});
    QVERIFY(p.waitForFinished(120000));
    QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
    m_reference = allFactors(ref.toStdString(), m_project->modelId());
    QCOMPARE(int64_t(m_reference.size()), m_pairs);
}

QString TestDistributedCompute::copyProject(const QString &name)
{
    const QString to = m_dir.filePath(name + ".traclens");
    const QString from = QString::fromStdString(m_project->projectPath());
    if (!QFile::copy(from, to))
        return {};
    std::error_code ec;
    std::filesystem::copy((from + ".d").toStdString(), (to + ".d").toStdString(),
                          std::filesystem::copy_options::recursive, ec);
    return ec ? QString() : to;
}

void TestDistributedCompute::matchesOneProcess_data()
{
    QTest::addColumn<int>("world");
    QTest::newRow("2 processes") << 2;
    QTest::newRow("3 processes") << 3;
}

void TestDistributedCompute::matchesOneProcess()
{
    QFETCH(int, world);
    const QString project = copyProject(QString("match%1").arg(world));
    QVERIFY(!project.isEmpty());
    Run run(project, world);
    QVERIFY(run.waitAll());
    for (int r = 0; r < world; ++r)
        QVERIFY2(run.ranks[size_t(r)]->exitCode() == 0, run.err(r).constData());
    const QJsonObject summary = run.json(0);
    QCOMPARE(qint64(summary.value("computed").toDouble()), m_pairs);
    QCOMPARE(qint64(summary.value("reused").toDouble()), qint64(0));
    // Every worker computed something, and together exactly the whole.
    int64_t byWorkers = 0;
    for (int r = 1; r < world; ++r)
        byWorkers += int64_t(run.json(r).value("computed").toDouble());
    QCOMPARE(byWorkers, m_pairs);

    QVERIFY(allFactors(project.toStdString(), m_project->modelId()) == m_reference); // bit for bit
    auto db = ProjectDb::open(project.toStdString(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY(db.ok());
    QVERIFY((*db)->integrityCheck().isOk());
    auto si = (*db)->selfInfluence(m_project->modelId());
    QVERIFY(si.ok());
    QCOMPARE(int64_t(si->size()), m_pairs / kCheckpoints);
}

// SIGKILLs one process of a running 3-process run once rank 0 reports a few committed
// chunks (its --progress-lines) while at least 5 chunks are left, so no worker has run out
// of work. `*victim` 0 kills rank 0; -1 kills a worker that has delivered rows (named in the
// progress line), which then holds a claimed chunk that is lost for sure, and sets *victim.
// Returns the pairs committed once the run has stopped.
static int64_t killMidway(const QString &project, int64_t modelId, int *victim, Run &run)
{
    QElapsedTimer timer;
    timer.start();
    int target = -1;
    const QRegularExpression line("progress\\tcompute\\t(\\d+)\\t(\\d+)\\t([^\\n]*)\\n");
    const QRegularExpression worker("rank (\\d+) ");
    while (target < 0 && timer.elapsed() < 90000 && run.ranks[0]->state() == QProcess::Running) {
        run.ranks[0]->waitForReadyRead(10);
        run.errors[0] += run.ranks[0]->readAllStandardError();
        QRegularExpressionMatch last;
        for (auto m = line.globalMatch(QString::fromUtf8(run.errors[0])); m.hasNext();)
            last = m.next();
        if (!last.hasMatch())
            continue;
        const qint64 done = last.captured(1).toLongLong(), total = last.captured(2).toLongLong();
        const qint64 chunkPairs = kChunk * kCheckpoints;
        if (done < 2 * chunkPairs || done > total - 5 * chunkPairs)
            continue;
        if (*victim == 0) {
            target = 0;
        } else {
            const auto w = worker.match(last.captured(3));
            if (w.hasMatch())
                target = w.captured(1).toInt();
        }
    }
    if (target < 0) {
        qWarning("not killed midway after %lld ms: %s", (long long)timer.elapsed(), run.errors[0].constData());
        return -1;
    }
    *victim = target;
    ::kill(pid_t(run.ranks[size_t(target)]->processId()), SIGKILL);
    if (!run.waitAll(90000))
        return -2;
    return storedPairs(project.toStdString(), modelId);
}

void TestDistributedCompute::workerKilledThenResumed()
{
    const QString project = copyProject("workerkilled");
    QVERIFY(!project.isEmpty());
    int64_t committed = 0;
    int victim = -1;
    QString coordinatorErr, otherWorkerErr;
    {
        Run run(project, 3, {"--heartbeat-timeout", "3"});
        committed = killMidway(project, m_project->modelId(), &victim, run);
        QVERIFY2(committed >= 0, "the run finished before a worker could be killed midway, or did not stop");
        const int other = 3 - victim;
        QCOMPARE(run.ranks[size_t(victim)]->exitStatus(), QProcess::CrashExit);
        QCOMPARE(run.ranks[0]->exitCode(), 1);
        coordinatorErr = QString::fromUtf8(run.err(0));
        otherWorkerErr = QString::fromUtf8(run.err(other));
        QVERIFY(run.ranks[size_t(other)]->exitCode() != 0);
        QVERIFY2(otherWorkerErr.contains(QString("rank %1 on %2").arg(other).arg(hostName())),
                 qPrintable(otherWorkerErr));
    }
    const QString dead = QString("rank %1 on %2").arg(victim).arg(hostName());
    QVERIFY2(coordinatorErr.contains(dead) && coordinatorErr.contains("no heartbeat"), qPrintable(coordinatorErr));
    QVERIFY2(otherWorkerErr.contains(dead), qPrintable(otherWorkerErr));
    QVERIFY2(committed < m_pairs, "the killed worker's chunk cannot have been committed");
    // Whole chunks only (the last chunk of the list is shorter).
    const int64_t lastChunkPairs = (m_pairs / kCheckpoints) % kChunk * kCheckpoints;
    QVERIFY2(committed % (kChunk * kCheckpoints) == 0 || committed % (kChunk * kCheckpoints) == lastChunkPairs,
             qPrintable(QString("%1 pairs committed").arg(committed)));
    // Resumed with another number of processes: nothing committed is computed again.
    resumesFromCommitted(project, 2, committed);
}

void TestDistributedCompute::coordinatorKilledThenResumed()
{
    const QString project = copyProject("coordinatorkilled");
    QVERIFY(!project.isEmpty());
    int64_t committed = 0;
    QStringList workerErrs;
    {
        Run run(project, 3);
        int victim = 0;
        committed = killMidway(project, m_project->modelId(), &victim, run);
        QVERIFY2(committed >= 0, "the run finished before the coordinator could be killed midway, or did not stop");
        QCOMPARE(run.ranks[0]->exitStatus(), QProcess::CrashExit);
        for (int r = 1; r < 3; ++r) {
            QCOMPARE(run.ranks[size_t(r)]->exitStatus(), QProcess::NormalExit); // a message, not a crash or hang
            QVERIFY(run.ranks[size_t(r)]->exitCode() != 0);
            workerErrs << QString::fromUtf8(run.err(r));
        }
    }
    for (const QString &e : workerErrs)
        QVERIFY2(e.contains("lost the coordinator"), qPrintable(e));
    QVERIFY(committed < m_pairs);
    resumesFromCommitted(project, 3, committed);
}

void TestDistributedCompute::resumesFromCommitted(const QString &project, int processes, int64_t committed)
{
    {
        auto db = ProjectDb::open(project.toStdString(), ProjectDb::OpenMode::ReadOnly);
        QVERIFY(db.ok());
        QVERIFY((*db)->integrityCheck().isOk());
    }
    Run again(project, processes);
    QVERIFY(again.waitAll());
    QVERIFY2(again.ranks[0]->exitCode() == 0, again.err(0).constData());
    const QJsonObject summary = again.json(0);
    QCOMPARE(qint64(summary.value("reused").toDouble()), committed);
    QCOMPARE(qint64(summary.value("computed").toDouble()), m_pairs - committed);
    QVERIFY(allFactors(project.toStdString(), m_project->modelId()) == m_reference);
}

void TestDistributedCompute::unreadableImageNamesNodeAndFile()
{
    // One training image is damaged for the length of this test.
    QString victim;
    QDirIterator it(QString::fromStdString(m_project->datasetPath()) + "/train", {"*.png"}, QDir::Files,
                    QDirIterator::Subdirectories);
    QVERIFY(it.hasNext());
    victim = it.next();
    QFile f(victim);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray original = f.readAll();
    f.close();
    struct Restore {
        QString path;
        QByteArray bytes;
        ~Restore()
        {
            QFile g(path);
            if (g.open(QIODevice::WriteOnly | QIODevice::Truncate))
                g.write(bytes);
        }
    } restore{victim, original};
    {
        QFile g(victim);
        QVERIFY(g.open(QIODevice::WriteOnly | QIODevice::Truncate));
        g.write("not an image");
    }
    const QString project = copyProject("unreadable");
    QVERIFY(!project.isEmpty());
    Run run(project, 3);
    QVERIFY(run.waitAll());
    QCOMPARE(run.ranks[0]->exitCode(), 1);
    const QString err = QString::fromUtf8(run.err(0));
    const QString host = hostName();
    const QString file = QFileInfo(victim).fileName();
    QVERIFY2(err.contains(QRegularExpression("rank [12] on " + QRegularExpression::escape(host))), qPrintable(err));
    QVERIFY2(err.contains(file), qPrintable(err));
    // The worker that met it says the same.
    const QString w1 = QString::fromUtf8(run.err(1)), w2 = QString::fromUtf8(run.err(2));
    QVERIFY2(w1.contains(file) || w2.contains(file), qPrintable(w1 + "\n" + w2));
}

QTEST_GUILESS_MAIN(TestDistributedCompute)
#include "test_distributedcompute.moc"
