#pragma once
// What can be done to one example from any tile — the browser grid, the influence grids,
// the review strips, the cluster galleries: relabel it, open it in the influence view,
// mark it reviewed, copy its file path. One place builds the context menu and handles the
// tile keys, so every grid offers the same things under the same keys:
//
//   0–9      relabel as that class          I   open in the influence view
//   R        mark reviewed / not reviewed   Menu, Shift+F10   the tile's context menu
//
// A TileView finds its helper through its ancestors (forWidget()): pages create their
// TileViews themselves, the cluster page even creates rows later, and none of them needs
// to be handed the helper. Relabels and review marks are ReviewCommands on the session's
// undo stack, so Edit ▸ Undo reverts them like any other decision, and a read-only
// session refuses them through ProjectSession::checkWritable().
//
// Ownership: a child of the widget whose TileViews it serves; does not own the session.
// Thread safety: GUI thread only.

#include <QObject>

class QKeyEvent;
class QMenu;
class QWidget;

namespace traclens {

class ProjectSession;

class ExampleActions : public QObject {
    Q_OBJECT
public:
    // `parent` should be a common ancestor of the tiles it serves (see forWidget()).
    ExampleActions(ProjectSession *session, QWidget *parent);

    // The helper of the nearest ancestor of `widget` that has one as a direct child;
    // null when none does (a tile view outside a project window has no menu).
    static ExampleActions *forWidget(const QWidget *widget);

    // The context menu of example `id`; null for an unknown id. The caller owns it.
    // Action object names: "openInfluenceAction", "markReviewedAction",
    // "copyPathAction", "relabelAction<class>".
    QMenu *createMenu(qint64 id, QWidget *parent = nullptr);
    // A tile key (see above) on example `id`; true when it was one.
    bool handleKey(qint64 id, QKeyEvent *event);

    // Pushes a relabel (which counts as reviewed, as in the browser and the queue).
    void relabel(qint64 id, int label);
    void toggleReviewed(qint64 id);
    // Off while import or compute write to the project (see DatasetBrowserPage).
    void setEditingEnabled(bool enabled) { m_editingEnabled = enabled; }
    bool editingEnabled() const;

signals:
    void influenceRequested(qint64 exampleId);

private:
    ProjectSession *m_session;
    bool m_editingEnabled = true;
};

} // namespace traclens
