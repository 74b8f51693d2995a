#include "skippedfilesdialog.h"

#include <QApplication>
#include <QClipboard>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <map>

namespace traclens {

SkippedFilesDialog::SkippedFilesDialog(const std::vector<SkippedFile> &skipped, const QString &root, QWidget *parent)
    : QDialog(parent), m_root(root)
{
    setObjectName("skippedFilesDialog");
    setWindowTitle(tr("Skipped Files"));

    // The reasons at a glance first: a hundred "zero-byte file" rows say one thing.
    std::map<std::string, int> byReason;
    for (const SkippedFile &s : skipped)
        ++byReason[s.reason];
    QStringList reasons;
    for (const auto &[reason, n] : byReason)
        reasons << tr("%1 × %2").arg(n).arg(QString::fromStdString(reason));
    auto *summary = new QLabel(
        skipped.empty()
            ? tr("The last import used every file it found.")
            : tr("The last import skipped %n file(s) or CSV row(s); they are not in the project. Fix or remove "
                 "them and use Project ▸ Re-import Dataset to bring them in.",
                 nullptr, int(skipped.size()))
                  + QLatin1Char('\n') + reasons.join(QLatin1Char('\n')));
    summary->setTextFormat(Qt::PlainText);
    summary->setObjectName("skippedSummary");
    summary->setWordWrap(true);
    summary->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_table = new QTableWidget(int(skipped.size()), 2);
    m_table->setObjectName("skippedTable");
    m_table->setHorizontalHeaderLabels({tr("File"), tr("Reason")});
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Interactive);
    m_table->horizontalHeader()->setStretchLastSection(true);
    for (int r = 0; r < int(skipped.size()); ++r) {
        m_table->setItem(r, 0, new QTableWidgetItem(QString::fromStdString(skipped[size_t(r)].path)));
        m_table->item(r, 0)->setToolTip(fullPath(r));
        m_table->setItem(r, 1, new QTableWidgetItem(QString::fromStdString(skipped[size_t(r)].reason)));
    }
    m_table->resizeColumnToContents(0);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    QPushButton *copyPaths = buttons->addButton(tr("Copy Paths"), QDialogButtonBox::ActionRole);
    copyPaths->setObjectName("copyPathsButton");
    copyPaths->setToolTip(tr("Copy the full path of every skipped file, one per line"));
    QPushButton *copyAll = buttons->addButton(tr("Copy All"), QDialogButtonBox::ActionRole);
    copyAll->setObjectName("copyAllButton");
    copyAll->setToolTip(tr("Copy path and reason of every skipped file, separated by a tab"));
    copyPaths->setEnabled(!skipped.empty());
    copyAll->setEnabled(!skipped.empty());
    connect(copyPaths, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(pathsText()); });
    connect(copyAll, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(allText()); });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *layout = new QVBoxLayout(this);
    layout->addWidget(summary);
    layout->addWidget(m_table, 1);
    layout->addWidget(buttons);
    resize(720, 420);
}

QString SkippedFilesDialog::fullPath(int row) const
{
    const QTableWidgetItem *item = m_table ? m_table->item(row, 0) : nullptr;
    if (!item)
        return QString();
    // CSV rows are "<manifest>:<line>" and IDX entries have no file: those stay as they are.
    const QString path = item->text();
    if (m_root.isEmpty() || QFileInfo(path).isAbsolute())
        return path;
    return QDir::toNativeSeparators(QDir(m_root).filePath(path));
}

QString SkippedFilesDialog::pathsText() const
{
    QStringList lines;
    for (int r = 0; r < m_table->rowCount(); ++r)
        lines << fullPath(r);
    return lines.join(QLatin1Char('\n'));
}

QString SkippedFilesDialog::allText() const
{
    QStringList lines;
    for (int r = 0; r < m_table->rowCount(); ++r)
        lines << fullPath(r) + QLatin1Char('\t') + m_table->item(r, 1)->text();
    return lines.join(QLatin1Char('\n'));
}

} // namespace traclens
