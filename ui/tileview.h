#pragma once
// A QListView set up for example tiles: icon mode, uniform sizes, static layout (fast at
// 70 000 items), ThumbnailDelegate, and a signal carrying the clicked example's id.
// As a strip it lays tiles out in one row with a horizontal scroll bar.
// Right click, the Menu key or Shift+F10 open the tile's context menu, and the tile keys
// work on the current tile, both from the ExampleActions of the window (see there).
//
// Thread safety: GUI thread only.

#include <QListView>

class QMenu;

namespace traclens {

class ThumbnailDelegate;

class TileView : public QListView {
    Q_OBJECT
public:
    enum class Layout { Grid, Strip };
    explicit TileView(Layout layout = Layout::Grid, QWidget *parent = nullptr);

    ThumbnailDelegate *tileDelegate() const { return m_delegate; }
    void setImageSide(int px);
    // Strip only: height that fits one row of tiles and the scroll bar.
    QSize sizeHint() const override;

    // The context menu of the tile at `index` (ExampleActions::createMenu); null when
    // the index has no example or no ExampleActions serves this view. The caller owns it.
    QMenu *createContextMenu(const QModelIndex &index);

protected:
    void resizeEvent(QResizeEvent *event) override;
    void contextMenuEvent(QContextMenuEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;

signals:
    // Left click or Enter on a tile.
    void exampleClicked(qint64 exampleId);
    void exampleActivated(qint64 exampleId); // double click

private:
    // Grid only: spreads the columns over the whole width, so no ragged gap is left
    // at the right edge.
    void updateGrid();

    Layout m_layout;
    ThumbnailDelegate *m_delegate;
};

} // namespace traclens
