#pragma once
// The files (or CSV manifest rows) the last import could not use, with the reason for
// each: ProjectDb::skipped(), which `traclens-cli info` counts. A table of path and
// reason; "Copy Paths" puts the full paths on the clipboard one per line, "Copy All"
// path and reason separated by a tab (pastes as two spreadsheet columns).
//
// Ownership: a plain dialog; the caller owns it. Thread safety: GUI thread only.

#include "data/dataset.h"

#include <QDialog>

#include <vector>

class QTableWidget;

namespace traclens {

class SkippedFilesDialog : public QDialog {
    Q_OBJECT
public:
    // `root` is the dataset folder the relative paths are under (may be empty).
    SkippedFilesDialog(const std::vector<SkippedFile> &skipped, const QString &root, QWidget *parent = nullptr);

    QTableWidget *table() const { return m_table; }
    // What the buttons copy (also what the tests read).
    QString pathsText() const;
    QString allText() const;

private:
    QString fullPath(int row) const;

    QTableWidget *m_table;
    QString m_root;
};

} // namespace traclens
