#pragma once
// The one background worker of the application. It lives on JobController's QThread and
// runs import, training, model import, TracIn compute, influence-engine loading, export,
// cross-validation and clustering, one request at a time in arrival order.
//
// Requests: queued invocations from JobController (never call the methods directly from
// another thread). Results and progress: signals, delivered queued to the GUI thread.
// Progress is throttled to at most ~20 signals per second, plus one at every stage change
// and at completion, so the GUI event loop never drowns.
//
// Database: the worker opens its OWN ProjectDb on the project path (one SQLite
// connection per thread); it keeps it open between requests for the same path. After
// openReadOnly() it opens that path read-only (no writer lock) and refuses the requests
// that would write the project (import, train, model import, compute, retrain,
// cross-validation) with
// Status::unsupported; loading the engine, ranking and export work.
//
// Cancellation: cooperative. JobController sets the shared CancelFlag and raises
// `cancelledBefore`; a job whose id is below it is skipped, a running one sees the flag
// at its next chunk boundary and the engine returns Status::cancelled() with finished
// chunks committed, so the next run resumes.
//
// Ownership: the controller creates it, moves it to the thread and deletes it there.

#include "model/crossvalidation.h"
#include "evaluation/evaluation.h"
#include "index/clusterjob.h"
#include "exportrequest.h"
#include "influence/influenceindex.h"
#include "jobkind.h"
#include "metatypes.h"
#include "util/progress.h"
#include "projectplan.h"
#include "util/status.h"

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QVector>

#include <atomic>
#include <memory>

namespace traclens {

class ProjectDb;

// What the person agreed to before a compute: run the active model although its directory
// is outside the project (modeltrust.h), and recompute the factors of checkpoints whose
// file changed (checkpointcheck.h). Both are recorded in the project before computing.
struct ModelConsent {
    bool trustModel = false;
    bool acceptChangedCheckpoints = false;
};

// The clusters of one class (clusterClass()): the set, or the status that says why there
// is none; `store` holds the factors they came from, for the next class (null when they
// could not be loaded).
struct ClusterOutcome {
    int classIdx = -1;
    ClusterSpace space = ClusterSpace::TracIn;
    Status status;
    ClusterSetRow set;
    std::shared_ptr<const FactorStore> store;
};

// The results and progress of background jobs, declared once: JobWorker emits them on
// its thread and JobController re-emits them, queued, on the GUI thread (connecting to
// the controller keeps receivers — and QSignalSpy in tests — on one thread).
class JobEvents : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;

signals:
    void started(qint64 jobId, traclens::JobKind kind);
    // stage/detail as the engine reports them; total 0 when unknown.
    void progress(qint64 jobId, const QString &stage, const QString &detail, qint64 done, qint64 total);
    // One step of a plan (or a single job) finished; status may be cancelled or an error.
    void stepFinished(qint64 jobId, traclens::JobKind kind, const traclens::Status &status);
    // The request as a whole finished (kind is the request's kind).
    void finished(qint64 jobId, traclens::JobKind kind, const traclens::Status &status);
    // The stored self-influence of the model whose engine is loading, read on the worker's
    // connection (ids highest value first) so the GUI thread need not; before engineLoaded.
    void selfInfluenceLoaded(qint64 jobId, qint64 modelId, const QVector<qint64> &ids, const QVector<double> &values);
    // A freshly loaded engine; shared so that the GUI and its query threads can hold it.
    void engineLoaded(qint64 jobId, std::shared_ptr<traclens::InfluenceIndex> engine);
    // The plan stopped because the project has no model and the plan says none is coming.
    void modelMissing(qint64 jobId);
    // Training example ids, review-first; `name` says by what ("loss (last-1, η)").
    void rankingReady(qint64 jobId, int rankingKind, const QString &name, const QVector<qint64> &ids);
    // Test accuracy of the previous and the new model (−1 without a test split) and how
    // many label changes were made since the previous model was trained.
    void retrained(qint64 jobId, qint64 newModelId, double accuracyBefore, double accuracyAfter,
                   qint64 labelChanges);
    // The evaluation's report.json, written.
    void evaluationReady(qint64 jobId, const QString &reportFile);
    // The outcome of clusterClass(), before finished().
    void clustersReady(qint64 jobId, const traclens::ClusterOutcome &outcome);
};

class JobWorker : public JobEvents {
    Q_OBJECT
public:
    // `cancel` and `cancelledBefore` are owned by the controller and outlive the worker.
    JobWorker(CancelFlag *cancel, const std::atomic<qint64> *cancelledBefore, QObject *parent = nullptr);
    ~JobWorker() override;

    // Minimum interval between two progress signals of the same stage.
    static constexpr int kProgressIntervalMs = 50;

    // --- requests (worker thread). `jobId` comes from JobController.
    // Does whatever the project still lacks, in order (runPipeline, pipeline.h): import
    // the plan's dataset, get a model (train or import, as the plan says), compute
    // factors; then loads the engine. Each finished step is reported by stepFinished; the
    // whole by finished(Plan). The single jobs below run the same steps.
    void runPlan(qint64 jobId, const QString &projectPath, const ProjectPlan &plan);
    void importDataset(qint64 jobId, const QString &projectPath, const QString &datasetPath);
    void trainModel(qint64 jobId, const QString &projectPath, const TrainConfig &config, const QString &name);
    void importModel(qint64 jobId, const QString &projectPath, const QString &directory, bool copyIntoProject);
    // Computes the active model's missing factors (resumes), then loads the engine. A model
    // that is not trusted or whose checkpoint files changed fails the job unless `consent`
    // says the person agreed (the GUI asks, then queues it again with consent).
    void computeFactors(qint64 jobId, const QString &projectPath, ModelConsent consent = {});
    void loadEngine(qint64 jobId, const QString &projectPath);
    void exportFiles(qint64 jobId, const QString &projectPath, const ExportRequest &request);
    // Orders the active model's training examples for review (ranking.h, the kind's
    // default checkpoint policy); the order arrives by rankingReady.
    void rankExamples(qint64 jobId, const QString &projectPath, int rankingKind);
    // The same for a full spec (the project's default, ProjectSession::defaultSpec());
    // rankingReady carries int(spec.kind).
    void rankBySpec(qint64 jobId, const QString &projectPath, const RankingSpec &spec);
    // Trains a new built-in CNN on the project's current labels with the active model's
    // configuration (retrain.h), makes it active and reports by retrained(). Queue a
    // computeFactors behind it for the new model's factors.
    void retrainWithCorrections(qint64 jobId, const QString &projectPath);
    // K-fold cross-validation of the built-in CNN (crossvalidation.h): resumes a run with
    // the same configuration and training set, keeps finished folds when cancelled.
    void crossValidate(qint64 jobId, const QString &projectPath, const CrossValidationConfig &config);
    // The mislabel-detection evaluation (evaluation.h) on a fresh project in
    // config.workDirectory — never the open project — and its report written to
    // `outDirectory`; the report.json path arrives by evaluationReady. With
    // `calibrateProject`, the best measured ranking then becomes that project's default
    // review queue (calibration.h), written on this thread's own connection to it.
    void runMislabelEvaluation(qint64 jobId, const EvaluationConfig &config, const QString &outDirectory,
                               const QString &calibrateProject = {});
    // The clusters of one class of `modelId` (clusterjob.h): the stored set when it is up to
    // date, else computed and stored. `store` (may be null) holds the factors of an earlier
    // call, reused while no example changed. The outcome arrives by clustersReady.
    void clusterClass(qint64 jobId, const QString &projectPath, qint64 modelId, int classIdx, ClusterSpace space,
                      std::shared_ptr<const FactorStore> store);
    // Closes the worker's connection (e.g. before the GUI opens another project).
    void closeProject();
    // From now until closeProject(), `projectPath` is opened read-only (see above).
    void openReadOnly(const QString &projectPath);

private:
    bool beginJob(qint64 jobId, JobKind kind);
    Status ensureDb(const QString &projectPath);
    // ensureDb(), then the active model's id; NotFound when the project has none.
    Result<int64_t> activeModel(const QString &projectPath);
    ProgressFn progressFn(qint64 jobId);
    Status stepImport(qint64 jobId, const QString &datasetPath);
    Status stepTrain(qint64 jobId, const TrainConfig &config, const QString &name);
    Status stepImportModel(qint64 jobId, const QString &directory, bool copyIntoProject = false);
    Status stepCompute(qint64 jobId, int64_t modelId);
    Status stepLoadEngine(qint64 jobId, int64_t modelId);
    Status report(qint64 jobId, JobKind kind, Status status);
    // Unsupported when the open project is read-only (requireWritable, pipeline.h): the
    // guard of every writing job.
    Status checkWritable() const;

    CancelFlag *m_cancel;
    const std::atomic<qint64> *m_cancelledBefore;
    std::unique_ptr<ProjectDb> m_db;
    QString m_readOnlyPath; // the project opened read-only, empty when none
    QElapsedTimer m_sinceEmit;
    QString m_lastStage;
};

} // namespace traclens

Q_DECLARE_METATYPE(traclens::ClusterOutcome)
