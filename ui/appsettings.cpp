#include "appsettings.h"

#include <QDir>
#include <QSettings>

namespace traclens {

QStringList AppSettings::recentProjects()
{
    return QSettings().value("recentProjects").toStringList();
}

void AppSettings::addRecentProject(const QString &path)
{
    const QString abs = QDir::cleanPath(QDir(path).absolutePath());
    QStringList list = recentProjects();
    list.removeAll(abs);
    list.prepend(abs);
    while (list.size() > kMaxRecent)
        list.removeLast();
    QSettings().setValue("recentProjects", list);
}

void AppSettings::removeRecentProject(const QString &path)
{
    QStringList list = recentProjects();
    list.removeAll(path);
    QSettings().setValue("recentProjects", list);
}

QByteArray AppSettings::windowGeometry() { return QSettings().value("window/geometry").toByteArray(); }
QByteArray AppSettings::windowState() { return QSettings().value("window/state").toByteArray(); }

void AppSettings::setWindowGeometry(const QByteArray &geometry, const QByteArray &state)
{
    QSettings s;
    s.setValue("window/geometry", geometry);
    s.setValue("window/state", state);
}

int AppSettings::neighbourCount() { return qBound(1, QSettings().value("influence/k", 12).toInt(), 100); }
void AppSettings::setNeighbourCount(int k) { QSettings().setValue("influence/k", k); }
bool AppSettings::normalisedScores() { return QSettings().value("influence/normalised", true).toBool(); }
void AppSettings::setNormalisedScores(bool on) { QSettings().setValue("influence/normalised", on); }

int AppSettings::thumbnailSize() { return qBound(32, QSettings().value("browser/thumbnailSize", 72).toInt(), 256); }
void AppSettings::setThumbnailSize(int px) { QSettings().setValue("browser/thumbnailSize", px); }

QString AppSettings::lastDirectory(const QString &purpose)
{
    return QSettings().value("dirs/" + purpose).toString();
}

void AppSettings::setLastDirectory(const QString &purpose, const QString &dir)
{
    QSettings().setValue("dirs/" + purpose, dir);
}

} // namespace traclens
