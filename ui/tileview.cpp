#include "tileview.h"

#include "exampleactions.h"
#include "itemroles.h"
#include "thumbnaildelegate.h"

#include <QContextMenuEvent>
#include <QKeyEvent>
#include <QMenu>
#include <QScrollBar>

#include <memory>

#include <algorithm>

namespace traclens {

TileView::TileView(Layout layout, QWidget *parent)
    : QListView(parent), m_layout(layout), m_delegate(new ThumbnailDelegate(this))
{
    setItemDelegate(m_delegate);
    setViewMode(QListView::IconMode);
    setMovement(QListView::Static);
    setResizeMode(QListView::Adjust);
    // All tiles have one size: the view lays out 70 000 of them without asking each.
    setUniformItemSizes(true);
    setSelectionMode(QAbstractItemView::SingleSelection);
    setEditTriggers(QAbstractItemView::NoEditTriggers);
    setMouseTracking(true);
    setSpacing(2);
    setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    setHorizontalScrollMode(QAbstractItemView::ScrollPerPixel);
    verticalScrollBar()->setSingleStep(24);
    setFrameShape(QFrame::NoFrame);
    if (layout == Layout::Strip) {
        setFlow(QListView::LeftToRight);
        setWrapping(false);
        setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
        setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);
        setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    } else {
        setFlow(QListView::LeftToRight);
        setWrapping(true);
    }
    connect(this, &QListView::clicked, this, [this](const QModelIndex &index) {
        emit exampleClicked(index.data(ExampleIdRole).toLongLong());
    });
    connect(this, &QListView::activated, this, [this](const QModelIndex &index) {
        emit exampleActivated(index.data(ExampleIdRole).toLongLong());
    });
}

void TileView::setImageSide(int px)
{
    m_delegate->setImageSide(px);
    updateGrid();
    // Uniform sizes are cached by the view; a relayout picks up the new size.
    scheduleDelayedItemsLayout();
    updateGeometry();
}

QMenu *TileView::createContextMenu(const QModelIndex &index)
{
    ExampleActions *actions = ExampleActions::forWidget(this);
    if (!actions || !index.isValid())
        return nullptr;
    return actions->createMenu(index.data(ExampleIdRole).toLongLong(), this);
}

void TileView::contextMenuEvent(QContextMenuEvent *event)
{
    // From the keyboard the menu belongs to the current tile, at that tile.
    const bool keyboard = event->reason() == QContextMenuEvent::Keyboard;
    const QModelIndex index = keyboard ? currentIndex() : indexAt(event->pos());
    if (!keyboard && index.isValid())
        setCurrentIndex(index);
    std::unique_ptr<QMenu> menu(createContextMenu(index));
    if (!menu) {
        QListView::contextMenuEvent(event);
        return;
    }
    const QPoint at = keyboard ? viewport()->mapToGlobal(visualRect(index).center()) : event->globalPos();
    menu->exec(at);
}

void TileView::keyPressEvent(QKeyEvent *event)
{
    const QModelIndex index = currentIndex();
    if (index.isValid() && event->key() == Qt::Key_F10 && event->modifiers() == Qt::ShiftModifier) {
        QContextMenuEvent menuEvent(QContextMenuEvent::Keyboard, visualRect(index).center());
        contextMenuEvent(&menuEvent);
        return;
    }
    if (ExampleActions *actions = ExampleActions::forWidget(this))
        if (index.isValid() && actions->handleKey(index.data(ExampleIdRole).toLongLong(), event))
            return;
    QListView::keyPressEvent(event);
}

void TileView::resizeEvent(QResizeEvent *event)
{
    QListView::resizeEvent(event);
    updateGrid();
}

void TileView::updateGrid()
{
    if (m_layout != Layout::Grid)
        return;
    QStyleOptionViewItem option;
    option.initFrom(this);
    const QSize tile = m_delegate->sizeHint(option, {}) + QSize(2 * spacing(), 2 * spacing());
    // Reserve the scroll bar whether or not it shows, so that its appearing does not
    // change the columns and relayout again.
    const int available = width() - 2 * frameWidth() - verticalScrollBar()->sizeHint().width() - 1;
    const int columns = std::max(1, available / tile.width());
    const QSize grid(std::max(tile.width(), available / columns), tile.height());
    if (grid != gridSize())
        setGridSize(grid);
}

QSize TileView::sizeHint() const
{
    if (m_layout != Layout::Strip)
        return QListView::sizeHint();
    QStyleOptionViewItem option;
    option.initFrom(this);
    const QSize tile = m_delegate->sizeHint(option, {});
    return {tile.width() * 6, tile.height() + 2 * spacing() + horizontalScrollBar()->sizeHint().height() + 4};
}

} // namespace traclens
