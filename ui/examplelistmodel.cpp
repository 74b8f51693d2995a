#include "examplelistmodel.h"

#include "itemroles.h"
#include "projectsession.h"
#include "thumbnailcache.h"

#include <QPixmap>

#include <algorithm>
#include <cmath>

namespace traclens {

ExampleListModel::ExampleListModel(ProjectSession *session, QObject *parent)
    : QAbstractListModel(parent), m_session(session)
{
    connect(session, &ProjectSession::examplesReset, this, &ExampleListModel::rebuild);
    connect(session, &ProjectSession::modelChanged, this, [this] {
        if (m_sort != Sort::Id)
            rebuild();
    });
    connect(session, &ProjectSession::engineChanged, this, [this] {
        if (m_sort == Sort::Loss)
            rebuild();
        else if (!m_rows.isEmpty())
            emit dataChanged(index(0), index(int(m_rows.size()) - 1), {SubtitleRole, MismatchRole});
    });
    connect(session, &ProjectSession::exampleChanged, this, &ExampleListModel::onExampleChanged);
    connect(session->thumbnails(), &ThumbnailCache::ready, this, &ExampleListModel::onThumbnailReady);
    rebuild();
}

void ExampleListModel::setFilter(const Filter &filter)
{
    m_filter = filter;
    rebuild();
}

void ExampleListModel::setSort(Sort sort)
{
    m_sort = sort;
    rebuild();
}

bool ExampleListModel::accepts(const ExampleRow &row) const
{
    if (m_filter.split && row.split != *m_filter.split)
        return false;
    if (m_filter.label >= 0 && row.currentLabel != m_filter.label)
        return false;
    const bool edited = row.currentLabel != row.givenLabel;
    if (m_filter.edited == Filter::Edited::Yes && !edited)
        return false;
    if (m_filter.edited == Filter::Edited::No && edited)
        return false;
    switch (m_filter.review) {
    case Filter::Review::Any: break;
    case Filter::Review::Reviewed: if (row.review != ReviewState::Reviewed) return false; break;
    case Filter::Review::Skipped: if (row.review != ReviewState::Skipped) return false; break;
    case Filter::Review::Unreviewed: if (row.review != ReviewState::None) return false; break;
    }
    return true;
}

void ExampleListModel::rebuild()
{
    beginResetModel();
    const auto &examples = m_session->examples();
    m_rows.clear();
    m_rows.reserve(int(examples.size()));
    for (int i = 0; i < int(examples.size()); ++i)
        if (accepts(examples[size_t(i)]))
            m_rows.push_back(i);

    // Sort keys computed once; unknown values (NaN) go last.
    auto engine = m_session->engine();
    if (m_sort == Sort::SelfInfluence || (m_sort == Sort::Loss && engine)) {
        std::vector<std::pair<double, int>> keyed;
        keyed.reserve(size_t(m_rows.size()));
        for (int i : m_rows) {
            const qint64 id = examples[size_t(i)].id;
            double v = m_sort == Sort::SelfInfluence
                ? m_session->selfInfluence(id)
                : (engine->rowOf(id) >= 0 ? double(engine->lossAtLast(id)) : std::nan(""));
            keyed.emplace_back(std::isnan(v) ? -HUGE_VAL : v, i);
        }
        std::stable_sort(keyed.begin(), keyed.end(), [](const auto &a, const auto &b) { return a.first > b.first; });
        for (size_t k = 0; k < keyed.size(); ++k)
            m_rows[int(k)] = keyed[k].second;
    }
    m_rowById.clear();
    m_rowById.reserve(m_rows.size());
    for (int r = 0; r < m_rows.size(); ++r)
        m_rowById.insert(examples[size_t(m_rows[r])].id, r);
    // Queued thumbnails of the old order are mostly off screen now.
    m_session->thumbnails()->clearPending();
    endResetModel();
    emit rebuilt();
}

qint64 ExampleListModel::exampleId(int row) const
{
    if (row < 0 || row >= m_rows.size())
        return -1;
    return m_session->examples()[size_t(m_rows[row])].id;
}

QVector<qint64> ExampleListModel::exampleIds() const
{
    QVector<qint64> ids;
    ids.reserve(m_rows.size());
    for (int r = 0; r < m_rows.size(); ++r)
        ids.push_back(exampleId(r));
    return ids;
}

int ExampleListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

QVariant ExampleListModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const ExampleRow &row = m_session->examples()[size_t(m_rows[index.row()])];
    const auto engine = m_session->engine();
    const bool known = engine && engine->rowOf(row.id) >= 0;
    switch (role) {
    case Qt::DisplayRole:
        return m_session->className(row.currentLabel);
    case Qt::DecorationRole:
        return m_session->thumbnails()->thumbnail(row.id, row.source);
    case SubtitleRole:
        switch (m_sort) {
        case Sort::SelfInfluence: {
            const double v = m_session->selfInfluence(row.id);
            return std::isnan(v) ? QString() : tr("self %1").arg(v, 0, 'g', 3);
        }
        case Sort::Loss:
            return known ? tr("loss %1").arg(double(engine->lossAtLast(row.id)), 0, 'f', 2) : QString();
        case Sort::Id:
            if (known && engine->predicted(row.id) != row.currentLabel)
                return tr("pred %1").arg(m_session->className(engine->predicted(row.id)));
            return QStringLiteral("#%1").arg(row.id);
        }
        return {};
    case Qt::ToolTipRole: {
        QString tip = tr("<b>#%1</b> · %2<br>%3").arg(row.id).arg(splitName(row.split)).arg(QString::fromStdString(row.source).toHtmlEscaped());
        tip += tr("<br>Label: %1").arg(m_session->className(row.currentLabel));
        if (row.currentLabel != row.givenLabel)
            tip += tr(" (was %1)").arg(m_session->className(row.givenLabel));
        if (known)
            tip += tr("<br>Predicted: %1 (%2%)").arg(m_session->className(engine->predicted(row.id)))
                       .arg(100.0 * engine->predictedProbability(row.id), 0, 'f', 0);
        const double self = m_session->selfInfluence(row.id);
        if (!std::isnan(self))
            tip += tr("<br>Self-influence: %1").arg(self, 0, 'g', 4);
        return tip;
    }
    case ExampleIdRole:
        return qlonglong(row.id);
    case EditedRole:
        return row.currentLabel != row.givenLabel;
    case ReviewRole:
        return int(row.review);
    case MismatchRole:
        return known && engine->predicted(row.id) != row.currentLabel;
    case SplitRole:
        return int(row.split);
    case SortValueRole:
        if (m_sort == Sort::SelfInfluence)
            return m_session->selfInfluence(row.id);
        if (m_sort == Sort::Loss && known)
            return double(engine->lossAtLast(row.id));
        return double(row.id);
    default:
        return {};
    }
}

void ExampleListModel::onThumbnailReady(qint64 id)
{
    const int r = rowOf(id);
    if (r >= 0)
        emit dataChanged(index(r), index(r), {Qt::DecorationRole});
}

void ExampleListModel::onExampleChanged(qint64 id)
{
    // The row stays until the filter is applied again: items vanishing under the cursor
    // right after an edit would be confusing.
    const int r = rowOf(id);
    if (r >= 0)
        emit dataChanged(index(r), index(r));
}

} // namespace traclens
