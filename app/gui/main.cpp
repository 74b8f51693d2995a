// traclens: the desktop application. Only argument parsing and start-up live here;
// everything else is in the ui library.

#include "englishplurals.h"
#include "mainwindow.h"
#include "screenshottour.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QIcon>
#include <QStyleFactory>
#include <QTimer>

#include <cstdio>

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName("TracLens");
    QApplication::setApplicationName("TracLens");
    QApplication::setApplicationVersion(QStringLiteral(TRACLENS_VERSION));
    QApplication::setWindowIcon(QIcon(":/traclens/traclens.svg"));
    QApplication::setDesktopFileName("traclens");
    // "%n file(s)" in English: 1 file, 2 files (englishplurals.h).
    traclens::EnglishPlurals plurals;
    QApplication::installTranslator(&plurals);
    // Fusion looks the same on every desktop and under Xvfb, which keeps screenshots
    // and bug reports comparable; --style still overrides it.
    if (!qEnvironmentVariableIsSet("QT_STYLE_OVERRIDE"))
        QApplication::setStyle(QStyleFactory::create("Fusion"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Debug image-classification datasets with TracIn."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument("project", QStringLiteral("A .traclens project file to open."), "[project]");
    QCommandLineOption demo("demo", QStringLiteral("Open the Fashion-MNIST demo project (created, trained and "
                                                   "computed in the background as needed)."));
    QCommandLineOption demoData("demo-dataset",
                                QStringLiteral("Folder of the Fashion-MNIST IDX files for --demo."), "dir");
    QCommandLineOption shotDir("screenshot-dir",
                               QStringLiteral("Once influence is loaded, save every view as DIR/<view>.png and quit."),
                               "dir");
    shotDir.setFlags(QCommandLineOption::HiddenFromHelp);
    QCommandLineOption shotAll("screenshot-all", QStringLiteral("Same as --screenshot-dir docs/screenshots."));
    shotAll.setFlags(QCommandLineOption::HiddenFromHelp);
    QCommandLineOption shotEvaluation("screenshot-evaluation",
                                      QStringLiteral("With --screenshot-dir: also show this evaluation report.json "
                                                     "in the report view (report-evaluation.png)."),
                                      "file");
    shotEvaluation.setFlags(QCommandLineOption::HiddenFromHelp);
    QCommandLineOption shotSize("screenshot-size",
                                QStringLiteral("With --screenshot-dir: the window size, WIDTHxHEIGHT (1480x920)."),
                                "size", QStringLiteral("1480x920"));
    shotSize.setFlags(QCommandLineOption::HiddenFromHelp);
    parser.addOptions({demo, demoData, shotDir, shotAll, shotEvaluation, shotSize});
    parser.process(app);

    const QStringList positional = parser.positionalArguments();
    if (positional.size() > 1) {
        std::fprintf(stderr, "traclens: give at most one project file\n");
        return 2;
    }
    if (parser.isSet(demo) && !positional.isEmpty()) {
        std::fprintf(stderr, "traclens: --demo and a project file exclude each other\n");
        return 2;
    }

    traclens::MainWindow window;
    QString screenshots = parser.value(shotDir);
    if (screenshots.isEmpty() && parser.isSet(shotAll))
        screenshots = QStringLiteral("docs/screenshots");
    if (!screenshots.isEmpty()) {
        new traclens::ScreenshotTour(&window, QDir(screenshots).absolutePath(),
                                     parser.isSet(shotEvaluation)
                                         ? QFileInfo(parser.value(shotEvaluation)).absoluteFilePath()
                                         : QString());
        // A fixed size, whatever the saved geometry: screenshots stay comparable.
        const QStringList size = parser.value(shotSize).split(QLatin1Char('x'));
        const int width = size.value(0).toInt(), height = size.value(1).toInt();
        if (size.size() != 2 || width <= 0 || height <= 0) {
            std::fprintf(stderr, "traclens: --screenshot-size takes WIDTHxHEIGHT, e.g. 1280x720\n");
            return 2;
        }
        window.resize(width, height);
    }
    window.show();

    // Open after the event loop starts, so the window is on screen while the project loads.
    QTimer::singleShot(0, &window, [&] {
        if (parser.isSet(demo))
            window.openDemo(parser.value(demoData));
        else if (!positional.isEmpty())
            window.openProject(positional.front());
    });
    return app.exec();
}
