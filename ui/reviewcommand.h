#pragma once
// One label decision as an undoable command: set an example's label and review mark.
// Every do, undo and redo is written to the project at once: the first application
// with origin "user", undo as a reverting relabel with origin "undo", redo with "redo",
// so the label history records exactly what happened.
//
// Ownership: pushed onto ProjectSession::undoStack(), which owns it; it refers to the
// session, which clears the stack before it goes away.
// Failure: a write that fails is reported through ProjectSession::editFailed and the
// in-memory state stays as the file says.

#include "store/projectdb.h"

#include <QUndoCommand>

#include <functional>

namespace traclens {

class ProjectSession;

class ReviewCommand : public QUndoCommand {
public:
    // `onApplied(id, undone)` runs after each successful write (views move their cursor).
    ReviewCommand(ProjectSession *session, qint64 exampleId, int newLabel, ReviewState newReview,
                  std::function<void(qint64, bool)> onApplied = {});

    void redo() override;
    void undo() override;

    qint64 exampleId() const { return m_id; }

private:
    ProjectSession *m_session;
    qint64 m_id;
    int m_oldLabel = 0, m_newLabel;
    ReviewState m_oldReview = ReviewState::None, m_newReview;
    bool m_applied = false; // redo() ran once: later redos are "redo"
    std::function<void(qint64, bool)> m_onApplied;
};

} // namespace traclens
