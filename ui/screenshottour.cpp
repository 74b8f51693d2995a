#include "screenshottour.h"

#include "appsettings.h"
#include "clusterpage.h"
#include "crossvalidationdialog.h"
#include "datasetbrowserpage.h"
#include "evaluationdialog.h"
#include "examplelistmodel.h"
#include "exportdialog.h"
#include "importmodeldialog.h"
#include "mainwindow.h"
#include "newprojectdialog.h"
#include "projectsession.h"
#include "reportpage.h"
#include "thumbnailcache.h"
#include "trainmodeldialog.h"

#include <QApplication>
#include <QComboBox>
#include <QDialog>
#include <QDir>
#include <QEventLoop>
#include <QLineEdit>
#include <QListWidget>
#include <QPixmap>
#include <QScreen>
#include <QScrollArea>
#include <QScrollBar>
#include <QStackedWidget>
#include <QTimer>

#include <algorithm>
#include <functional>
#include <memory>
#include <vector>

namespace traclens {

ScreenshotTour::ScreenshotTour(MainWindow *window, const QString &directory, const QString &evaluationJson)
    : QObject(window), m_window(window), m_dir(directory), m_evaluation(evaluationJson)
{
    window->setUnattended(true);
    connect(window, &MainWindow::engineReady, this, [this] {
        if (m_started)
            return;
        m_started = true;
        QTimer::singleShot(200, this, &ScreenshotTour::run);
    });
}

namespace {
// The screen's pixels under `widget` and any popup open over it (a combo box's list
// reaches outside its dialog), window frame included when the window manager draws one.
QPixmap grabScreenUnder(QWidget *widget)
{
    QWidget *window = widget->window();
    QRect area = window->frameGeometry();
    if (QWidget *popup = QApplication::activePopupWidget())
        area = area.united(popup->frameGeometry());
    QScreen *screen = window->screen();
    area = area.intersected(screen->geometry());
    return screen->grabWindow(0, area.x(), area.y(), area.width(), area.height());
}
} // namespace

void ScreenshotTour::run()
{
    QDir().mkpath(m_dir);
    // Browser: the most suspicious examples first, one selected so the details show.
    m_window->m_browser->setSort(int(ExampleListModel::Sort::SelfInfluence));
    if (m_window->m_browser->model()->rowCount() > 0)
        m_window->m_browser->selectExample(m_window->m_browser->model()->exampleId(0));

    struct Shot {
        QString name;
        std::function<QWidget *()> prepare;
        // A dialog opened for its picture only: closed (and deleted) once grabbed.
        bool closeAfter = false;
        // Grab the screen under the widget instead of the widget: includes open popups.
        bool fromScreen = false;
    };
    auto shots = std::make_shared<std::vector<Shot>>();
    shots->push_back({"browser", [this] { m_window->showPage(MainWindow::BrowsePage); return static_cast<QWidget *>(m_window); }});
    shots->push_back({"influence", [this] { m_window->showPage(MainWindow::InfluenceView); return static_cast<QWidget *>(m_window); }});
    shots->push_back({"review", [this] { m_window->showPage(MainWindow::ReviewView); return static_cast<QWidget *>(m_window); }});
    shots->push_back({"charts", [this] { m_window->showPage(MainWindow::ChartsView); return static_cast<QWidget *>(m_window); }});
    // Cluster gallery of a few classes (the demo's T-shirt/top, Shirt and Bag; in a project
    // with fewer classes the first, middle and last, each once); clusters are computed (or
    // read) off the GUI thread.
    const int classCount = m_window->m_session ? m_window->m_session->numClasses() : 0;
    std::vector<int> galleryClasses = classCount > 8 ? std::vector<int>{0, 6, 8}
                                                     : std::vector<int>{0, classCount / 2, classCount - 1};
    galleryClasses.erase(std::remove_if(galleryClasses.begin(), galleryClasses.end(),
                                        [&](int c) { return c < 0 || c >= classCount; }),
                         galleryClasses.end());
    galleryClasses.erase(std::unique(galleryClasses.begin(), galleryClasses.end()), galleryClasses.end());
    for (int cls : galleryClasses) {
        shots->push_back({QStringLiteral("clusters-%1").arg(cls), [this, cls] {
            auto *page = m_window->findChild<ClusterPage *>();
            m_window->m_sidebar->setCurrentRow(m_window->m_pages->indexOf(page));
            QEventLoop loop;
            connect(page, &ClusterPage::clustersShown, &loop, &QEventLoop::quit);
            connect(page, &ClusterPage::clustersFailed, &loop, &QEventLoop::quit);
            QTimer::singleShot(300000, &loop, &QEventLoop::quit);
            page->setClass(cls);
            if (page->isBusy() || page->clusters().classIdx != cls || page->clusters().clusters.empty())
                loop.exec();
            return static_cast<QWidget *>(m_window);
        }});
    }
    shots->push_back({"report", [this] {
        auto *page = m_window->findChild<ReportPage *>();
        page->refresh();
        m_window->m_sidebar->setCurrentRow(m_window->m_pages->indexOf(page));
        return static_cast<QWidget *>(m_window);
    }});
    if (!m_evaluation.isEmpty()) {
        shots->push_back({"report-evaluation", [this] {
            auto *page = m_window->findChild<ReportPage *>();
            page->loadEvaluation(m_evaluation);
            // The evaluation is below the project part: scroll to it.
            if (auto *area = page->findChild<QScrollArea *>()) {
                area->widget()->adjustSize();
                area->verticalScrollBar()->setValue(area->verticalScrollBar()->maximum());
            }
            return static_cast<QWidget *>(m_window);
        }});
    }
    // The dialogs, each as it opens: shown (not exec()'d, so the run goes on), grabbed, closed.
    auto openDialog = [](QDialog *dialog) {
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        dialog->show();
        dialog->raise();
        dialog->activateWindow();
        return static_cast<QWidget *>(dialog);
    };
    shots->push_back({"dialog-train-model", [openDialog, this] { return openDialog(new TrainModelDialog(
        m_window->m_session ? m_window->m_session->countOf(Split::Train) : 0, m_window)); },
                      true});
    shots->push_back({"dialog-cross-validate", [openDialog, this] {
        TrainConfig defaults;
        if (m_window->m_session)
            defaults = defaultCrossValidationTrainConfig(m_window->m_session->db());
        return openDialog(new CrossValidationDialog(defaults, m_window));
    }, true});
    shots->push_back({"dialog-import-model", [openDialog, this] {
        auto *dialog = new ImportModelDialog(AppSettings::lastDirectory("model"), m_window);
        if (m_window->m_session && m_window->m_session->model())
            dialog->directoryEdit()->setText(QString::fromStdString(m_window->m_session->model()->directory));
        return openDialog(dialog);
    }, true});
    // As Run Evaluation and Calibrate open them: with the project's model settings.
    auto evaluationDialog = [this](bool calibrating) {
        return m_window->findChild<ReportPage *>()->createEvaluationDialog(calibrating, m_window);
    };
    shots->push_back({"dialog-evaluation", [openDialog, evaluationDialog] {
        return openDialog(evaluationDialog(false));
    }, true});
    shots->push_back({"dialog-calibrate", [openDialog, evaluationDialog] {
        return openDialog(evaluationDialog(true));
    }, true});
    // The noise type's choices: the list open, taken from the screen.
    shots->push_back({"dialog-evaluation-noise-type", [openDialog, evaluationDialog] {
        QWidget *dialog = openDialog(evaluationDialog(false));
        if (auto *type = dialog->findChild<QComboBox *>("noiseType"))
            QTimer::singleShot(200, type, &QComboBox::showPopup);
        return dialog;
    }, true, true});
    shots->push_back({"dialog-new-project", [openDialog, this] { return openDialog(new NewProjectDialog(m_window)); },
                      true});
    shots->push_back({"export", [this] {
        m_window->exportLabels();
        return static_cast<QWidget *>(m_window->m_exportDialog.data());
    }});
    shots->push_back({"welcome", [this] {
        if (m_window->m_exportDialog)
            m_window->m_exportDialog->close();
        m_window->closeProject();
        return static_cast<QWidget *>(m_window);
    }});
    auto index = std::make_shared<size_t>(0);
    auto waited = std::make_shared<int>(0);
    auto step = std::make_shared<std::function<void()>>();
    *step = [this, shots, index, waited, step] {
        if (*index >= shots->size()) {
            if (m_window->m_exportDialog)
                m_window->m_exportDialog->close();
            qApp->quit();
            return;
        }
        Shot &shot = (*shots)[*index];
        QWidget *target = shot.prepare();
        // Wait until the visible thumbnails are decoded (at most ~6 s), then grab.
        auto poll = std::make_shared<std::function<void()>>();
        *waited = 0;
        *poll = [this, target, shot, index, waited, step, poll] {
            const bool busy = m_window->m_session && m_window->m_session->thumbnails()->pendingCount() > 0;
            if (busy && ++*waited < 60) {
                QTimer::singleShot(100, this, *poll);
                return;
            }
            const QString file = QDir(m_dir).filePath(shot.name + ".png");
            if (target && shot.fromScreen)
                grabScreenUnder(target).save(file);
            else if (target)
                target->grab().save(file);
            if (target && shot.closeAfter) {
                // An open popup first, so the dialog closes as a person would close it.
                if (QWidget *popup = QApplication::activePopupWidget())
                    popup->close();
                target->close();
            }
            ++*index;
            QTimer::singleShot(50, this, *step);
        };
        QTimer::singleShot(600, this, *poll);
    };
    QTimer::singleShot(0, this, *step);
}

} // namespace traclens
