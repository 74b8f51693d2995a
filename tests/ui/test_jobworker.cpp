// The background worker: a plan runs import → train → compute → engine load in order
// with throttled progress; cancellation stops a running job and skips queued ones; a
// file that is not a project fails cleanly; "retrain with my corrections" trains a new
// active model on the edited labels and reports both accuracies; cross-validation runs
// with progress and stores out-of-sample terms for every training example.

#include "model/crossvalidation.h"
#include "jobcontroller.h"
#include "store/projectdb.h"
#include "influence/ranking.h"
#include "testproject.h"

#include <QElapsedTimer>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace traclens;
using traclens::testing::TestProject;

class TestJobWorker : public QObject {
    Q_OBJECT
private slots:
    void planRunsEveryStepInOrder();
    void planResumesWhatIsMissing();
    void cancelStopsRunningAndQueuedJobs();
    void notAProjectFails();
    void rankingMatchesEngine();
    void rankingBySpecMatchesEngine_data();
    void rankingBySpecMatchesEngine();
    void retrainReportsAccuracyAndActivates();
    void crossValidationStoresOutOfSampleTerms();
};

namespace {
Status finishedStatus(const QSignalSpy &spy, qint64 id)
{
    for (const QList<QVariant> &args : spy)
        if (args.at(0).toLongLong() == id)
            return args.at(2).value<Status>();
    return Status::internal("no finished signal");
}

bool waitFinished(QSignalSpy &spy, qint64 id, int timeoutMs)
{
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < timeoutMs) {
        for (const QList<QVariant> &args : spy)
            if (args.at(0).toLongLong() == id)
                return true;
        spy.wait(200);
    }
    return false;
}
} // namespace

void TestJobWorker::planRunsEveryStepInOrder()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    TestProject fixture(dir.path().toStdString());
    QVERIFY2(fixture.build(TestProject::Stage::Images).isOk(), "images");
    {
        auto db = ProjectDb::open(fixture.projectPath(), ProjectDb::OpenMode::Create);
        QVERIFY2(db.ok(), db.status().message().c_str());
    }

    JobController jobs;
    QSignalSpy steps(&jobs, &JobController::stepFinished);
    QSignalSpy finished(&jobs, &JobController::finished);
    QSignalSpy engines(&jobs, &JobController::engineLoaded);
    QSignalSpy busy(&jobs, &JobController::busyChanged);
    QVector<qint64> progressTimes;
    QElapsedTimer clock;
    clock.start();
    QStringList stages;
    connect(&jobs, &JobController::progress, this,
            [&](qint64, const QString &stage, const QString &, qint64, qint64) {
                progressTimes << clock.elapsed();
                if (stages.isEmpty() || stages.last() != stage)
                    stages << stage;
            });

    ProjectPlan plan;
    plan.datasetPath = QString::fromStdString(fixture.datasetPath());
    plan.modelSource = ProjectPlan::ModelSource::TrainBuiltin;
    plan.train = TestProject::tinyTrainConfig();
    plan.modelName = "tiny";
    const qint64 id = jobs.runPlan(QString::fromStdString(fixture.projectPath()), plan);
    QVERIFY(jobs.isBusy());
    QVERIFY(waitFinished(finished, id, 240000));
    const Status status = finishedStatus(finished, id);
    QVERIFY2(status.isOk(), status.message().c_str());
    QVERIFY(!jobs.isBusy());
    QCOMPARE(busy.count(), 2);

    QList<JobKind> kinds;
    for (const auto &args : steps) {
        QVERIFY2(args.at(2).value<Status>().isOk(), args.at(2).value<Status>().message().c_str());
        kinds << args.at(1).value<JobKind>();
    }
    QCOMPARE(kinds, (QList<JobKind>{JobKind::Import, JobKind::Train, JobKind::Compute, JobKind::LoadEngine}));
    QCOMPARE(engines.count(), 1);
    auto engine = engines.at(0).at(1).value<std::shared_ptr<InfluenceIndex>>();
    QVERIFY(engine);
    QCOMPARE(int(engine->trainIds().size()), fixture.spec().classes * fixture.spec().trainPerClass);

    // Progress arrived, and never faster than the throttle allows (stage changes and
    // completions may come closer; allow one per stage and a margin).
    QVERIFY(!progressTimes.isEmpty());
    const double seconds = std::max<qint64>(1, clock.elapsed()) / 1000.0;
    QVERIFY2(progressTimes.size() <= int(seconds * 1000.0 / JobWorker::kProgressIntervalMs) + 4 * stages.size() + 8,
             qPrintable(QStringLiteral("%1 progress signals in %2 s").arg(progressTimes.size()).arg(seconds)));
}

void TestJobWorker::planResumesWhatIsMissing()
{
    // A project that is already trained: the plan must not import or train again.
    QTemporaryDir dir;
    TestProject fixture(dir.path().toStdString());
    QVERIFY2(fixture.build(TestProject::Stage::Trained).isOk(), "fixture");

    JobController jobs;
    QSignalSpy steps(&jobs, &JobController::stepFinished);
    QSignalSpy finished(&jobs, &JobController::finished);
    ProjectPlan plan;
    plan.datasetPath = QString::fromStdString(fixture.datasetPath());
    plan.modelSource = ProjectPlan::ModelSource::TrainBuiltin;
    plan.train = TestProject::tinyTrainConfig();
    const qint64 id = jobs.runPlan(QString::fromStdString(fixture.projectPath()), plan);
    QVERIFY(waitFinished(finished, id, 120000));
    QVERIFY(finishedStatus(finished, id).isOk());
    QList<JobKind> kinds;
    for (const auto &args : steps)
        kinds << args.at(1).value<JobKind>();
    QCOMPARE(kinds, (QList<JobKind>{JobKind::Compute, JobKind::LoadEngine}));

    // Everything done: only the engine is loaded.
    steps.clear();
    const qint64 again = jobs.runPlan(QString::fromStdString(fixture.projectPath()), plan);
    QVERIFY(waitFinished(finished, again, 60000));
    QCOMPARE(steps.count(), 1);
    QCOMPARE(steps.at(0).at(1).value<JobKind>(), JobKind::LoadEngine);
}

void TestJobWorker::cancelStopsRunningAndQueuedJobs()
{
    QTemporaryDir dir;
    traclens::testing::SyntheticSpec spec;
    spec.trainPerClass = 300;
    spec.size = 28;
    TestProject fixture(dir.path().toStdString(), spec);
    QVERIFY2(fixture.build(TestProject::Stage::Imported).isOk(), "fixture");

    JobController jobs;
    QSignalSpy progress(&jobs, &JobController::progress);
    QSignalSpy finished(&jobs, &JobController::finished);
    TrainConfig config = TestProject::tinyTrainConfig();
    config.epochs = 200; // far longer than the test waits
    config.batchSize = 8;
    const QString path = QString::fromStdString(fixture.projectPath());
    const qint64 train = jobs.trainModel(path, config, "long");
    const qint64 compute = jobs.computeFactors(path);

    QVERIFY(progress.wait(60000));
    jobs.cancelAll();
    // 200 epochs take far longer than these waits: finishing within them, cancelled, is
    // the cancel taking effect (the limits only bound the wait).
    QVERIFY2(waitFinished(finished, train, 60000), "the training job did not stop within 60 s of cancelAll()");
    QVERIFY2(waitFinished(finished, compute, 60000), "the queued compute job was not skipped after cancelAll()");
    QVERIFY(finishedStatus(finished, train).isCancelled());
    QVERIFY(finishedStatus(finished, compute).isCancelled());

    // No model was registered, and the worker takes new work after a cancel.
    auto db = ProjectDb::open(fixture.projectPath(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY(db.ok());
    auto active = db.value()->activeModel();
    QVERIFY(active.ok());
    QVERIFY(!active.value().has_value());
    const qint64 next = jobs.loadEngine(path);
    QVERIFY(waitFinished(finished, next, 30000));
    QVERIFY(!finishedStatus(finished, next).isCancelled()); // not found: no model, but it ran
}

void TestJobWorker::notAProjectFails()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("notes.traclens");
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("this is not a database, just text\n");
    f.close();

    JobController jobs;
    QSignalSpy finished(&jobs, &JobController::finished);
    const qint64 id = jobs.runPlan(path, ProjectPlan{});
    QVERIFY(waitFinished(finished, id, 30000));
    const Status status = finishedStatus(finished, id);
    QVERIFY(!status.isOk());
    QVERIFY(!status.isCancelled());
    QVERIFY(!status.message().empty());
    // Nothing was written into the file.
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(), QByteArray("this is not a database, just text\n"));
}

void TestJobWorker::rankingMatchesEngine()
{
    QTemporaryDir dir;
    TestProject fixture(dir.path().toStdString());
    QVERIFY(fixture.build().isOk());
    JobController jobs;
    QSignalSpy ranked(&jobs, &JobController::rankingReady);
    QSignalSpy finished(&jobs, &JobController::finished);
    const qint64 id = jobs.rankExamples(QString::fromStdString(fixture.projectPath()), int(RankingKind::Loss));
    QVERIFY(waitFinished(finished, id, 60000));
    QVERIFY(finishedStatus(finished, id).isOk());
    QCOMPARE(ranked.count(), 1);
    const QVector<qint64> ids = ranked.at(0).at(3).value<QVector<qint64>>();

    auto db = ProjectDb::open(fixture.projectPath(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY(db.ok());
    auto expected = rankTrainingExamples(*db.value(), fixture.modelId(), defaultRankingFor(RankingKind::Loss));
    QVERIFY(expected.ok());
    QCOMPARE(ids.size(), qsizetype(expected->size()));
    for (qsizetype i = 0; i < ids.size(); ++i)
        QCOMPARE(ids[i], expected.value()[size_t(i)].exampleId);
}

void TestJobWorker::rankingBySpecMatchesEngine_data()
{
    // A full spec, as the session asks for the project's calibrated default.
    QTest::addColumn<int>("kind");
    QTest::addColumn<int>("skipFirst");
    QTest::addColumn<int>("uniform");
    QTest::newRow("margin, uniform") << int(RankingKind::Margin) << 0 << 1;
    QTest::newRow("self-influence, skip-1") << int(RankingKind::SelfInfluence) << 1 << 0;
}

void TestJobWorker::rankingBySpecMatchesEngine()
{
    QFETCH(int, kind);
    QFETCH(int, skipFirst);
    QFETCH(int, uniform);
    QTemporaryDir dir;
    TestProject fixture(dir.path().toStdString());
    QVERIFY(fixture.build().isOk());
    RankingSpec spec{RankingKind(kind), CheckpointPolicy{skipFirst, 0, uniform ? CheckpointPolicy::Weighting::Uniform
                                                                               : CheckpointPolicy::Weighting::LearningRate},
                     1};
    JobController jobs;
    QSignalSpy ranked(&jobs, &JobController::rankingReady);
    QSignalSpy finished(&jobs, &JobController::finished);
    const qint64 id = jobs.rankBySpec(QString::fromStdString(fixture.projectPath()), spec);
    QVERIFY(waitFinished(finished, id, 60000));
    QVERIFY(finishedStatus(finished, id).isOk());
    QCOMPARE(ranked.count(), 1);
    QCOMPARE(ranked.at(0).at(1).toInt(), kind);
    QCOMPARE(ranked.at(0).at(2).toString(), QString::fromStdString(spec.toString()));
    const QVector<qint64> ids = ranked.at(0).at(3).value<QVector<qint64>>();
    auto db = ProjectDb::open(fixture.projectPath(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY(db.ok());
    auto expected = rankTrainingExamples(*db.value(), fixture.modelId(), spec);
    QVERIFY(expected.ok());
    QCOMPARE(ids.size(), qsizetype(expected->size()));
    for (qsizetype i = 0; i < ids.size(); ++i)
        QCOMPARE(ids[i], expected.value()[size_t(i)].exampleId);
}

void TestJobWorker::retrainReportsAccuracyAndActivates()
{
    QTemporaryDir dir;
    TestProject fixture(dir.path().toStdString());
    QVERIFY(fixture.build().isOk());
    int64_t edited = 0;
    {
        // A person's correction, written as the review queue writes it.
        auto db = ProjectDb::open(fixture.projectPath(), ProjectDb::OpenMode::ReadWrite);
        QVERIFY(db.ok());
        auto rows = db.value()->examples();
        QVERIFY(rows.ok());
        for (const ExampleRow &r : rows.value())
            if (r.split == Split::Train) {
                edited = r.id;
                QVERIFY(db.value()->relabel(r.id, (r.currentLabel + 1) % fixture.spec().classes, "user").ok());
                break;
            }
    }
    JobController jobs;
    QSignalSpy retrained(&jobs, &JobController::retrained);
    QSignalSpy finished(&jobs, &JobController::finished);
    const qint64 id = jobs.retrainWithCorrections(QString::fromStdString(fixture.projectPath()));
    QVERIFY(waitFinished(finished, id, 120000));
    const Status status = finishedStatus(finished, id);
    QVERIFY2(status.isOk(), status.message().c_str());
    QCOMPARE(retrained.count(), 1);
    const QList<QVariant> args = retrained.at(0);
    const qint64 newModel = args.at(1).toLongLong();
    const double before = args.at(2).toDouble(), after = args.at(3).toDouble();
    QVERIFY(before >= 0.0 && before <= 1.0);
    QVERIFY(after >= 0.0 && after <= 1.0);
    QCOMPARE(args.at(4).toLongLong(), qint64(1));

    auto db = ProjectDb::open(fixture.projectPath(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY(db.ok());
    auto active = db.value()->activeModel();
    QVERIFY(active.ok() && active.value());
    QCOMPARE(qint64(*active.value()), newModel);
    QVERIFY(newModel != fixture.modelId());
    auto epochs = db.value()->epochs(newModel);
    QVERIFY(epochs.ok());
    QVERIFY(!epochs->empty());
    QCOMPARE(epochs->back().testAccuracy, after); // what was reported is what was stored
    QVERIFY(edited > 0);
}

void TestJobWorker::crossValidationStoresOutOfSampleTerms()
{
    QTemporaryDir dir;
    TestProject fixture(dir.path().toStdString());
    QVERIFY(fixture.build(TestProject::Stage::Imported).isOk());
    JobController jobs;
    QSignalSpy started(&jobs, &JobController::started);
    QSignalSpy progress(&jobs, &JobController::progress);
    QSignalSpy finished(&jobs, &JobController::finished);
    CrossValidationConfig config;
    config.folds = 2;
    config.train = TestProject::tinyTrainConfig();
    config.train.epochs = 1;
    const qint64 id = jobs.crossValidate(QString::fromStdString(fixture.projectPath()), config);
    QVERIFY(waitFinished(finished, id, 120000));
    const Status status = finishedStatus(finished, id);
    QVERIFY2(status.isOk(), status.message().c_str());
    QCOMPARE(started.count(), 1);
    QCOMPARE(started.at(0).at(1).value<JobKind>(), JobKind::CrossValidate);
    QVERIFY(!progress.isEmpty());
    QCOMPARE(progress.last().at(1).toString(), QStringLiteral("cross-validate"));

    auto db = ProjectDb::open(fixture.projectPath(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY(db.ok());
    auto terms = loadOutOfSampleTerms(*db.value());
    QVERIFY2(terms.ok(), terms.ok() ? "" : terms.status().message().c_str());
    auto train = db.value()->exampleCount(Split::Train);
    QVERIFY(train.ok());
    QCOMPARE(int64_t(terms->ids.size()), *train);
}

QTEST_MAIN(TestJobWorker)
#include "test_jobworker.moc"
