#pragma once
// A short list of training examples with scores: one grid of the influence view
// (proponents, opponents, nearest, farthest) or a strip in the review queue. Each tile
// shows the image, the current label, the prediction when it differs and the score.
//
// Ownership: does not own the session. Thread safety: GUI thread only.

#include "influence/influenceindex.h"

#include <QAbstractListModel>
#include <QVector>

namespace traclens {

class ProjectSession;

class NeighbourListModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum class ScoreFormat { Influence, Similarity };

    explicit NeighbourListModel(ProjectSession *session, QObject *parent = nullptr);

    void setNeighbours(const std::vector<Neighbour> &neighbours, ScoreFormat format);
    void clear();
    const std::vector<Neighbour> &neighbours() const { return m_items; }
    QVector<qint64> exampleIds() const;
    qint64 exampleId(int row) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;

private:
    ProjectSession *m_session;
    std::vector<Neighbour> m_items;
    ScoreFormat m_format = ScoreFormat::Influence;
};

} // namespace traclens
