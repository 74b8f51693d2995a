#include "projectsession.h"

#include "evaluation/calibration.h"
#include "store/factors.h"
#include "model/modelspec.h"
#include "influence/ranking.h"
#include "thumbnailcache.h"

#include <QFileInfo>
#include <QUndoStack>

#include <cmath>

namespace traclens {

namespace {
bool sameSpec(const RankingSpec &a, const RankingSpec &b)
{
    return a.kind == b.kind && a.checkpoints == b.checkpoints && a.seed == b.seed;
}
} // namespace

Result<std::unique_ptr<ProjectSession>> ProjectSession::open(const QString &path, bool create)
{
    return openWith(path, create ? ProjectDb::OpenMode::Create : ProjectDb::OpenMode::ReadWrite);
}

Result<std::unique_ptr<ProjectSession>> ProjectSession::openReadOnly(const QString &path)
{
    return openWith(path, ProjectDb::OpenMode::ReadOnly);
}

Result<std::unique_ptr<ProjectSession>> ProjectSession::openWith(const QString &path, ProjectDb::OpenMode mode)
{
    auto db = ProjectDb::open(path.toStdString(), mode);
    if (!db.ok())
        return db.status();
    std::unique_ptr<ProjectSession> session(new ProjectSession(std::move(db).value()));
    if (Status s = session->reload(); !s)
        return s;
    return session;
}

ProjectSession::ProjectSession(std::unique_ptr<ProjectDb> db)
    : m_db(std::move(db)), m_thumbnails(new ThumbnailCache(this)), m_undoStack(new QUndoStack(this))
{
}

ProjectSession::~ProjectSession()
{
    // Commands refer to this session; drop them first.
    m_undoStack->clear();
}

QString ProjectSession::path() const { return QString::fromStdString(m_db->path()); }

QString ProjectSession::displayName() const { return QFileInfo(path()).completeBaseName(); }

Status ProjectSession::reload()
{
    TL_RETURN_IF_ERROR(reloadExamples());
    return reloadModel();
}

Status ProjectSession::reloadExamples()
{
    auto info = m_db->dataset();
    if (!info.ok())
        return info.status();
    auto rows = m_db->examples();
    if (!rows.ok())
        return rows.status();

    const bool storeChanged = !m_dataset || !info.value() || m_dataset->root != info.value()->root
                              || m_dataset->kind != info.value()->kind;
    m_dataset = info.value();
    m_classNames.clear();
    if (m_dataset)
        for (const std::string &c : m_dataset->classes)
            m_classNames << QString::fromStdString(c);
    m_examples = std::move(rows).value();
    m_indexById.clear();
    m_indexById.reserve(int(m_examples.size()));
    for (int i = 0; i < int(m_examples.size()); ++i)
        m_indexById.insert(m_examples[size_t(i)].id, i);
    if (storeChanged)
        m_thumbnails->setStore(m_dataset ? std::make_shared<const ImageStore>(m_dataset->kind, m_dataset->root)
                                         : nullptr);
    emit examplesReset();
    return Status::ok();
}

Status ProjectSession::reloadModel(bool withSelfInfluence)
{
    // The default may change with the project (a calibration, a finished cross-validation);
    // a worker's order for another model or default is stale.
    const std::optional<int64_t> previousModel = m_modelId;
    const RankingSpec defaultBefore = m_defaultSpec;
    m_defaultSpec = projectDefaultRanking(*m_db);
    readLabelNoise();
    m_modelId.reset();
    m_model.reset();
    m_epochs.clear();
    m_selfInfluence.clear();
    m_reviewQueue.clear();
    m_selfRanking.clear();

    auto active = m_db->activeModel();
    if (!active.ok())
        return active.status();
    DecodeStyle style = DecodeStyle::Native;
    if (active.value()) {
        m_modelId = *active.value();
        auto model = m_db->model(*m_modelId);
        if (!model.ok())
            return model.status();
        m_model = model.value();
        // Thumbnails show the pixels the model was given: a torchvision model's decoding
        // ignores EXIF orientation. A manifest that cannot be read (the model folder
        // moved) leaves the native style; compute reports the problem.
        if (auto spec = readModelSpec(m_model->directory); spec.ok())
            style = decodeStyleFor(spec->input);
        auto epochs = m_db->epochs(*m_modelId);
        if (!epochs.ok())
            return epochs.status();
        m_epochs = epochs.value();
        TL_RETURN_IF_ERROR(reloadTrainedLabels());
        if (withSelfInfluence) {
            auto self = m_db->selfInfluence(*m_modelId);
            if (!self.ok())
                return self.status();
            m_selfInfluence.reserve(int(self.value().size()));
            for (const auto &[id, value] : self.value()) {
                m_selfInfluence.insert(id, value);
                const ExampleRow *row = example(id);
                if (row && row->split == Split::Train)
                    m_selfRanking.push_back(id);
            }
        }
    }
    m_thumbnails->setDecodeStyle(style);
    if (m_modelId != previousModel || !sameSpec(m_defaultSpec, defaultBefore)) {
        m_defaultOrder.clear();
        m_defaultOrderModel.reset();
        m_defaultRequested = false;
    }
    applyDefaultOrder();
    emit modelChanged();
    return Status::ok();
}

void ProjectSession::setSelfInfluence(int64_t modelId, const QVector<qint64> &ids, const QVector<double> &values)
{
    if (m_modelId != std::optional<int64_t>(modelId) || ids.size() != values.size())
        return;
    // Opening a project reads the same values here and on the worker; the views need no
    // second round of updates then.
    bool same = ids.size() == m_selfInfluence.size();
    for (qsizetype i = 0; same && i < ids.size(); ++i) {
        const auto it = m_selfInfluence.constFind(ids[i]);
        same = it != m_selfInfluence.constEnd() && *it == values[i];
    }
    if (same)
        return;
    m_selfInfluence.clear();
    m_selfInfluence.reserve(int(ids.size()));
    m_selfRanking.clear();
    for (qsizetype i = 0; i < ids.size(); ++i) {
        m_selfInfluence.insert(ids[i], values[i]);
        const ExampleRow *row = example(ids[i]);
        if (row && row->split == Split::Train)
            m_selfRanking.push_back(ids[i]);
    }
    if (m_reviewOrderIsDefault)
        applyDefaultOrder();
    emit modelChanged();
}

const ExampleRow *ProjectSession::example(qint64 id) const
{
    const int i = indexOf(id);
    return i < 0 ? nullptr : &m_examples[size_t(i)];
}

int64_t ProjectSession::countOf(Split split) const
{
    return std::count_if(m_examples.begin(), m_examples.end(), [split](const ExampleRow &r) { return r.split == split; });
}

int64_t ProjectSession::reviewedCount(Split split) const
{
    return std::count_if(m_examples.begin(), m_examples.end(), [split](const ExampleRow &r) {
        return r.split == split && r.review == ReviewState::Reviewed;
    });
}

int64_t ProjectSession::editedCount() const
{
    return std::count_if(m_examples.begin(), m_examples.end(),
                         [](const ExampleRow &r) { return r.currentLabel != r.givenLabel; });
}

QString ProjectSession::className(int label) const
{
    if (label >= 0 && label < m_classNames.size())
        return m_classNames[label];
    return QString::number(label);
}

double ProjectSession::selfInfluence(qint64 id) const
{
    return m_selfInfluence.value(id, std::nan(""));
}

void ProjectSession::setReviewOrder(const std::vector<qint64> &ids, const QString &name, int kind)
{
    m_reviewQueue = ids;
    m_reviewOrderName = name;
    m_reviewOrderKind = kind;
    m_reviewOrderIsDefault = false;
    emit reviewOrderChanged();
}

void ProjectSession::resetReviewOrder()
{
    applyDefaultOrder();
    emit reviewOrderChanged();
}

void ProjectSession::useSelfInfluenceOrder()
{
    const RankingSpec spec = defaultRankingFor(RankingKind::SelfInfluence);
    setReviewOrder(m_selfRanking, QString::fromStdString(spec.toString()), int(spec.kind));
}

void ProjectSession::applyDefaultOrder()
{
    // The default straight from what is in memory, so the queue never waits for a job:
    // the stored self-influence when the default is TracIn as published, the loaded
    // engine's values when it can give the default, the worker's answer once it came.
    // Otherwise a stand-in (the engine's loss at the last checkpoint, or self-influence
    // before the engine) shows at once and the real order is asked for.
    const RankingSpec &best = m_defaultSpec;
    const bool engineReady = m_engine && m_modelId && m_engine->modelId() == *m_modelId;
    auto use = [this](const std::vector<RankedExample> &ranked, const RankingSpec &spec) {
        m_reviewQueue.clear();
        m_reviewQueue.reserve(ranked.size());
        for (const RankedExample &r : ranked)
            m_reviewQueue.push_back(r.exampleId);
        m_reviewOrderName = QString::fromStdString(spec.toString());
        m_reviewOrderKind = int(spec.kind);
    };
    auto useSelfInfluence = [this] {
        const RankingSpec self = defaultRankingFor(RankingKind::SelfInfluence);
        m_reviewQueue = m_selfRanking;
        m_reviewOrderName = QString::fromStdString(self.toString());
        m_reviewOrderKind = int(self.kind);
    };
    m_reviewOrderIsDefault = true;
    m_defaultPending = false;
    if (sameSpec(best, defaultRankingFor(RankingKind::SelfInfluence))) {
        useSelfInfluence();
        return;
    }
    std::optional<std::vector<RankedExample>> ranked;
    if (engineReady)
        ranked = rankFromIndex(*m_engine, best);
    if (ranked) {
        use(*ranked, best);
        return;
    }
    if (m_modelId && m_defaultOrderModel == m_modelId && !m_defaultOrder.empty()) {
        m_reviewQueue = m_defaultOrder;
        m_reviewOrderName = QString::fromStdString(best.toString());
        m_reviewOrderKind = int(best.kind);
        return;
    }
    const RankingSpec standIn = defaultRanking();
    if (engineReady)
        ranked = rankFromIndex(*m_engine, standIn);
    if (ranked)
        use(*ranked, standIn);
    else
        useSelfInfluence();
    m_defaultPending = true;
    // The rank job reads the factors: ask once per model and default, and only once the
    // engine shows they are complete.
    if (engineReady && !m_defaultRequested) {
        m_defaultRequested = true;
        emit defaultRankingWanted();
    }
}

void ProjectSession::readLabelNoise()
{
    // projectDefaultRanking() has just made or read the estimate: this is the meta entry.
    m_labelNoise.reset();
    if (!hasFinishedCrossValidation(*m_db))
        return;
    if (auto noise = storedLabelNoiseEstimate(*m_db); noise.ok())
        m_labelNoise = *noise;
}

void ProjectSession::reloadDefaultRanking()
{
    const RankingSpec spec = projectDefaultRanking(*m_db);
    const bool changed = !sameSpec(spec, m_defaultSpec);
    m_defaultSpec = spec;
    readLabelNoise();
    if (changed) {
        m_defaultOrder.clear();
        m_defaultOrderModel.reset();
        m_defaultRequested = false;
    }
    emit defaultRankingChanged();
    if (changed && m_reviewOrderIsDefault) {
        applyDefaultOrder();
        emit reviewOrderChanged();
    }
}

void ProjectSession::setDefaultOrder(int64_t modelId, const RankingSpec &spec, const std::vector<qint64> &ids)
{
    if (m_modelId != std::optional<int64_t>(modelId) || !sameSpec(spec, m_defaultSpec))
        return;
    m_defaultOrder = ids;
    m_defaultOrderModel = modelId;
    if (m_reviewOrderIsDefault) {
        applyDefaultOrder();
        emit reviewOrderChanged();
    }
}

void ProjectSession::setEngine(std::shared_ptr<InfluenceIndex> engine)
{
    m_engine = std::move(engine);
    // An index loads on the worker while edits go on here: an example relabelled after
    // its factors were read is brought up to date now (a comparison per example; rare).
    if (m_engine && m_modelId && m_engine->modelId() == *m_modelId)
        for (const ExampleRow &row : m_examples) {
            const int used = m_engine->labelUsed(row.id);
            if (used >= 0 && used != row.currentLabel)
                if (Status s = refreshScores(row.id, row.currentLabel); !s)
                    emit editFailed(s);
        }
    if (m_reviewOrderIsDefault) {
        const std::vector<qint64> before = m_reviewQueue;
        applyDefaultOrder();
        if (m_reviewQueue != before)
            emit reviewOrderChanged();
    }
    emit engineChanged();
}

Status ProjectSession::readOnlyStatus()
{
    return Status::unsupported("the project is open read-only (another TracLens has it open for writing); "
                               "labels and review marks cannot be changed here");
}

bool ProjectSession::checkWritable()
{
    if (!isReadOnly())
        return true;
    emit editFailed(readOnlyStatus());
    return false;
}

Status ProjectSession::applyDecision(qint64 id, int label, ReviewState review, const std::string &origin)
{
    // Refused here, before SQLite would refuse it with a less helpful message.
    if (isReadOnly()) {
        emit editFailed(readOnlyStatus());
        return readOnlyStatus();
    }
    const int index = indexOf(id);
    if (index < 0)
        return Status::notFound("example " + std::to_string(id) + " is not in the project");
    ExampleRow &row = m_examples[size_t(index)];
    const Status status = [&]() -> Status {
        ProjectDb::Transaction tx(*m_db);
        TL_RETURN_IF_ERROR(tx.status());
        if (label != row.currentLabel) {
            auto change = m_db->relabel(id, label, origin);
            if (!change.ok())
                return change.status();
        }
        if (review != row.review)
            TL_RETURN_IF_ERROR(m_db->setReview(id, review));
        return tx.commit();
    }();
    if (!status) {
        emit editFailed(status);
        return status;
    }
    const bool relabelled = row.currentLabel != label;
    row.currentLabel = label;
    row.review = review;
    if (relabelled) {
        if (Status s = refreshScores(id, label); !s) {
            emit editFailed(s);
            emit exampleChanged(id);
            return s;
        }
    }
    emit exampleChanged(id);
    return status;
}

std::optional<int> ProjectSession::trainedLabel(qint64 id) const
{
    const auto it = m_trainedLabels.constFind(id);
    return it == m_trainedLabels.constEnd() ? std::nullopt : std::optional<int>(*it);
}

Status ProjectSession::reloadTrainedLabels()
{
    m_trainedLabels.clear();
    if (!m_modelId)
        return Status::ok();
    auto changed = m_db->labelsChangedSince(*m_modelId);
    if (!changed.ok())
        return changed.status();
    for (const auto &[id, label] : *changed)
        m_trainedLabels.insert(id, label);
    return Status::ok();
}

Status ProjectSession::refreshScores(qint64 id, int label)
{
    TL_RETURN_IF_ERROR(reloadTrainedLabels());
    if (!m_modelId)
        return Status::ok();
    // The file already holds the factors formed with the new label (ProjectDb::relabel);
    // the loaded index takes the same rows, so both give the same numbers.
    auto cps = m_db->checkpoints(*m_modelId);
    if (!cps.ok())
        return cps.status();
    std::vector<FactorRow> rows;
    for (const CheckpointRow &cp : *cps) {
        auto f = m_db->factor(cp.id, id);
        if (!f.ok())
            return f.status();
        if (!f->has_value())
            return Status::ok(); // factors not computed yet: nothing scored to follow
        rows.push_back(std::move(**f));
    }
    if (m_engine && m_engine->modelId() == *m_modelId && m_engine->rowOf(id) >= 0) {
        TL_RETURN_IF_ERROR(m_engine->updateExample(id, label, rows));
        if (m_selfInfluence.contains(id))
            m_selfInfluence.insert(id, m_engine->selfInfluence(id));
    } else if (m_selfInfluence.contains(id)) {
        // computeSelfInfluence()'s sum, in checkpoint order.
        double self = 0.0;
        for (size_t c = 0; c < rows.size(); ++c)
            self += (*cps)[c].learningRate * dot(rows[c].error.data(), rows[c].error.data(), int(rows[c].error.size()))
                    * (dot(rows[c].embedding.data(), rows[c].embedding.data(), int(rows[c].embedding.size())) + 1.0);
        m_selfInfluence.insert(id, self);
    }
    // The self-influence ranking as ProjectDb::selfInfluence() orders it.
    std::stable_sort(m_selfRanking.begin(), m_selfRanking.end(), [this](qint64 a, qint64 b) {
        const double va = m_selfInfluence.value(a), vb = m_selfInfluence.value(b);
        return va != vb ? va > vb : a < b;
    });
    const std::vector<qint64> before = m_reviewQueue;
    if (m_reviewOrderIsDefault)
        applyDefaultOrder();
    else if (m_reviewOrderKind == int(RankingKind::SelfInfluence))
        m_reviewQueue = m_selfRanking;
    if (m_reviewQueue != before)
        emit reviewOrderChanged();
    return Status::ok();
}

} // namespace traclens
