#pragma once
// Shown when no project is open: new project, open project, the Fashion-MNIST demo and
// the recent projects.
//
// Thread safety: GUI thread only.

#include <QWidget>

class QListWidget;

namespace traclens {

class WelcomePage : public QWidget {
    Q_OBJECT
public:
    explicit WelcomePage(QWidget *parent = nullptr);
    // Re-reads the recent projects from AppSettings.
    void refreshRecent();

signals:
    void newProjectRequested();
    void openProjectRequested();
    void demoRequested();
    void recentRequested(const QString &path);

private:
    QListWidget *m_recent;
};

} // namespace traclens
