#include "stackedpage.h"

#include <QLabel>
#include <QPalette>
#include <QStackedWidget>
#include <QVBoxLayout>

namespace traclens {

StackedPage makeStackedPage(QWidget *owner)
{
    StackedPage p;
    auto *outer = new QVBoxLayout(owner);
    outer->setContentsMargins(0, 0, 0, 0);
    p.stack = new QStackedWidget;
    outer->addWidget(p.stack);

    p.emptyText = new QLabel;
    p.emptyText->setAlignment(Qt::AlignCenter);
    p.emptyText->setWordWrap(true);
    p.emptyText->setForegroundRole(QPalette::PlaceholderText);
    p.stack->addWidget(p.emptyText);

    p.page = new QWidget;
    p.layout = new QVBoxLayout(p.page);
    p.layout->setContentsMargins(16, 12, 16, 8);
    p.layout->setSpacing(10);
    return p;
}

} // namespace traclens
