// `traclens-cli compute` killed with SIGKILL midway, then run again: it finishes without
// recomputing finished chunks, gives factors identical to an uninterrupted run, and the
// project file passes PRAGMA integrity_check.

#include "influence/computejob.h"
#include "store/importer.h"
#include "store/projectdb.h"
#include "syntheticimages.h"
#include "model/trainjob.h"

#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <filesystem>
#include <map>

using namespace traclens;

class TestComputeResume : public QObject {
    Q_OBJECT
private slots:
    void resumesAfterSigkill();
};

namespace {

std::map<std::pair<int, int64_t>, std::vector<float>> allFactors(ProjectDb &db, int64_t modelId)
{
    std::map<std::pair<int, int64_t>, std::vector<float>> out;
    auto cps = db.checkpoints(modelId);
    for (const auto &cp : *cps) {
        db.forEachFactor(cp.id, [&](const FactorRow &r) {
            std::vector<float> v = r.error;
            v.insert(v.end(), r.embedding.begin(), r.embedding.end());
            v.insert(v.end(), r.probs.begin(), r.probs.end());
            v.push_back(r.loss);
            out[{cp.order, r.exampleId}] = std::move(v);
        });
    }
    return out;
}

} // namespace

void TestComputeResume::resumesAfterSigkill()
{
    QTemporaryDir dir;
    testing::SyntheticSpec spec;
    spec.trainPerClass = 900;
    spec.testPerClass = 100;
    spec.size = 32;
    testing::writeSyntheticImageFolder(dir.filePath("data").toStdString(), spec);
    const QString project = dir.filePath("p.traclens");
    const QString reference = dir.filePath("ref.traclens");
    int64_t modelId = 0;
    {
        auto db = ProjectDb::open(project.toStdString(), ProjectDb::OpenMode::Create);
        QVERIFY(db.ok());
        auto imported = importDataset(**db, dir.filePath("data").toStdString());
        QVERIFY2(imported.ok(), imported.ok() ? "" : imported.status().message().c_str());
        TrainConfig cfg;
        cfg.epochs = 2;
        cfg.width = 8;
        cfg.embeddingDim = 16;
        auto id = trainProjectModel(**db, cfg, "tiny");
        QVERIFY2(id.ok(), id.ok() ? "" : id.status().message().c_str());
        modelId = *id;
    } // closing the last connection folds the WAL into the file, so a copy is complete
    QVERIFY(QFile::copy(project, reference));
    // The model's directory is stored relative to the project, so the copy takes its own .d.
    std::error_code ec;
    std::filesystem::copy((project + ".d").toStdString(), (reference + ".d").toStdString(),
                          std::filesystem::copy_options::recursive, ec);
    QVERIFY2(!ec, ec.message().c_str());

    ComputeOptions opt;
    opt.threads = 1;
    opt.chunkSize = 64;
    opt.batchSize = 32;
    {
        auto ref = ProjectDb::open(reference.toStdString());
        QVERIFY(ref.ok());
        auto s = computeFactors(**ref, modelId, opt);
        QVERIFY2(s.ok(), s.ok() ? "" : s.status().message().c_str());
        QCOMPARE(s->reused, int64_t(0));
    }

    // Start the CLI, watch the project from a second connection, kill it midway.
    QProcess cli;
    cli.start(TRACLENS_CLI, {"compute", project, "--threads", "1", "--chunk", "64", "--batch", "32", "--quiet"});
    QVERIFY(cli.waitForStarted());
    // Read-only: the CLI holds the project's writer lock while it computes.
    auto watcher = ProjectDb::open(project.toStdString(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY(watcher.ok());
    auto cps = (*watcher)->checkpoints(modelId);
    QVERIFY(cps.ok() && cps->size() == 2);
    const int64_t examples = *(*watcher)->exampleCount();
    int64_t seen = 0;
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < 60000 && cli.state() == QProcess::Running) {
        auto n = (*watcher)->factorCount(cps->front().id);
        if (n.ok() && *n >= 3 * 64) {
            seen = *n;
            break;
        }
        QTest::qWait(1);
    }
    // Killed on a marker: three committed chunks. The time limit only bounds the wait.
    QVERIFY2(seen > 0, "the CLI finished or failed before it could be killed midway, or committed no 3 chunks in 60 s");
    ::kill(pid_t(cli.processId()), SIGKILL);
    QVERIFY(cli.waitForFinished(10000));
    QCOMPARE(cli.exitStatus(), QProcess::CrashExit);
    watcher = Status::internal("closed");

    int64_t doneAtKill = 0;
    {
        auto db = ProjectDb::open(project.toStdString());
        QVERIFY(db.ok());
        QVERIFY((*db)->integrityCheck().isOk());
        for (const auto &cp : *cps)
            doneAtKill += *(*db)->factorCount(cp.id);
        QVERIFY2(doneAtKill >= 2 * seen && doneAtKill < 2 * examples,
                 qPrintable(QString("done at kill %1 of %2").arg(doneAtKill).arg(2 * examples)));
        QCOMPARE(doneAtKill % (2 * 64), int64_t(0)); // whole chunks only

        auto s = computeFactors(**db, modelId, opt);
        QVERIFY2(s.ok(), s.ok() ? "" : s.status().message().c_str());
        QCOMPARE(s->reused, doneAtKill);                 // finished chunks were not recomputed
        QCOMPARE(s->computed, 2 * examples - doneAtKill);
        QVERIFY((*db)->integrityCheck().isOk());
    }

    auto a = ProjectDb::open(project.toStdString());
    auto b = ProjectDb::open(reference.toStdString());
    QVERIFY(a.ok() && b.ok());
    const auto fa = allFactors(**a, modelId), fb = allFactors(**b, modelId);
    QCOMPARE(fa.size(), size_t(2 * examples));
    QCOMPARE(fa.size(), fb.size());
    QVERIFY(fa == fb); // bit-identical
    auto sa = (*a)->selfInfluence(modelId), sb = (*b)->selfInfluence(modelId);
    QVERIFY(sa.ok() && sb.ok());
    QVERIFY(*sa == *sb);
}

QTEST_GUILESS_MAIN(TestComputeResume)
#include "test_computeresume.moc"
