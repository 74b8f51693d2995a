#pragma once
// Asynchronous thumbnails for example images, shared by every view of a project.
//
// thumbnail() never blocks: it returns the cached pixmap, or a null one and queues a
// decode. Decoding runs on a private QThreadPool through ImageStore (thread-safe) and
// yields a QImage; the pixmap is made on the GUI thread when the result arrives, then
// ready(id) is emitted so models can emit dataChanged for that one index.
//
// Order: the newest request is served first (views paint what is on screen, so the last
// requests are the visible ones) and the pending queue is bounded: requests for items
// that scrolled away long ago fall off and are asked for again if painted again.
// Memory: a QCache bounded in bytes; small images (28×28 digits) are kept at their own
// size and scaled when painted.
// What is shown is what the active model saw: images are decoded in the model's
// DecodeStyle (imagedecoder.h), so for an imported torchvision model a photo with EXIF
// orientation is drawn unrotated, as ImageFolder hands it to the model.
//
// Ownership: owned by ProjectSession. Thread safety: GUI thread only (the pool's tasks
// touch nothing but the shared ImageStore and post their result back).

#include "data/imagedecoder.h"

#include <QCache>
#include <QHash>
#include <QObject>
#include <QPixmap>
#include <QSet>
#include <QThreadPool>

#include <deque>
#include <memory>

namespace traclens {

class ThumbnailCache : public QObject {
    Q_OBJECT
public:
    static constexpr int kMaxSide = 160;             // stored images are at most this big
    static constexpr int kMaxPending = 512;
    static constexpr qint64 kCacheBytes = 192ll << 20;

    explicit ThumbnailCache(QObject *parent = nullptr);
    ~ThumbnailCache() override;

    // Replaces the image source; drops everything cached or queued.
    void setStore(std::shared_ptr<const ImageStore> store);
    std::shared_ptr<const ImageStore> store() const { return m_store; }
    // How files are decoded (the active model's decodeStyleFor); Native until set. A
    // change drops everything cached or queued, like setStore.
    void setDecodeStyle(DecodeStyle style);
    DecodeStyle decodeStyle() const { return m_style; }

    // The cached thumbnail, or a null pixmap after queueing a decode of `source`.
    QPixmap thumbnail(qint64 id, const std::string &source);
    // The cached thumbnail or null; queues nothing.
    QPixmap cached(qint64 id) const;
    // True when the image could not be decoded (views draw a "broken" tile).
    bool failed(qint64 id) const { return m_failed.contains(id); }
    // True when the decoded image's file asks to be rotated or flipped (EXIF orientation)
    // and it is shown without, because the decode style ignores it as the model did.
    bool shownUnrotated(qint64 id) const { return m_unrotated.contains(id); }
    // Forgets queued (not running) requests, e.g. when the browser's filter changes.
    void clearPending();
    // Requests queued or running.
    int pendingCount() const { return int(m_pending.size()) + m_running.size(); }

signals:
    void ready(qint64 id);
    // Emitted when the last pending decode has finished (used by screenshots and tests).
    void idle();

private:
    struct Request {
        qint64 id;
        std::string source;
    };
    void pump();
    void onDecoded(quint64 generation, qint64 id, const QImage &image, bool unrotated);

    void dropAll();

    std::shared_ptr<const ImageStore> m_store;
    DecodeStyle m_style = DecodeStyle::Native;
    QThreadPool m_pool;
    QCache<qint64, QPixmap> m_cache;
    std::deque<Request> m_pending; // newest at the front
    QSet<qint64> m_queued;         // ids in m_pending
    QSet<qint64> m_running;
    QSet<qint64> m_failed;
    QSet<qint64> m_unrotated;      // see shownUnrotated()
    quint64 m_generation = 0;      // bumped by dropAll: late results of an old store or style are dropped
};

} // namespace traclens
