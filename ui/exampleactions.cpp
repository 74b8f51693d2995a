#include "exampleactions.h"

#include "classnames.h"
#include "projectsession.h"
#include "reviewcommand.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QClipboard>
#include <QDir>
#include <QKeyEvent>
#include <QMenu>
#include <QUndoStack>
#include <QWidget>

namespace traclens {

ExampleActions::ExampleActions(ProjectSession *session, QWidget *parent) : QObject(parent), m_session(session)
{
    setObjectName("exampleActions");
}

ExampleActions *ExampleActions::forWidget(const QWidget *widget)
{
    for (const QWidget *w = widget; w; w = w->parentWidget())
        if (auto *actions = w->findChild<ExampleActions *>(QString(), Qt::FindDirectChildrenOnly))
            return actions;
    return nullptr;
}

bool ExampleActions::editingEnabled() const
{
    return m_editingEnabled && !m_session->isReadOnly();
}

QMenu *ExampleActions::createMenu(qint64 id, QWidget *parent)
{
    const ExampleRow *row = m_session->example(id);
    if (!row)
        return nullptr;
    auto *menu = new QMenu(parent);
    menu->setObjectName("exampleMenu");
    menu->setToolTipsVisible(true);
    const QString file = QString::fromStdString(row->source);
    menu->setTitle(file);

    QAction *open = menu->addAction(tr("Open in Influence View"), this, [this, id] { emit influenceRequested(id); });
    open->setObjectName("openInfluenceAction");
    open->setShortcut(QKeySequence(Qt::Key_I));
    open->setEnabled(bool(m_session->engine()));
    open->setToolTip(m_session->engine() ? tr("Show the training examples that pushed this prediction most")
                                          : tr("Available once influence has been computed"));

    QAction *reviewed = menu->addAction(tr("Reviewed"), this, [this, id] { toggleReviewed(id); });
    reviewed->setObjectName("markReviewedAction");
    reviewed->setCheckable(true);
    reviewed->setChecked(row->review == ReviewState::Reviewed);
    reviewed->setShortcut(QKeySequence(Qt::Key_R));
    reviewed->setEnabled(editingEnabled());

    QMenu *relabelMenu = menu->addMenu(tr("Relabel As"));
    relabelMenu->setObjectName("relabelMenu");
    relabelMenu->setEnabled(editingEnabled());
    auto *group = new QActionGroup(relabelMenu);
    for (int c = 0; c < m_session->numClasses(); ++c) {
        QAction *a = relabelMenu->addAction(numberedClassName(c, m_session->className(c)), this,
                                        [this, id, c] { this->relabel(id, c); });
        a->setObjectName(QStringLiteral("relabelAction%1").arg(c));
        a->setCheckable(true);
        a->setChecked(c == row->currentLabel);
        a->setActionGroup(group);
        if (c < 10)
            a->setShortcut(QKeySequence(Qt::Key_0 + c));
    }

    menu->addSeparator();
    QAction *copy = menu->addAction(tr("Copy File Path"), this, [this, file] {
        const QString root = m_session->dataset() ? QString::fromStdString(m_session->dataset()->root) : QString();
        QApplication::clipboard()->setText(root.isEmpty() ? file : QDir(root).filePath(file));
    });
    copy->setObjectName("copyPathAction");
    return menu;
}

bool ExampleActions::handleKey(qint64 id, QKeyEvent *event)
{
    if (!m_session->example(id) || (event->modifiers() & ~Qt::KeypadModifier) != Qt::NoModifier)
        return false;
    const int key = event->key();
    if (key >= Qt::Key_0 && key <= Qt::Key_9) {
        relabel(id, key - Qt::Key_0);
        return true;
    }
    if (key == Qt::Key_R) {
        toggleReviewed(id);
        return true;
    }
    if (key == Qt::Key_I && m_session->engine()) {
        emit influenceRequested(id);
        return true;
    }
    return false;
}

void ExampleActions::relabel(qint64 id, int label)
{
    const ExampleRow *row = m_session->example(id);
    if (!row || label < 0 || label >= m_session->numClasses() || label == row->currentLabel || !m_editingEnabled
        || !m_session->checkWritable())
        return;
    m_session->undoStack()->push(new ReviewCommand(m_session, id, label, ReviewState::Reviewed));
}

void ExampleActions::toggleReviewed(qint64 id)
{
    const ExampleRow *row = m_session->example(id);
    if (!row || !m_editingEnabled || !m_session->checkWritable())
        return;
    const ReviewState next = row->review == ReviewState::Reviewed ? ReviewState::None : ReviewState::Reviewed;
    m_session->undoStack()->push(new ReviewCommand(m_session, id, row->currentLabel, next));
}

} // namespace traclens
