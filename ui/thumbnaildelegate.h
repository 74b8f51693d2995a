#pragma once
// Paints one example tile: the image (or a placeholder while it decodes), a caption with
// the label, an optional second line (score, prediction) and small badges for "edited"
// and "reviewed". Reads only item roles (see itemroles.h), so it serves every grid.
//
// paint() never blocks: a tile whose DecorationRole is still null gets a placeholder,
// and the model's dataChanged repaints it when the thumbnail arrives.
//
// Thread safety: GUI thread only.

#include <QStyledItemDelegate>

namespace traclens {

class ThumbnailDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    explicit ThumbnailDelegate(QObject *parent = nullptr);

    void setImageSide(int px);
    int imageSide() const { return m_imageSide; }
    // Lines of caption under the image: 1 (label) or 2 (label and subtitle).
    void setCaptionLines(int lines);

    void paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;

private:
    int m_imageSide = 72;
    int m_captionLines = 2;
};

} // namespace traclens
