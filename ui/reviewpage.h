#pragma once
// The review queue: training examples, likeliest label errors first — by default in the
// project's default order (ProjectSession::defaultSpec(): the ranking measured best on
// this project when it was calibrated, else the ensemble with cross-validation, else the
// loss at the last checkpoint), with every other ranking selectable. It shows the
// current example large with its label, the suggested label (the prediction at the last
// checkpoint, with its probability), its self-influence and loss and strips of its
// proponents and opponents. Actions: keep the label (marks it reviewed), relabel (class
// buttons, number keys 0–9), skip, undo/redo. Each action is written to the project at
// once through a ReviewCommand on the session's undo stack.
//
// Ownership: does not own the session. Thread safety: GUI thread only.

#include "influence/influenceindex.h"

#include <QFutureWatcher>
#include <QVector>
#include <QWidget>

class QComboBox;
class QGridLayout;
class QLabel;
class QProgressBar;
class QPushButton;
class QStackedWidget;

namespace traclens {

class ExampleImageView;
class NeighbourListModel;
class ProjectSession;
class TileView;

class ReviewPage : public QWidget {
    Q_OBJECT
public:
    static constexpr int kStripLength = 10;

    explicit ReviewPage(ProjectSession *session, QWidget *parent = nullptr);

    // The example on show; −1 when the queue is empty or finished.
    qint64 currentId() const;
    // Makes `id` current (it must be in the queue).
    void showExample(qint64 id);

    void keepLabel();
    void relabel(int label);
    void skip();

    int reviewedCount() const;
    int queueLength() const;
    NeighbourListModel *proponentsModel() const { return m_proponents; }
    NeighbourListModel *opponentsModel() const { return m_opponents; }

signals:
    void currentChanged(qint64 id);
    // The strips now show the neighbours of `id`.
    void stripsShown(qint64 id);
    void influenceRequested(qint64 id);
    // The person chose another order (a ranking.h RankingKind); the default and
    // self-influence are handled here, the others need the worker.
    void orderRequested(int rankingKind);

protected:
    void showEvent(QShowEvent *event) override;

private:
    struct Outcome {
        qint64 id = -1;
        Status status;
        QueryResult result;
    };
    void rebuildQueue(bool keepCurrent = true);
    void syncOrderChoice(); // the order selector shows what the session's queue follows
    // The order selector's entries, the session's default first, "— recommended".
    void rebuildOrderChoices();
    void updateNoiseNote(); // m_noiseNote from the session's noise estimate and default
    static QString orderTitle(int rankingKind);
    void rebuildClassButtons();
    void decide(int label, int review);
    void onApplied(qint64 id, bool undone);
    void advanceFrom(int position);
    void updateView();
    void updateCounter();
    void runStripQuery();

    ProjectSession *m_session;
    QVector<qint64> m_queue;
    int m_position = -1;
    qint64 m_nextAfterDecision = -1; // chosen when a decision is made (see decide())
    QStackedWidget *m_stack;
    QLabel *m_emptyText;
    QLabel *m_counter;
    QLabel *m_noiseNote;  // the noise estimate behind the recommended order, hidden without one
    QLabel *m_weakModel;  // the weak-model warning (core/influence/flagging.h), hidden when none
    QComboBox *m_order;
    QProgressBar *m_progress;
    ExampleImageView *m_image;
    QLabel *m_rank, *m_given, *m_suggested, *m_score, *m_source;
    QPushButton *m_keep, *m_skip, *m_undo, *m_redo, *m_influence;
    QGridLayout *m_classGrid;
    QVector<QPushButton *> m_classButtons;
    NeighbourListModel *m_proponents, *m_opponents;
    TileView *m_proponentStrip, *m_opponentStrip;
    QFutureWatcher<Outcome> m_watcher;
    bool m_viewStale = false; // updateView() was skipped while hidden
};

} // namespace traclens
