#include "welcomepage.h"

#include "appsettings.h"
#include "influence/ranking.h"
#include "uiresources.h"

#include <QCommandLinkButton>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QListWidget>
#include <QVBoxLayout>

namespace traclens {

WelcomePage::WelcomePage(QWidget *parent) : QWidget(parent)
{
    ensureUiResources();
    auto *outer = new QHBoxLayout(this);
    outer->addStretch(1);
    auto *column = new QVBoxLayout;
    column->addStretch(1);

    auto *title = new QHBoxLayout;
    auto *icon = new QLabel;
    icon->setPixmap(QIcon(":/traclens/traclens.svg").pixmap(72, 72));
    title->addWidget(icon);
    auto *name = new QLabel(tr("<span style='font-size:22pt;font-weight:600'>TracLens</span><br>"
                               "<span style='color:gray'>Find the training examples behind every prediction "
                               "— and fix their labels.</span>"));
    title->addWidget(name, 1);
    column->addLayout(title);
    column->addSpacing(18);

    auto *newButton = new QCommandLinkButton(tr("New project…"), tr("Import a dataset and train or import a model"));
    auto *openButton = new QCommandLinkButton(tr("Open project…"), tr("Continue with a .traclens file"));
    auto *demoButton = new QCommandLinkButton(tr("Open the demo"), tr("Fashion-MNIST with the built-in CNN"));
    for (auto *b : {newButton, openButton, demoButton})
        column->addWidget(b);
    column->addSpacing(12);
    auto *recentTitle = new QLabel(tr("<b>Recent projects</b>"));
    column->addWidget(recentTitle);
    m_recent = new QListWidget;
    m_recent->setMinimumHeight(140);
    m_recent->setMaximumHeight(220);
    column->addWidget(m_recent);
    column->addStretch(2);

    auto *columnWidget = new QWidget;
    columnWidget->setLayout(column);
    columnWidget->setFixedWidth(540);
    outer->addWidget(columnWidget);
    outer->addSpacing(48);

    // What happens after "New project", in four steps: people new to TracIn should know
    // what the views will show before they wait for a model to train.
    auto *how = new QLabel(tr(
        "<h3>How it works</h3>"
        "<p><b>1&nbsp;&nbsp;Import</b><br><span style='color:gray'>A folder of class sub-folders, a CSV "
        "manifest or IDX files. Browse it at once.</span></p>"
        "<p><b>2&nbsp;&nbsp;Train or import a model</b><br><span style='color:gray'>A built-in network saves a "
        "checkpoint per epoch; or bring a traclens-model/1 directory.</span></p>"
        "<p><b>3&nbsp;&nbsp;Compute TracIn</b><br><span style='color:gray'>Last-layer gradients at every "
        "checkpoint, stored in the project: queries are instant and work resumes after a stop.</span></p>"
        "<p><b>4&nbsp;&nbsp;Review and fix</b><br><span style='color:gray'>Go through the review queue — by "
        "default the examples with the highest <b>%1</b>, the order measured best at finding wrong labels — "
        "relabel with a key press, undo, and export the corrected labels.</span></p>")
                              .arg(QString::fromStdString(defaultRanking().toString()).toHtmlEscaped()));
    how->setWordWrap(true);
    how->setTextFormat(Qt::RichText);
    how->setFixedWidth(380);
    auto *howColumn = new QVBoxLayout;
    howColumn->addStretch(1);
    howColumn->addWidget(how);
    howColumn->addStretch(2);
    outer->addLayout(howColumn);
    outer->addStretch(1);

    connect(newButton, &QCommandLinkButton::clicked, this, &WelcomePage::newProjectRequested);
    connect(openButton, &QCommandLinkButton::clicked, this, &WelcomePage::openProjectRequested);
    connect(demoButton, &QCommandLinkButton::clicked, this, &WelcomePage::demoRequested);
    // One click opens a recent project, and so does Enter (filtered below). Not
    // itemActivated: whether that needs a double click depends on the platform style.
    connect(m_recent, &QListWidget::itemClicked, this, &WelcomePage::openRecent);
    m_recent->installEventFilter(this);
    refreshRecent();
}

void WelcomePage::openRecent(const QListWidgetItem *item)
{
    const QString path = item ? item->data(Qt::UserRole).toString() : QString();
    if (!path.isEmpty())
        emit recentRequested(path);
}

bool WelcomePage::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == m_recent && event->type() == QEvent::KeyPress) {
        const int key = static_cast<QKeyEvent *>(event)->key();
        if (key == Qt::Key_Return || key == Qt::Key_Enter) {
            openRecent(m_recent->currentItem());
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

void WelcomePage::refreshRecent()
{
    m_recent->clear();
    for (const QString &path : AppSettings::recentProjects()) {
        const QFileInfo info(path);
        auto *item = new QListWidgetItem(QStringLiteral("%1\n%2").arg(info.completeBaseName(), info.absolutePath()));
        item->setData(Qt::UserRole, path);
        item->setIcon(QIcon(":/traclens/traclens.svg"));
        if (!info.exists())
            item->setForeground(palette().color(QPalette::Disabled, QPalette::Text));
        m_recent->addItem(item);
    }
    if (m_recent->count() == 0) {
        auto *item = new QListWidgetItem(tr("No recent projects"));
        item->setFlags(Qt::NoItemFlags);
        m_recent->addItem(item);
    }
}

} // namespace traclens
