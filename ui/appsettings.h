#pragma once
// Preferences and recent projects, persisted with QSettings (organisation "TracLens",
// application "TracLens", set in main()). One place knows the keys.
//
// Thread safety: GUI thread only (QSettings itself would allow more, the callers don't
// need it).

#include <QByteArray>
#include <QString>
#include <QStringList>

namespace traclens {

class AppSettings {
public:
    static constexpr int kMaxRecent = 10;

    static QStringList recentProjects();
    // Moves `path` to the front; drops the oldest beyond kMaxRecent.
    static void addRecentProject(const QString &path);
    static void removeRecentProject(const QString &path);

    static QByteArray windowGeometry();
    static QByteArray windowState();
    static void setWindowGeometry(const QByteArray &geometry, const QByteArray &state);

    // Influence view.
    static int neighbourCount();            // k, default 12
    static void setNeighbourCount(int k);
    static bool normalisedScores();         // default true (normalised TracIn: docs/influence-default.md)
    static void setNormalisedScores(bool on);

    // Thumbnail tile size in the browser, in pixels (image side), default 72.
    static int thumbnailSize();
    static void setThumbnailSize(int px);

    // Last directory used in a file dialog, per purpose ("dataset", "project", "model", "export");
    // empty when none was used yet (callers choose a sensible start, e.g. the project's folder).
    static QString lastDirectory(const QString &purpose);
    static void setLastDirectory(const QString &purpose, const QString &dir);
};

} // namespace traclens
