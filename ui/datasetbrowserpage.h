#pragma once
// The dataset browser: a thumbnail grid over every example with filters (split, class,
// edited, reviewed), a sort order (id, self-influence, loss) and a details pane for the
// selected example, from which it can be relabelled or opened in the influence view.
// Usable as soon as the dataset is imported, while training and compute still run.
//
// Ownership: does not own the session. Thread safety: GUI thread only.

#include <QWidget>

class QComboBox;
class QLabel;
class QPushButton;
class QSlider;

namespace traclens {

class ExampleImageView;
class ExampleListModel;
class ProjectSession;
class TileView;

class DatasetBrowserPage : public QWidget {
    Q_OBJECT
public:
    explicit DatasetBrowserPage(ProjectSession *session, QWidget *parent = nullptr);

    ExampleListModel *model() const { return m_model; }
    TileView *view() const { return m_view; }
    void selectExample(qint64 id);
    qint64 selectedExample() const { return m_selected; }

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
    qint64 m_selected = -1;
};

} // namespace traclens
