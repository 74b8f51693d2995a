#include "exampleimageview.h"

#include "projectsession.h"
#include "thumbnailcache.h"

#include <QPainter>

namespace traclens {

ExampleImageView::ExampleImageView(QWidget *parent) : QWidget(parent)
{
    setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Fixed);
}

void ExampleImageView::setSession(ProjectSession *session)
{
    if (m_session)
        disconnect(m_session->thumbnails(), nullptr, this, nullptr);
    m_session = session;
    m_id = -1;
    if (session)
        connect(session->thumbnails(), &ThumbnailCache::ready, this, [this](qint64 id) {
            if (id != m_id)
                return;
            updateToolTip();
            update();
        });
    updateToolTip();
    update();
}

void ExampleImageView::setExample(qint64 exampleId)
{
    m_id = exampleId;
    updateToolTip();
    update();
}

QString ExampleImageView::unrotatedNote()
{
    return tr("Shown as the model saw it: unrotated (EXIF orientation ignored, as torchvision does)");
}

void ExampleImageView::updateToolTip()
{
    const bool unrotated = m_session && m_id >= 0 && m_session->thumbnails()->shownUnrotated(m_id);
    setToolTip(unrotated ? unrotatedNote() : QString());
}

void ExampleImageView::setSide(int px)
{
    m_side = px;
    setFixedSize(px, px);
    updateGeometry();
    update();
}

void ExampleImageView::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QRectF frame = QRectF(rect()).adjusted(0.5, 0.5, -0.5, -0.5);
    p.setPen(QPen(palette().color(QPalette::Mid), 1));
    p.setBrush(palette().color(QPalette::Base));
    p.drawRoundedRect(frame, 6, 6);

    QPixmap pixmap;
    if (m_session && m_id >= 0) {
        if (const ExampleRow *row = m_session->example(m_id))
            pixmap = m_session->thumbnails()->thumbnail(m_id, row->source);
    }
    const QRect inner = rect().adjusted(6, 6, -6, -6);
    if (pixmap.isNull()) {
        p.setPen(Qt::NoPen);
        p.setBrush(palette().color(QPalette::Mid).lighter(135));
        p.drawRoundedRect(inner, 4, 4);
        return;
    }
    const QSize s = pixmap.size().scaled(inner.size(), Qt::KeepAspectRatio);
    QRect target(QPoint(0, 0), s);
    target.moveCenter(inner.center());
    // Enlarging a tiny image 3× or more: keep hard pixel edges.
    p.setRenderHint(QPainter::SmoothPixmapTransform, s.width() < 3 * pixmap.width());
    p.drawPixmap(target, pixmap);
}

} // namespace traclens
