#pragma once
// The screenshot tour of `traclens --screenshot-dir DIR` (docs/screenshots): once the
// window's influence engine is loaded (MainWindow::engineReady), it selects a
// representative query and review item, grabs every view into DIR/<view>.png, opens and
// grabs each dialog into DIR/dialog-<name>.png (closing it again) and quits the
// application. Tooling for the documentation, kept out of the window: MainWindow only
// learns that nobody is there to answer a message box (setUnattended).
//
// Ownership: a child of the window it tours. Thread safety: GUI thread only. Failure: a
// view that cannot be grabbed is left out; the tour goes on and quits at the end.

#include <QObject>
#include <QString>

namespace traclens {

class MainWindow;

class ScreenshotTour : public QObject {
    Q_OBJECT
public:
    // `evaluationJson`: an evaluation's report.json shown in the report view for one more
    // screenshot (none when empty).
    ScreenshotTour(MainWindow *window, const QString &directory, const QString &evaluationJson = QString());

private:
    void run();

    MainWindow *m_window;
    QString m_dir;
    QString m_evaluation;
    bool m_started = false;
};

} // namespace traclens
