#pragma once
// Sizes a dialog whose minimum width is wider than its size hint: the height is the one
// its word-wrapped labels need at that width, so no blank band is left between the rows
// (QWidget::adjustSize measures the height at the narrower hint width). Call at the end of
// the constructor, after setMinimumWidth().
//
// Thread safety: GUI thread only.

#include <QDialog>
#include <QLayout>

#include <algorithm>

namespace traclens {

inline void fitHeightToWidth(QDialog *dialog)
{
    QLayout *layout = dialog->layout();
    if (!layout)
        return;
    const int width = std::max(dialog->minimumWidth(), dialog->sizeHint().width());
    const int height = layout->hasHeightForWidth() ? layout->totalHeightForWidth(width) : dialog->sizeHint().height();
    dialog->resize(width, std::max(height, layout->totalMinimumSize().height()));
}

} // namespace traclens
