#pragma once
// The open project as the GUI sees it: the GUI thread's own ProjectDb connection, the
// examples and classes held in memory for the views, the active model, self-influence,
// the loaded InfluenceIndex (once factors exist; the same query path as `traclens-cli
// query`), the thumbnail cache and the undo stack of label edits.
//
// Edits (relabel, review marks) are written to the project file at once, in one
// transaction each, and then announced with exampleChanged(). Scores follow the labels:
// a relabel forms the example's factors again with the new label in the file
// (ProjectDb::relabel) and in the loaded index, updates its self-influence and reorders
// the review queue (reviewOrderChanged) before exampleChanged() is emitted.
//
// Ownership: owns its ProjectDb, ThumbnailCache and QUndoStack; shares the engine with
// query threads (shared_ptr). Thread safety: GUI thread only; the engine it hands out is
// safe for concurrent const use.

#include "influence/influenceindex.h"
#include "data/imagedecoder.h"
#include "metatypes.h"
#include "store/projectdb.h"
#include "influence/ranking.h"
#include "model/crossvalidation.h"

#include <QHash>
#include <QObject>
#include <QStringList>
#include <QVector>

#include <memory>
#include <optional>

class QUndoStack;

namespace traclens {

class ThumbnailCache;

class ProjectSession : public QObject {
    Q_OBJECT
public:
    // Opens (or with `create`, creates) the project and reads it. Fails with the
    // engine's message (not a project, newer schema, busy, ...).
    static Result<std::unique_ptr<ProjectSession>> open(const QString &path, bool create = false);
    // Opens the project read-only (ProjectDb::OpenMode::ReadOnly): no writer lock, so it
    // works while another TracLens has the project open. Browsing and influence queries
    // work; every edit is refused with readOnlyStatus() (and editFailed()).
    static Result<std::unique_ptr<ProjectSession>> openReadOnly(const QString &path);
    ~ProjectSession() override;

    ProjectDb &db() { return *m_db; }
    QString path() const;
    QString displayName() const; // file name without extension

    // --- reading; reload*() re-read from the file and emit the matching signal.
    Status reload();             // everything below
    Status reloadExamples();     // dataset, classes, examples → examplesReset
    // Active model, epochs and (unless `withSelfInfluence` is false) self-influence →
    // modelChanged. Reading 70k self-influence rows takes tens of milliseconds; after a
    // computation the worker reads them instead (setSelfInfluence()). The thumbnails
    // follow the model's decode style (ThumbnailCache::setDecodeStyle).
    Status reloadModel(bool withSelfInfluence = true);
    // Self-influence of `modelId` read elsewhere (ids by value, highest first, as
    // ProjectDb::selfInfluence returns them); ignored unless it is the active model.
    // Replaces the session's values → modelChanged.
    void setSelfInfluence(int64_t modelId, const QVector<qint64> &ids, const QVector<double> &values);

    bool hasDataset() const { return m_dataset.has_value(); }
    const std::optional<DatasetInfo> &dataset() const { return m_dataset; }
    const std::vector<ExampleRow> &examples() const { return m_examples; }
    const ExampleRow *example(qint64 id) const;
    int indexOf(qint64 id) const { return m_indexById.value(id, -1); }
    int64_t countOf(Split split) const;
    int64_t reviewedCount(Split split) const;
    int64_t editedCount() const;

    const QStringList &classNames() const { return m_classNames; }
    int numClasses() const { return int(m_classNames.size()); }
    QString className(int label) const;

    std::optional<int64_t> modelId() const { return m_modelId; }
    const std::optional<ModelRow> &model() const { return m_model; }
    const std::vector<EpochRow> &epochs() const { return m_epochs; }

    // Self-influence of an example (with its current label); NaN before factors are computed.
    double selfInfluence(qint64 id) const;
    // The label the active model was trained with, when the example's current label
    // differs from it (scores are formed with the current label); nullopt otherwise.
    std::optional<int> trainedLabel(qint64 id) const;
    bool hasSelfInfluence() const { return !m_selfInfluence.isEmpty(); }
    // Training examples in review order. By default the project's default ranking
    // (defaultSpec()); until its order is at hand a stand-in (the loss at the last
    // checkpoint from the loaded engine, stored self-influence before that); or whatever
    // setReviewOrder() chose.
    const std::vector<qint64> &reviewQueue() const { return m_reviewQueue; }
    // What the queue is ordered by, for people ("loss (last-1, η)").
    const QString &reviewOrderName() const { return m_reviewOrderName; }
    // The RankingKind (as int) the queue is ordered by; -1 for an order given by hand.
    int reviewOrderKind() const { return m_reviewOrderKind; }
    // True while the queue follows the default ranking (or its stand-in before the engine).
    bool reviewOrderIsDefault() const { return m_reviewOrderIsDefault; }
    // Training examples by self-influence, highest first (the histogram's population).
    const std::vector<qint64> &selfInfluenceRanking() const { return m_selfRanking; }
    // Replaces the review order (ids from ranking.h); emits reviewOrderChanged.
    void setReviewOrder(const std::vector<qint64> &ids, const QString &name, int kind = -1);
    // Back to the default ranking; emits reviewOrderChanged.
    void resetReviewOrder();
    // The project's default ranking (calibration.h projectDefaultRanking(): its measured
    // default, else the ensemble with cross-validation, else the loss), read on open, by
    // reloadModel() and by reloadDefaultRanking().
    const RankingSpec &defaultSpec() const { return m_defaultSpec; }
    // Confident learning's estimate of the wrong labels from the project's finished cross-
    // validation (storedLabelNoiseEstimate(): made once per run, it picks the default between
    // the ensemble and cv-boundary); nullopt without a finished run. Read with defaultSpec().
    const std::optional<LabelNoiseEstimate> &labelNoise() const { return m_labelNoise; }
    // Reads the project's default again (after a calibration or a cross-validation) →
    // defaultRankingChanged, and reviewOrderChanged when the queue follows the default.
    void reloadDefaultRanking();
    // True while the queue shows a stand-in because the default's order needs a rank job;
    // defaultRankingWanted() asked for it.
    bool defaultOrderPending() const { return m_defaultPending; }
    // The order of defaultSpec() computed on the worker for `modelId`. Ignored when the
    // model or the default changed meanwhile; applied at once (reviewOrderChanged) when the
    // queue still follows the default — a person's own choice is never replaced.
    void setDefaultOrder(int64_t modelId, const RankingSpec &spec, const std::vector<qint64> &ids);
    // TracIn self-influence as published (every checkpoint, η); emits reviewOrderChanged.
    void useSelfInfluenceOrder();

    std::shared_ptr<const InfluenceIndex> engine() const { return m_engine; }
    // The session updates the index after relabels (InfluenceIndex::updateExample()).
    void setEngine(std::shared_ptr<InfluenceIndex> engine);

    ThumbnailCache *thumbnails() const { return m_thumbnails; }
    QUndoStack *undoStack() const { return m_undoStack; }

    // --- editing (written at once)
    bool isReadOnly() const { return m_db->isReadOnly(); }
    // Unsupported, saying the project is open read-only; what every refused edit returns.
    static Status readOnlyStatus();
    // False (after emitting editFailed(readOnlyStatus())) when the session is read-only;
    // pages call it before they push an edit onto the undo stack.
    bool checkWritable();
    // Sets the current label (appending history with `origin`) and the review mark of one
    // example in one transaction.
    Status applyDecision(qint64 id, int label, ReviewState review, const std::string &origin);

signals:
    void examplesReset();
    void exampleChanged(qint64 id);
    void modelChanged();
    void engineChanged();
    void reviewOrderChanged();
    // The default ranking's order cannot come from the loaded engine: whoever owns the
    // worker computes defaultSpec() for the active model and hands it to setDefaultOrder().
    void defaultRankingWanted();
    void defaultRankingChanged();
    // An edit could not be written; the GUI shows it (undo commands cannot return errors).
    void editFailed(const traclens::Status &status);

private:
    explicit ProjectSession(std::unique_ptr<ProjectDb> db);
    static Result<std::unique_ptr<ProjectSession>> openWith(const QString &path, ProjectDb::OpenMode mode);
    // Sets the queue to the default ranking without emitting (see resetReviewOrder()).
    void applyDefaultOrder();
    // m_labelNoise from the project's meta (after projectDefaultRanking(), which makes it).
    void readLabelNoise();
    // After a relabel of `id`: the loaded index's row, self-influence, the self-influence
    // ranking, the labels the model was trained with, and the queue (reviewOrderChanged
    // when its order changed).
    Status refreshScores(qint64 id, int label);
    Status reloadTrainedLabels();

    std::unique_ptr<ProjectDb> m_db;
    std::optional<DatasetInfo> m_dataset;
    QStringList m_classNames;
    std::vector<ExampleRow> m_examples;
    QHash<qint64, int> m_indexById;
    std::optional<int64_t> m_modelId;
    std::optional<ModelRow> m_model;
    std::vector<EpochRow> m_epochs;
    QHash<qint64, double> m_selfInfluence;
    std::vector<qint64> m_reviewQueue;
    std::vector<qint64> m_selfRanking;
    QString m_reviewOrderName;
    int m_reviewOrderKind = -1;
    bool m_reviewOrderIsDefault = true;
    RankingSpec m_defaultSpec;
    std::optional<LabelNoiseEstimate> m_labelNoise;
    bool m_defaultPending = false;
    bool m_defaultRequested = false;          // defaultRankingWanted() sent for this model and spec
    std::vector<qint64> m_defaultOrder;       // setDefaultOrder()'s ids, for m_defaultOrderModel
    std::optional<int64_t> m_defaultOrderModel;
    std::shared_ptr<InfluenceIndex> m_engine;
    QHash<qint64, int> m_trainedLabels;
    ThumbnailCache *m_thumbnails;
    QUndoStack *m_undoStack;
};

} // namespace traclens
