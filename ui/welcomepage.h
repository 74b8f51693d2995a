#pragma once
// Shown when no project is open: new project, open project, the Fashion-MNIST demo and
// the recent projects (one click or Enter opens one).
//
// Thread safety: GUI thread only.

#include <QWidget>

class QListWidget;
class QListWidgetItem;

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

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void openRecent(const QListWidgetItem *item);
    QListWidget *m_recent;
};

} // namespace traclens
