#include "reviewcommand.h"

#include "projectsession.h"

#include <QCoreApplication>

namespace traclens {

ReviewCommand::ReviewCommand(ProjectSession *session, qint64 exampleId, int newLabel, ReviewState newReview,
                             std::function<void(qint64, bool)> onApplied)
    : m_session(session), m_id(exampleId), m_newLabel(newLabel), m_newReview(newReview),
      m_onApplied(std::move(onApplied))
{
    if (const ExampleRow *row = session->example(exampleId)) {
        m_oldLabel = row->currentLabel;
        m_oldReview = row->review;
    }
    const QString name = session->className(newLabel);
    if (newLabel != m_oldLabel)
        setText(QCoreApplication::translate("traclens::ReviewCommand", "Relabel #%1 as %2").arg(exampleId).arg(name));
    else if (newReview == ReviewState::Skipped)
        setText(QCoreApplication::translate("traclens::ReviewCommand", "Skip #%1").arg(exampleId));
    else
        setText(QCoreApplication::translate("traclens::ReviewCommand", "Keep label of #%1").arg(exampleId));
}

void ReviewCommand::redo()
{
    const Status s = m_session->applyDecision(m_id, m_newLabel, m_newReview, m_applied ? "redo" : "user");
    m_applied = true;
    if (s && m_onApplied)
        m_onApplied(m_id, false);
}

void ReviewCommand::undo()
{
    const Status s = m_session->applyDecision(m_id, m_oldLabel, m_oldReview, "undo");
    if (s && m_onApplied)
        m_onApplied(m_id, true);
}

} // namespace traclens
