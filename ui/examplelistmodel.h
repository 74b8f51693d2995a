#pragma once
// The dataset browser's model: every live example of the project as one row, filtered
// by split, class, edited and review state, sorted by id, self-influence or loss.
//
// data(DecorationRole) asks the session's ThumbnailCache and returns a null pixmap until
// the image is decoded; the cache's ready(id) becomes dataChanged for that one index and
// role. Nothing here touches the disk on the GUI thread.
//
// Ownership: does not own the session. Thread safety: GUI thread only.

#include "store/projectdb.h"

#include <QAbstractListModel>
#include <QHash>
#include <QVector>

#include <optional>

namespace traclens {

class ProjectSession;

class ExampleListModel : public QAbstractListModel {
    Q_OBJECT
public:
    struct Filter {
        enum class Edited { Any, Yes, No };
        enum class Review { Any, Reviewed, Skipped, Unreviewed };
        std::optional<Split> split;
        int label = -1; // current label; −1 for all
        Edited edited = Edited::Any;
        Review review = Review::Any;
    };
    enum class Sort { Id, SelfInfluence, Loss };

    explicit ExampleListModel(ProjectSession *session, QObject *parent = nullptr);

    void setFilter(const Filter &filter);
    const Filter &filter() const { return m_filter; }
    // Loss needs the influence engine; without it rows fall back to id order.
    void setSort(Sort sort);
    Sort sort() const { return m_sort; }

    qint64 exampleId(int row) const;
    int rowOf(qint64 exampleId) const { return m_rowById.value(exampleId, -1); }
    QVector<qint64> exampleIds() const;

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;

signals:
    // Rows were rebuilt (filter, sort or data changed).
    void rebuilt();

private:
    void rebuild();
    bool accepts(const ExampleRow &row) const;
    void onThumbnailReady(qint64 id);
    void onExampleChanged(qint64 id);

    ProjectSession *m_session;
    Filter m_filter;
    Sort m_sort = Sort::Id;
    QVector<int> m_rows;          // indices into session->examples()
    QHash<qint64, int> m_rowById;
};

} // namespace traclens
