#include "neighbourlistmodel.h"

#include "itemroles.h"
#include "projectsession.h"
#include "thumbnailcache.h"

#include <QPixmap>

namespace traclens {

NeighbourListModel::NeighbourListModel(ProjectSession *session, QObject *parent)
    : QAbstractListModel(parent), m_session(session)
{
    connect(session->thumbnails(), &ThumbnailCache::ready, this, [this](qint64 id) {
        for (int r = 0; r < int(m_items.size()); ++r)
            if (m_items[size_t(r)].exampleId == id)
                emit dataChanged(index(r), index(r), {Qt::DecorationRole});
    });
    connect(session, &ProjectSession::exampleChanged, this, [this](qint64 id) {
        for (int r = 0; r < int(m_items.size()); ++r)
            if (m_items[size_t(r)].exampleId == id)
                emit dataChanged(index(r), index(r));
    });
}

void NeighbourListModel::setNeighbours(const std::vector<Neighbour> &neighbours, ScoreFormat format)
{
    beginResetModel();
    m_items = neighbours;
    m_format = format;
    endResetModel();
}

void NeighbourListModel::clear() { setNeighbours({}, m_format); }

QVector<qint64> NeighbourListModel::exampleIds() const
{
    QVector<qint64> ids;
    for (const Neighbour &n : m_items)
        ids.push_back(n.exampleId);
    return ids;
}

qint64 NeighbourListModel::exampleId(int row) const
{
    return row >= 0 && row < int(m_items.size()) ? m_items[size_t(row)].exampleId : -1;
}

int NeighbourListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_items.size());
}

QVariant NeighbourListModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= int(m_items.size()))
        return {};
    const Neighbour &n = m_items[size_t(index.row())];
    const ExampleRow *row = m_session->example(n.exampleId);
    if (!row)
        return {};
    const auto engine = m_session->engine();
    const int predicted = engine && engine->rowOf(n.exampleId) >= 0 ? engine->predicted(n.exampleId) : row->currentLabel;
    switch (role) {
    case Qt::DisplayRole:
        return m_session->className(row->currentLabel);
    case Qt::DecorationRole:
        return m_session->thumbnails()->thumbnail(n.exampleId, row->source);
    case SubtitleRole:
        return predicted != row->currentLabel ? tr("pred %1").arg(m_session->className(predicted)) : QString();
    case BadgeRole:
        return m_format == ScoreFormat::Similarity ? QString::number(n.score, 'f', 3)
                                                   : QString::number(n.score, 'g', 3);
    case Qt::ToolTipRole: {
        QString tip = tr("<b>#%1</b> · %2<br>Label: %3").arg(n.exampleId).arg(splitName(row->split))
                          .arg(m_session->className(row->currentLabel));
        if (row->currentLabel != row->givenLabel)
            tip += tr(" (was %1)").arg(m_session->className(row->givenLabel));
        if (predicted != row->currentLabel)
            tip += tr("<br>Predicted: %1").arg(m_session->className(predicted));
        tip += tr("<br>Score: %1").arg(n.score, 0, 'g', 6);
        return tip;
    }
    case ExampleIdRole:
        return qlonglong(n.exampleId);
    case ScoreRole:
        return n.score;
    case EditedRole:
        return row->currentLabel != row->givenLabel;
    case ReviewRole:
        return int(row->review);
    case MismatchRole:
        return predicted != row->currentLabel;
    case SplitRole:
        return int(row->split);
    default:
        return {};
    }
}

} // namespace traclens
