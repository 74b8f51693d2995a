#include "thumbnaildelegate.h"

#include "itemroles.h"
#include "store/projectdb.h"

#include <QApplication>
#include <QPainter>
#include <QPainterPath>

namespace traclens {

namespace {
constexpr int kPad = 6;
constexpr int kMinTextWidth = 84; // room for "T-shirt/top" under a small image

const QColor kEditedColour(0xe8, 0x8a, 0x1a);
const QColor kReviewedColour(0x2e, 0x9d, 0x5b);
const QColor kMismatchColour(0xc0, 0x39, 0x2b);
} // namespace

ThumbnailDelegate::ThumbnailDelegate(QObject *parent) : QStyledItemDelegate(parent) {}

void ThumbnailDelegate::setImageSide(int px) { m_imageSide = px; }
void ThumbnailDelegate::setCaptionLines(int lines) { m_captionLines = qBound(1, lines, 2); }

QSize ThumbnailDelegate::sizeHint(const QStyleOptionViewItem &option, const QModelIndex &) const
{
    const int lineHeight = option.fontMetrics.height();
    const int width = std::max(m_imageSide, kMinTextWidth) + 2 * kPad;
    return {width, kPad + m_imageSide + 4 + m_captionLines * lineHeight + kPad};
}

void ThumbnailDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setRenderHint(QPainter::SmoothPixmapTransform);
    const QPalette &pal = option.palette;
    const QRect r = option.rect.adjusted(2, 2, -2, -2);

    // Background: the selection as a rounded highlight, hover as a faint one.
    const bool selected = option.state & QStyle::State_Selected;
    const bool hovered = option.state & QStyle::State_MouseOver;
    if (selected || hovered) {
        QColor c = pal.color(QPalette::Highlight);
        c.setAlpha(selected ? 70 : 28);
        painter->setPen(selected ? QPen(pal.color(QPalette::Highlight), 1.5) : Qt::NoPen);
        painter->setBrush(c);
        painter->drawRoundedRect(QRectF(r).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6);
    }

    // Image, centred in a square.
    const QRect imageRect(r.left() + (r.width() - m_imageSide) / 2, r.top() + kPad - 2, m_imageSide, m_imageSide);
    const QPixmap pixmap = index.data(Qt::DecorationRole).value<QPixmap>();
    if (pixmap.isNull()) {
        painter->setPen(Qt::NoPen);
        painter->setBrush(pal.color(QPalette::Mid).lighter(135));
        painter->drawRoundedRect(imageRect, 4, 4);
    } else {
        QSize s = pixmap.size().scaled(imageRect.size(), Qt::KeepAspectRatio);
        QRect target(QPoint(0, 0), s);
        target.moveCenter(imageRect.center());
        painter->drawPixmap(target, pixmap);
    }

    // Score pill over the bottom of the image.
    const QString badge = index.data(BadgeRole).toString();
    if (!badge.isEmpty()) {
        QFont small = option.font;
        small.setPointSizeF(option.font.pointSizeF() * 0.85);
        const QFontMetrics fm(small);
        const int w = fm.horizontalAdvance(badge) + 10, h = fm.height() + 2;
        QRect pill(0, 0, std::min(w, imageRect.width()), h);
        pill.moveBottomRight(imageRect.bottomRight() - QPoint(2, 2));
        painter->setPen(Qt::NoPen);
        painter->setBrush(QColor(0, 0, 0, 150));
        painter->drawRoundedRect(pill, h / 2.0, h / 2.0);
        painter->setFont(small);
        painter->setPen(Qt::white);
        painter->drawText(pill, Qt::AlignCenter, badge);
    }

    // Badges: edited (orange corner dot), reviewed (green tick), skipped (grey dash).
    const bool edited = index.data(EditedRole).toBool();
    const int review = index.data(ReviewRole).toInt();
    if (edited) {
        painter->setPen(QPen(Qt::white, 1.5));
        painter->setBrush(kEditedColour);
        painter->drawEllipse(QPointF(imageRect.left() + 7, imageRect.top() + 7), 5.5, 5.5);
    }
    if (review == int(ReviewState::Reviewed) || review == int(ReviewState::Skipped)) {
        const QPointF c(imageRect.right() - 7, imageRect.top() + 7);
        painter->setPen(QPen(Qt::white, 1.5));
        painter->setBrush(review == int(ReviewState::Reviewed) ? kReviewedColour : QColor(0x90, 0x90, 0x90));
        painter->drawEllipse(c, 6.5, 6.5);
        QPen mark(Qt::white, 1.8, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin);
        painter->setPen(mark);
        if (review == int(ReviewState::Reviewed)) {
            QPainterPath tick;
            tick.moveTo(c + QPointF(-3, 0));
            tick.lineTo(c + QPointF(-0.8, 2.4));
            tick.lineTo(c + QPointF(3.2, -2.4));
            painter->setBrush(Qt::NoBrush);
            painter->drawPath(tick);
        } else {
            painter->drawLine(c + QPointF(-3, 0), c + QPointF(3, 0));
        }
    }

    // Caption.
    const int lineHeight = option.fontMetrics.height();
    QRect textRect(r.left() + 2, imageRect.bottom() + 4, r.width() - 4, lineHeight);
    const QString label = index.data(Qt::DisplayRole).toString();
    const bool mismatch = index.data(MismatchRole).toBool();
    QFont font = option.font;
    painter->setFont(font);
    painter->setPen(edited ? kEditedColour.darker(115) : pal.color(QPalette::Text));
    painter->drawText(textRect, Qt::AlignHCenter | Qt::AlignVCenter,
                      option.fontMetrics.elidedText(label, Qt::ElideRight, textRect.width()));
    if (m_captionLines > 1) {
        const QString sub = index.data(SubtitleRole).toString();
        if (!sub.isEmpty()) {
            textRect.translate(0, lineHeight);
            QFont small = font;
            small.setPointSizeF(font.pointSizeF() * 0.9);
            painter->setFont(small);
            painter->setPen(mismatch ? kMismatchColour : pal.color(QPalette::PlaceholderText));
            painter->drawText(textRect, Qt::AlignHCenter | Qt::AlignVCenter,
                              QFontMetrics(small).elidedText(sub, Qt::ElideRight, textRect.width()));
        }
    }
    painter->restore();
}

} // namespace traclens
