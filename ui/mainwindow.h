#pragma once
// The main window: a welcome page when no project is open; otherwise a sidebar of pages
// (browse, influence, review, charts), the export dialog, menus, and a status bar with
// the background job's progress, time left and a cancel button.
//
// It owns the JobController (the worker thread) and the ProjectSession of the open
// project, and routes the worker's results: an imported dataset reloads the examples
// (browsable while training and compute go on), a trained model and computed factors
// reload the model data, a loaded engine enables the influence and review pages.
// Failures become dialogs that say what is wrong and what to do.
//
// Ownership: owns everything it shows. Thread safety: GUI thread only.

#include "errorhints.h"
#include "influence/influenceindex.h"
#include "jobkind.h"
#include "projectplan.h"
#include "influence/ranking.h"

#include <QHash>
#include <QMainWindow>
#include <QPointer>

#include <functional>
#include <memory>

class QActionGroup;
class QLabel;
class QListWidget;
class QMenu;
class QStackedWidget;
class QUndoGroup;

namespace traclens {

class ChartsPage;
class DatasetBrowserPage;
class ExampleActions;
class HelpDialog;
class SkippedFilesDialog;
class ExportDialog;
class InfluencePage;
class JobController;
class JobStatusWidget;
class ProjectSession;
class ReviewPage;
class WelcomePage;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    // Sidebar rows, in order; View ▸ <page> and Ctrl+1… follow it.
    enum Page { BrowsePage = 0, InfluenceView, ReviewView, ChartsView, ClustersView, ReportView, PageCount };

    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    // Opens an existing project and finishes whatever its plan left undone. When another
    // TracLens has it open for writing, the failure dialog offers "Open Read-Only".
    bool openProject(const QString &path);
    // Opens an existing project read-only (ProjectSession::openReadOnly): browsing and
    // influence queries work beside another TracLens that writes it; editing actions are
    // disabled, "read-only" shows in the title and status bar, and an edit is refused
    // with a dialog that says why.
    bool openProjectReadOnly(const QString &path);
    // Creates (or reopens) a project, stores `plan` in it and runs it in the background.
    bool createProject(const QString &path, const ProjectPlan &plan);
    // The Fashion-MNIST demo: AppDataLocation/demo/fashion-mnist.traclens, imported,
    // trained (built-in CNN, 3 epochs) and computed as needed.
    bool openDemo(const QString &datasetDir = QString());
    void closeProject();

    // No message box that waits for a person (the screenshot tour, screenshottour.h): the
    // under-training warning and the retrain result show in the status bar only.
    void setUnattended(bool unattended) { m_unattended = unattended; }
    // The yes/no question asked before the window runs a model it may not run silently (a
    // model outside the project, a changed checkpoint file): a modal QMessageBox unless a
    // handler is set. Tests set one to answer without a person. Returns true to go ahead.
    using Question = std::function<bool(const QString &title, const QString &text, const QString &acceptLabel)>;
    void setQuestionHandler(Question question) { m_question = std::move(question); }

    ProjectSession *session() const { return m_session.get(); }
    JobController *jobs() const { return m_jobs; }
    DatasetBrowserPage *browserPage() const { return m_browser; }
    InfluencePage *influencePage() const { return m_influence; }
    ReviewPage *reviewPage() const { return m_review; }
    ChartsPage *chartsPage() const { return m_charts; }
    void showPage(Page page);
    Page currentPage() const;
    // The tile menu and keys of every grid (see ExampleActions); null without a project.
    ExampleActions *exampleActions() const { return m_exampleActions; }
    // The files and CSV rows the last import skipped, as the status bar reports them.
    int skippedCount() const { return m_skippedCount; }
    // Project ▸ Skipped Files…: opens (non-modal) the "skippedFilesDialog" and returns it.
    SkippedFilesDialog *showSkippedFiles();
    // Help ▸ Guide / Keyboard Shortcuts: opens (non-modal) the help dialog and returns it.
    HelpDialog *showHelp(int topic); // a HelpDialog::Topic; one dialog per topic

    static QString demoProjectPath();
    static QString defaultDemoDataset();

signals:
    // The engine of the open project was (re)loaded and the pages are up to date.
    void engineReady();

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    // The tour drives the window's pages and dialogs as a person would.
    friend class ScreenshotTour;

    void createActions();
    void createMenus();
    bool openSession(const QString &path, bool create, const ProjectPlan *plan, bool readOnly = false);
    void buildProjectView();
    void updateActions();
    void updateSummary();
    void updateRecentMenu();
    // Re-reads ProjectDb::skipped() into the status bar's "N skipped — Show…" link.
    void updateSkipped();
    void findExample();
    // A window-modal dialog, object name "failureDialog". With `readOnlyPath`, a busy
    // project's dialog also has an "Open Read-Only" button ("openReadOnlyButton").
    void reportFailure(FailureContext context, const Status &status, const QString &readOnlyPath = QString());
    bool ask(const QString &title, const QString &text, const QString &acceptLabel);
    // After a failed compute: when the active model is untrusted or a checkpoint file
    // changed, asks and queues the compute again with consent. True when it handled it.
    bool offerModelConsent();
    void onStepFinished(qint64 jobId, JobKind kind, const Status &status);
    void onFinished(qint64 jobId, JobKind kind, const Status &status);
    void onEngineLoaded(qint64 jobId, std::shared_ptr<InfluenceIndex> engine);
    void trackJob(qint64 jobId) { m_sessionJobs.insert(jobId, false); }
    void newProject();
    void openProjectDialog();
    void exportLabels();
    void trainModel();
    // Asks K and the epochs, then runs the cross-validation job (crossvalidation.h).
    void crossValidate();
    // After Train Model: how training stopped in the status bar, and the under-training
    // warning (core/influence/flagging.h) in a box when it applies.
    void showTrainingOutcome();
    void importModelDialog();
    void retrainWithCorrections();
    void showRetrainResult(double accuracyBefore, double accuracyAfter, qint64 labelChanges);
    void computeInfluence();
    void continueSetup();
    void reimportDataset();
    void chooseRepresentativeItems();
    void about();

    JobController *m_jobs;
    std::unique_ptr<ProjectSession> m_session;
    QUndoGroup *m_undoGroup;
    QStackedWidget *m_central;
    WelcomePage *m_welcome;
    QWidget *m_projectView = nullptr;
    QListWidget *m_sidebar = nullptr;
    QStackedWidget *m_pages = nullptr;
    DatasetBrowserPage *m_browser = nullptr;
    InfluencePage *m_influence = nullptr;
    ReviewPage *m_review = nullptr;
    ChartsPage *m_charts = nullptr;
    QPointer<ExportDialog> m_exportDialog;
    JobStatusWidget *m_jobStatus;
    QLabel *m_summary;
    QLabel *m_readOnlyBadge; // "Read-only" in the status bar while the session is read-only
    QLabel *m_skippedBadge;  // "N skipped — Show…" while the last import skipped something
    int m_skippedCount = 0;
    ExampleActions *m_exampleActions = nullptr;
    QPointer<SkippedFilesDialog> m_skippedDialog;
    QMenu *m_recentMenu = nullptr;
    QHash<QString, QAction *> m_actions;
    QHash<qint64, bool> m_sessionJobs; // job ids of the open project → an error was shown
    // The rank job computing the session's default order (ProjectSession::defaultRankingWanted),
    // with the model and spec it was asked for; −1 when none is running.
    qint64 m_defaultRankJob = -1;
    qint64 m_defaultRankModel = -1;
    RankingSpec m_defaultRankSpec;
    Question m_question;
    bool m_unattended = false;
};

} // namespace traclens
