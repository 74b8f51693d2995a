#pragma once
// The influence view, after the figure of the TracIn blog post: for the query example,
// four grids side by side — TracIn proponents and opponents, embedding nearest and
// farthest. Raw or normalised scores, k neighbours, back/forward history (Alt+Left,
// Alt+Right); clicking a tile makes it the query.
//
// Queries run on QtConcurrent's pool against the shared, thread-safe InfluenceIndex;
// only the newest request's answer is shown (QFutureWatcher::setFuture drops older ones).
//
// Ownership: does not own the session. Thread safety: GUI thread only.

#include "influence/influenceindex.h"

#include <QFutureWatcher>
#include <QVector>
#include <QHash>
#include <QWidget>

class QAction;
class QButtonGroup;
class QLabel;
class QSpinBox;
class QStackedWidget;
class QToolButton;

namespace traclens {

class ExampleImageView;
class NeighbourListModel;
class ProjectSession;
class TileView;

class InfluencePage : public QWidget {
    Q_OBJECT
public:
    enum Grid { Proponents = 0, Opponents, Nearest, Farthest, GridCount };

    explicit InfluencePage(ProjectSession *session, QWidget *parent = nullptr);

    // Makes `id` the query and records it in the history.
    void setQuery(qint64 id);
    qint64 queryId() const { return m_history.isEmpty() ? -1 : m_history[m_historyPos]; }
    void back();
    void forward();
    bool canGoBack() const { return m_historyPos > 0; }
    bool canGoForward() const { return m_historyPos + 1 < m_history.size(); }

    void setNeighbourCount(int k);
    int neighbourCount() const;
    void setScoring(Scoring scoring);
    Scoring scoring() const { return m_scoring; }

    NeighbourListModel *gridModel(Grid grid) const { return m_models[grid]; }
    TileView *gridView(Grid grid) const { return m_views[grid]; }
    QAction *backAction() const { return m_backAction; }
    QAction *forwardAction() const { return m_forwardAction; }

signals:
    // The grids now hold the answer for `id` with the current k and scoring.
    void queryShown(qint64 id);
    void queryFailed(const QString &message);

private:
    struct Outcome {
        qint64 id = -1;
        int k = 0;
        Scoring scoring = Scoring::Raw;
        Status status;
        QueryResult result;
    };
    void runQuery();
    void showOutcome();
    void updateHeader();
    void updateScoringHint();
    void updateNavigation();
    void onEngineChanged();

    ProjectSession *m_session;
    QStackedWidget *m_stack;
    QLabel *m_emptyText;
    ExampleImageView *m_queryImage;
    QLabel *m_queryTitle, *m_queryFacts;
    QLabel *m_scoringHint;
    QToolButton *m_backButton, *m_forwardButton;
    QAction *m_backAction, *m_forwardAction;
    QButtonGroup *m_scoringGroup;
    QSpinBox *m_k;
    NeighbourListModel *m_models[GridCount];
    TileView *m_views[GridCount];
    QLabel *m_captions[GridCount];
    QVector<qint64> m_history;
    int m_historyPos = -1;
    Scoring m_scoring = Scoring::Raw;
    QFutureWatcher<Outcome> m_watcher;
    Outcome m_shown;
    // Current labels of the query and the listed examples when the lists were shown.
    QHash<qint64, int> m_shownLabels;
};

} // namespace traclens
