#pragma once
// The project file: one SQLite database (WAL mode) that holds everything TracLens
// knows about a dataset and its models. This class is the only place that speaks SQL.
//
// Contents: the dataset source and its classes; the examples (stable id, source,
// split, given label, content hash); the label history (every relabel is a row; the
// current label derives from it and is kept in examples.current_label within the same
// transaction); review marks; models, their checkpoints (file, learning rate, order,
// and the file's size, time and SHA-256) and training curves; trust records of model
// directories outside the project; per example and checkpoint the TracIn factors
// e (K floats) and h (D floats), loss, predicted class and probabilities;
// self-influence; the out-of-fold terms of a K-fold cross-validation run (schema 4);
// job progress.
//
// Paths: a model directory inside sideDirectory() is stored relative to it, a checkpoint
// file inside its model directory relative to that, so the project file and its .d
// folder move together; the API always answers absolute paths.
//
// Schema: versioned (meta.schema_version) with step-wise migrations applied on open
// inside a transaction. A file whose schema is newer than this program is refused,
// untouched, with a message saying so.
//
// Ownership and threads: one ProjectDb per thread (SQLite connections are not shared);
// open another on the same path for a worker thread. Instances are not thread-safe.
// Busy handling: a 5 s busy timeout; writers use short transactions.
// Failure: every call returns Status/Result; messages name the project file.

#include "data/dataset.h"
#include "util/progress.h"
#include "util/status.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace traclens {

class ProjectLock;

constexpr int kSchemaVersion = 4;

enum class ReviewState : int { None = 0, Reviewed = 1, Skipped = 2 };

struct ExampleRow {
    int64_t id = 0;
    std::string source;        // see ScannedExample::source
    Split split = Split::Train;
    int givenLabel = 0;        // label as imported
    int currentLabel = 0;      // after relabels
    std::string contentHash;
    int64_t fileSize = -1;
    int64_t fileMtime = -1;
    ReviewState review = ReviewState::None;
};

struct LabelChange {
    int64_t id = 0;            // history row id
    int64_t exampleId = 0;
    int oldLabel = 0;
    int newLabel = 0;
    int64_t timeMs = 0;        // ms since epoch, UTC
    std::string origin;        // "user", "undo", "redo", "cli"
};

struct DatasetInfo {
    SourceKind kind = SourceKind::ImageFolder;
    std::string root;          // absolute
    std::string importedFrom;  // the path the user chose (folder, CSV file or IDX folder)
    std::vector<std::string> classes;
};

struct CheckpointRow {
    int64_t id = 0;
    int64_t modelId = 0;
    int order = 0;             // 0-based training order
    std::string file;          // absolute path (stored relative to the model directory)
    double learningRate = 0.0;
    // The file's identity when it was registered (schema 3): size in bytes, modification
    // time (file-clock ticks, compared only for equality) and SHA-256 as hex. -1/-1/""
    // for a checkpoint registered before schema 3 until its file is first verified.
    int64_t fileSize = -1;
    int64_t fileMtime = -1;
    std::string contentHash;
};

// A model directory outside the project that the user agreed to run (schema 3). The
// token binds directory and manifest hash to a key of this user (see modeltrust.h), so a
// row copied into a project by someone else does not count as trust.
struct TrustedModelDir {
    std::string directory;     // canonical absolute path
    std::string manifestHash;  // SHA-256 of traclens-model.json when trusted
    std::string token;
    int64_t trustedMs = 0;
};

struct EpochRow {
    int epoch = 0;
    double learningRate = 0.0, trainLoss = 0.0, trainAccuracy = 0.0;
    double testLoss = -1.0, testAccuracy = -1.0;
};

struct ModelRow {
    int64_t id = 0;
    std::string name;
    std::string directory;     // absolute; holds traclens-model.json. Stored relative to
                               // sideDirectory() when inside it, so the project folder can move
    int numClasses = 0;
    int embeddingDim = 0;      // 0 until known
    int64_t createdMs = 0;
};

// One example's factors at one checkpoint.
struct FactorRow {
    int64_t exampleId = 0;
    float loss = 0.0f;
    int predicted = 0;
    int labelUsed = 0;         // the label e was formed with
    std::vector<float> error;  // e, K floats
    std::vector<float> embedding; // h, D floats
    std::vector<float> probs;  // K floats
};

// One cluster of a class: its members ordered by similarity to the cluster's centroid,
// highest first; the first ClusterSetRow::representatives of them are its medoids.
struct ClusterMember {
    int64_t exampleId = 0;
    double similarity = 0.0;   // cosine to the centroid in the set's space
};
struct ClusterRow {
    int index = 0;             // 0-based, clusters ordered by size, largest first
    std::vector<ClusterMember> members;
};
// A clustering of the training examples of one class in one space.
struct ClusterSetRow {
    int64_t id = 0;
    int64_t modelId = 0;
    std::string space;         // "tracin" or "embedding"
    int classIdx = 0;
    std::string fingerprint;   // factors and parameters it was computed from
    int requestedK = 0;        // 0 = chosen automatically (silhouette)
    double silhouette = 0.0;   // mean silhouette of the chosen k (on a sample)
    int representatives = 0;   // medoids per cluster
    int64_t createdMs = 0;
    std::vector<ClusterRow> clusters;
};

// A K-fold cross-validation run of the built-in CNN (schema 4, crossvalidation.h). At
// most one run is stored: starting a run deletes every earlier one.
struct CrossValidationRunRow {
    int64_t id = 0;
    int folds = 0;
    std::string configJson;    // the configuration it was started with
    std::string fingerprint;   // configuration + training ids and their labels at the start
    int64_t createdMs = 0;
};

// One held-out example at one checkpoint of the fold model that did not train on it.
struct CrossValidationTermRow {
    int64_t exampleId = 0;
    int checkpoint = 0;        // 0-based, in training order
    int fold = 0;
    std::vector<float> probs;  // K softmax probabilities
    float featureNorm = 0.0f;  // ‖h‖² of the embedding fed to fc
};

struct JobRow {
    std::string name;          // e.g. "compute:3"
    std::string state;         // "running", "done", "cancelled", "failed"
    int64_t done = 0, total = 0;
    int64_t updatedMs = 0;
    std::string message;
};

class ProjectDb {
public:
    enum class OpenMode { ReadWrite, Create, ReadOnly };

    ~ProjectDb();
    ProjectDb(const ProjectDb &) = delete;
    ProjectDb &operator=(const ProjectDb &) = delete;

    // Create: makes a new file (or opens an existing project). ReadWrite: the file must
    // exist and be a TracLens project. Migrates older schemas; refuses newer ones.
    // ReadWrite and Create take the process's writer lock (ProjectLock): when another
    // process has the project open for writing they fail with Busy ("the project is open
    // in another TracLens (pid N); open it read-only or close the other one"). ReadOnly
    // opens take no lock and work beside a writer.
    static Result<std::unique_ptr<ProjectDb>> open(const std::string &path, OpenMode mode = OpenMode::ReadWrite);

    const std::string &path() const { return m_path; }
    // "<project>.d": where models and indexes live beside the project file.
    std::string sideDirectory() const;
    bool isReadOnly() const { return m_readOnly; }

    // Scope-bound transaction: BEGIN IMMEDIATE on construction, ROLLBACK on destruction
    // unless commit() succeeded. Nested transactions are counted: only the outermost
    // one talks to SQLite.
    class Transaction {
    public:
        explicit Transaction(ProjectDb &db);
        ~Transaction();
        Status status() const { return m_begin; } // failure to begin (e.g. busy)
        Status commit();
    private:
        ProjectDb &m_db;
        Status m_begin;
        bool m_done = false;
    };

    // --- meta
    Status setMeta(const std::string &key, const std::string &value);
    Result<std::optional<std::string>> meta(const std::string &key);
    int schemaVersion() const { return m_schemaVersion; }

    // --- dataset and examples
    Status setDataset(const DatasetInfo &info);
    Result<std::optional<DatasetInfo>> dataset();
    Result<std::vector<std::string>> classes();
    // Inserts or updates by source. Returns the id.
    Result<int64_t> upsertExample(const ScannedExample &ex, const std::string &contentHash);
    // Marks examples not in `keepIds` (of the current dataset) as removed; removed examples
    // keep their history but leave all listings.
    Status removeExamplesExcept(const std::vector<int64_t> &keepIds);
    Status replaceSkipped(const std::vector<SkippedFile> &skipped);
    Result<std::vector<SkippedFile>> skipped();
    // All live examples ordered by id; `split` filters when given.
    Result<std::vector<ExampleRow>> examples(std::optional<Split> split = std::nullopt);
    Result<ExampleRow> example(int64_t id);
    Result<int64_t> exampleCount(std::optional<Split> split = std::nullopt);

    // --- labels and review
    // Appends a history row and updates the current label in one transaction, and in
    // the same transaction forms the example's stored factors again with the new label
    // (refreshFactorLabels()), so every score follows the label the screen shows.
    // Relabelling to the current label writes nothing and returns a change with id 0.
    Result<LabelChange> relabel(int64_t exampleId, int newLabel, const std::string &origin = "user");
    // Scores follow the current label. e = p − onehot(y) and the loss −log p[y] derive
    // from the stored probabilities (relabelFactorRow() in factors.h), so a label change
    // needs no inference: this rewrites e, loss and label_used of every factor row of the
    // example with `label`, and its self-influence for every model whose self-influence
    // was stored (summed in checkpoint order, as computeSelfInfluence() does, so the value
    // equals a computation from scratch with that label). Call inside a transaction.
    Status refreshFactorLabels(int64_t exampleId, int label);
    // refreshFactorLabels() for every example whose stored factors were formed with
    // another label than its current one (a re-import that changed given labels, or a
    // project written before scores followed labels). One transaction; cheap when none.
    Result<int64_t> syncFactorLabels();
    // The labels examples had when a model was added to the project (what a built-in
    // model was trained with), for the examples whose current label differs from it:
    // example id → that label. Derived from the label history and the model's creation
    // time.
    Result<std::vector<std::pair<int64_t, int>>> labelsChangedSince(int64_t modelId);
    Result<std::vector<LabelChange>> labelHistory(std::optional<int64_t> exampleId = std::nullopt);
    Status setReview(int64_t exampleId, ReviewState state);

    // --- models
    Result<int64_t> addModel(const ModelRow &model, const std::vector<CheckpointRow> &checkpoints);
    Result<std::vector<ModelRow>> models();
    Result<ModelRow> model(int64_t id);
    Status setModelEmbeddingDim(int64_t modelId, int dim);
    Result<std::vector<CheckpointRow>> checkpoints(int64_t modelId);
    Status setEpochs(int64_t modelId, const std::vector<EpochRow> &epochs);
    Result<std::vector<EpochRow>> epochs(int64_t modelId);
    // The model the views use (meta "active_model"); the newest one if unset.
    Result<std::optional<int64_t>> activeModel();
    Status setActiveModel(int64_t modelId);
    // Records the identity of a checkpoint's file (see CheckpointRow); schema 3.
    Status setCheckpointIdentity(int64_t checkpointId, int64_t fileSize, int64_t fileMtime,
                                 const std::string &contentHash);
    // Drops the factors of one checkpoint and the self-influence of its model (derived
    // from them), in one transaction; other checkpoints' factors stay.
    Status dropCheckpointFactors(int64_t checkpointId);
    // Trust records of model directories outside the project (schema 3; a read-only open
    // of an older file has none).
    Status addTrustedModelDir(const TrustedModelDir &dir);
    Result<std::optional<TrustedModelDir>> trustedModelDir(const std::string &directory);

    // --- factors
    // Writes rows for one checkpoint; call inside a Transaction for chunking.
    Status writeFactors(int64_t checkpointId, const std::vector<FactorRow> &rows);
    // Live example ids lacking factors for this checkpoint, ordered by id.
    Result<std::vector<int64_t>> examplesMissingFactors(int64_t checkpointId);
    Result<int64_t> factorCount(int64_t checkpointId);
    // Streams every factor row of a checkpoint in example-id order (live examples only).
    Status forEachFactor(int64_t checkpointId, const std::function<void(const FactorRow &)> &fn);
    Result<std::optional<FactorRow>> factor(int64_t checkpointId, int64_t exampleId);
    Status deleteFactorsForExample(int64_t exampleId);

    // --- self-influence (per model)
    Status writeSelfInfluence(int64_t modelId, const std::vector<std::pair<int64_t, double>> &values);
    // (example id, value) for live examples, ordered by value descending.
    Result<std::vector<std::pair<int64_t, double>>> selfInfluence(int64_t modelId);

    // --- clusters (schema 2)
    // Replaces the set of (modelId, space, classIdx) with `set` in one transaction; sets
    // set.id to the new row id.
    Status writeClusterSet(ClusterSetRow &set);
    // The stored set with its members, or nullopt when none was computed.
    Result<std::optional<ClusterSetRow>> clusterSet(int64_t modelId, const std::string &space, int classIdx);
    // Class indices that have a stored set (any fingerprint) for the model and space.
    Result<std::vector<int>> clusterClasses(int64_t modelId, const std::string &space);
    // Live examples as (id, current label) in id order: the examples() columns that large
    // computations need, without building a row with strings per example.
    Result<std::vector<std::pair<int64_t, int>>> exampleLabels(std::optional<Split> split = std::nullopt);

    // --- cross-validation (schema 4; a read-only open of an older file has none)
    // The stored run, or nullopt.
    Result<std::optional<CrossValidationRunRow>> crossValidationRun();
    // Deletes every stored run with its folds and terms and inserts `run` (its id is
    // ignored), in one transaction. Returns the new run's id, never one used before in
    // this project.
    Result<int64_t> startCrossValidationRun(const CrossValidationRunRow &run);
    // The finished folds of a run, ascending, with the learning rate of each checkpoint
    // of the fold's model.
    Result<std::vector<std::pair<int, std::vector<double>>>> crossValidationFolds(int64_t runId);
    // Writes the terms of one fold and marks it finished, in one transaction.
    Status writeCrossValidationFold(int64_t runId, int fold, const std::vector<double> &learningRates,
                                    const std::vector<CrossValidationTermRow> &rows);
    // Streams a run's terms of live examples ordered by (example id, checkpoint).
    // Corruption when a stored value is damaged.
    Status forEachCrossValidationTerm(int64_t runId, const std::function<void(const CrossValidationTermRow &)> &fn);

    // --- jobs
    Status setJob(const JobRow &job);
    Result<std::optional<JobRow>> job(const std::string &name);

    // Runs PRAGMA integrity_check; ok when SQLite answers "ok".
    Status integrityCheck();

    // Low-level access for the engine's own SQL helpers (the statement cache lives here).
    sqlite3 *handle() const { return m_db; }

private:
    ProjectDb() = default;
    Status exec(const char *sql);
    Status migrate();
    Status storeModelPathsRelative(); // the C++ half of the 2 → 3 step
    Status begin();
    Status commitTop();
    void rollbackTop();
    sqlite3_stmt *prepare(const char *sql, Status *status); // cached; reset before returned
    Status error(const char *what) const;
    template <typename T, typename Read>
    Result<std::vector<T>> collectRows(sqlite3_stmt *st, const char *what, Read read) const;
    template <typename T, typename Read>
    Result<std::vector<T>> collectCheckedRows(sqlite3_stmt *st, const char *what, Read read) const;

    sqlite3 *m_db = nullptr;
    std::string m_path;
    bool m_readOnly = false;
    int m_schemaVersion = 0;
    int m_txDepth = 0;
    struct StatementCache;
    std::unique_ptr<StatementCache> m_statements;
    std::shared_ptr<ProjectLock> m_lock; // released after the connection closes
};

} // namespace traclens
