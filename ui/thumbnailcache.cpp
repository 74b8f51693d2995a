#include "thumbnailcache.h"

#include "imageconvert.h"

#include <QThread>

#include <algorithm>

namespace traclens {

ThumbnailCache::ThumbnailCache(QObject *parent) : QObject(parent), m_cache(int(kCacheBytes / 1024))
{
    // Leave a core for the GUI and the job thread; decoding a PNG is cheap enough that
    // two decoders keep a scrolling grid full.
    m_pool.setMaxThreadCount(std::max(1, std::min(2, QThread::idealThreadCount() - 1)));
}

ThumbnailCache::~ThumbnailCache()
{
    m_pool.clear();
    m_pool.waitForDone();
}

void ThumbnailCache::setStore(std::shared_ptr<const ImageStore> store)
{
    m_store = std::move(store);
    dropAll();
}

void ThumbnailCache::setDecodeStyle(DecodeStyle style)
{
    if (style == m_style)
        return;
    m_style = style;
    dropAll();
}

void ThumbnailCache::dropAll()
{
    m_pool.clear();
    ++m_generation;
    m_cache.clear();
    m_pending.clear();
    m_queued.clear();
    m_running.clear();
    m_failed.clear();
    m_unrotated.clear();
}

QPixmap ThumbnailCache::cached(qint64 id) const
{
    if (const QPixmap *p = m_cache.object(id))
        return *p;
    return {};
}

QPixmap ThumbnailCache::thumbnail(qint64 id, const std::string &source)
{
    if (const QPixmap *p = m_cache.object(id))
        return *p;
    if (!m_store || m_failed.contains(id) || m_running.contains(id))
        return {};
    if (m_queued.contains(id)) {
        // Asked again: it is on screen now, so move it to the front.
        auto it = std::find_if(m_pending.begin(), m_pending.end(), [id](const Request &r) { return r.id == id; });
        if (it != m_pending.end() && it != m_pending.begin()) {
            Request r = std::move(*it);
            m_pending.erase(it);
            m_pending.push_front(std::move(r));
        }
    } else {
        m_pending.push_front({id, source});
        m_queued.insert(id);
        while (int(m_pending.size()) > kMaxPending) {
            m_queued.remove(m_pending.back().id);
            m_pending.pop_back();
        }
    }
    pump();
    return {};
}

void ThumbnailCache::clearPending()
{
    m_pending.clear();
    m_queued.clear();
}

void ThumbnailCache::pump()
{
    // Keep only a few tasks in the pool so that newer (visible) requests are not stuck
    // behind a long queue of stale ones.
    const int maxRunning = m_pool.maxThreadCount() * 2;
    while (!m_pending.empty() && m_running.size() < maxRunning) {
        Request r = std::move(m_pending.front());
        m_pending.pop_front();
        m_queued.remove(r.id);
        m_running.insert(r.id);
        std::shared_ptr<const ImageStore> store = m_store;
        const quint64 generation = m_generation;
        const DecodeStyle style = m_style;
        m_pool.start([this, store, generation, style, r = std::move(r)] {
            QImage image;
            auto mat = store->load(r.source, style);
            if (mat.ok())
                image = shrinkToFit(matToQImage(mat.value()), kMaxSide);
            // Only the styles that ignore the orientation need to know it (a second,
            // header-only read of the file).
            const bool unrotated =
                mat.ok() && style == DecodeStyle::PilRgb && store->exifOrientation(r.source) > 1;
            // Queued to the GUI thread; dropped by Qt if the cache is gone by then
            // (the destructor waits for running tasks anyway).
            QMetaObject::invokeMethod(
                this,
                [this, generation, id = r.id, image, unrotated] { onDecoded(generation, id, image, unrotated); },
                Qt::QueuedConnection);
        });
    }
}

void ThumbnailCache::onDecoded(quint64 generation, qint64 id, const QImage &image, bool unrotated)
{
    if (generation != m_generation)
        return;
    m_running.remove(id);
    if (unrotated)
        m_unrotated.insert(id);
    if (image.isNull()) {
        m_failed.insert(id);
    } else {
        auto *pixmap = new QPixmap(QPixmap::fromImage(image));
        const int costKb = std::max<qint64>(1, qint64(pixmap->width()) * pixmap->height() * pixmap->depth() / 8 / 1024);
        m_cache.insert(id, pixmap, costKb);
    }
    emit ready(id);
    pump();
    if (m_pending.empty() && m_running.isEmpty())
        emit idle();
}

} // namespace traclens
