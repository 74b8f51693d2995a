#pragma once
// One example's image drawn large (query header, review queue, browser details). Small
// images are enlarged with nearest-neighbour sampling so pixels stay visible, which is
// what one wants when judging a 28×28 label; large ones are scaled smoothly.
// The image comes from the session's ThumbnailCache; until it arrives a placeholder is
// drawn. It is the image as the active model saw it: when that means a photo's EXIF
// orientation is ignored, the tooltip says so (unrotatedNote()).
//
// Thread safety: GUI thread only.

#include <QPointer>
#include <QWidget>

namespace traclens {

class ProjectSession;

class ExampleImageView : public QWidget {
    Q_OBJECT
public:
    explicit ExampleImageView(QWidget *parent = nullptr);

    void setSession(ProjectSession *session);
    // −1 clears.
    void setExample(qint64 exampleId);
    qint64 exampleId() const { return m_id; }
    void setSide(int px);

    // "Shown as the model saw it: unrotated (…)", for the views' details too.
    static QString unrotatedNote();

    QSize sizeHint() const override { return {m_side, m_side}; }
    QSize minimumSizeHint() const override { return {m_side / 2, m_side / 2}; }

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    void updateToolTip();

    QPointer<ProjectSession> m_session;
    qint64 m_id = -1;
    int m_side = 192;
};

} // namespace traclens
