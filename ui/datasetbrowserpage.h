#pragma once
// The dataset browser: a thumbnail grid over every example with filters (split, class,
// edited, reviewed), a sort order (id, self-influence, loss) and a details pane for the
// selected example, from which it can be relabelled or opened in the influence view.
// Usable as soon as the dataset is imported, while training and compute still run.
//
// Ownership: does not own the session. Thread safety: GUI thread only.

#include "influence/influenceindex.h"

#include <QFutureWatcher>
#include <QWidget>

class QComboBox;
class QLabel;
class QPushButton;
class QSlider;

namespace traclens {

class ExampleImageView;
class ExampleListModel;
class NeighbourListModel;
class ProjectSession;
class TileView;

class DatasetBrowserPage : public QWidget {
    Q_OBJECT
public:
    explicit DatasetBrowserPage(ProjectSession *session, QWidget *parent = nullptr);

    ExampleListModel *model() const { return m_model; }
    TileView *view() const { return m_view; }
    void selectExample(qint64 id);
    // Same as choosing in the "Sort by" box.
    void setSort(int sort);
    // Off while import or compute write to the project: the engine holds its write
    // transaction for a whole chunk, so an edit would wait (and the GUI with it).
    void setEditingEnabled(bool enabled);
    qint64 selectedExample() const { return m_selected; }
    // Selects the example whose id is `text`, or whose file (source) is `text` or ends
    // in "/<text>", or else the first whose file name contains `text` (case-insensitive).
    // Clears the filters when they hide it. Returns the id found, or -1.
    qint64 findExample(const QString &text);

signals:
    // "Show influence" on an example (button or double click).
    void influenceRequested(qint64 exampleId);

private:
    void applyFilter();
    void applySort();
    void updateCount();
    void updateDetails();
    void populateClassCombos();
    void relabelSelected(int label);
    void queryProponents();

    ProjectSession *m_session;
    ExampleListModel *m_model;
    TileView *m_view;
    QComboBox *m_split, *m_class, *m_edited, *m_review, *m_sort;
    QSlider *m_zoom;
    QLabel *m_count;
    // Details pane.
    ExampleImageView *m_image;
    QLabel *m_title, *m_facts;
    QComboBox *m_relabel;
    QPushButton *m_showInfluence;
    QLabel *m_proponentsTitle;
    NeighbourListModel *m_proponents;
    TileView *m_proponentsView;
    QFutureWatcher<std::pair<qint64, std::vector<Neighbour>>> m_watcher;
    qint64 m_selected = -1;
    bool m_editingEnabled = true;
};

} // namespace traclens
