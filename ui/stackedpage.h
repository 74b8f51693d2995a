#pragma once
// The frame the influence and review pages share: a stack of a centred placeholder text
// (shown while the page has nothing to show) and the page proper, with the margins and
// spacing both pages use. The caller fills `layout` and adds `page` to `stack` itself
// (directly or inside a scroll area).
//
// Ownership: every widget is parented to `owner` (through its layout) or, for `page`, is
// handed to the caller, who must add it to `stack`. GUI thread only.

class QLabel;
class QStackedWidget;
class QVBoxLayout;
class QWidget;

namespace traclens {

struct StackedPage {
    QStackedWidget *stack = nullptr;
    QLabel *emptyText = nullptr;   // index 0 of the stack
    QWidget *page = nullptr;       // not yet in the stack
    QVBoxLayout *layout = nullptr; // page's layout
};

StackedPage makeStackedPage(QWidget *owner);

} // namespace traclens
