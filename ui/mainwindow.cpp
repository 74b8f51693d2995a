#include "mainwindow.h"

#include "appsettings.h"
#include "crossvalidationdialog.h"
#include "model/checkpointcheck.h"
#include "chartspage.h"
#include "clusterpage.h"
#include "model/crossvalidation.h"
#include "datasetbrowserpage.h"
#include "exampleactions.h"
#include "examplelistmodel.h"
#include "evaluationdialog.h"
#include "exportdialog.h"
#include "influence/flagging.h"
#include "helpdialog.h"
#include "importmodeldialog.h"
#include "influencepage.h"
#include "jobcontroller.h"
#include "jobstatuswidget.h"
#include "model/modeltrust.h"
#include "newprojectdialog.h"
#include "projectsession.h"
#include "reportpage.h"
#include "reviewpage.h"
#include "skippedfilesdialog.h"
#include "thumbnailcache.h"
#include "tileview.h"
#include "model/trainjob.h"
#include "trainmodeldialog.h"
#include "welcomepage.h"
#include "uiresources.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QSpinBox>
#include <QDateTime>
#include <QDir>
#include <QEventLoop>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QLineEdit>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QListWidget>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollBar>
#include <QScreen>
#include <QScrollArea>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTimer>
#include <QUndoGroup>
#include <QUndoStack>

namespace traclens {

namespace {
FailureContext contextOf(JobKind kind)
{
    switch (kind) {
    case JobKind::Import: return FailureContext::Import;
    case JobKind::Train: return FailureContext::Train;
    case JobKind::ImportModel: return FailureContext::ImportModel;
    case JobKind::Compute: return FailureContext::Compute;
    case JobKind::LoadEngine: return FailureContext::LoadEngine;
    case JobKind::Export: return FailureContext::Export;
    case JobKind::Rank: return FailureContext::LoadEngine;
    case JobKind::Retrain: return FailureContext::Train;
    case JobKind::Evaluate: return FailureContext::Train;
    case JobKind::CrossValidate: return FailureContext::Train;
    case JobKind::Cluster: return FailureContext::LoadEngine;
    case JobKind::Plan: return FailureContext::OpenProject;
    }
    return FailureContext::OpenProject;
}

const char *kSidebarStyle = R"(
QListWidget#sidebar { background: palette(window); border: none; border-right: 1px solid palette(mid);
                      padding-top: 8px; outline: 0; }
QListWidget#sidebar::item { padding: 9px 10px; margin: 2px 8px; border-radius: 6px; color: palette(text); }
QListWidget#sidebar::item:selected { background: rgba(61, 111, 217, 45); color: palette(text);
                                      border-left: 3px solid rgb(61, 111, 217); font-weight: 600; }
QListWidget#sidebar::item:hover:!selected { background: rgba(61, 111, 217, 30); }
QFrame#detailsPane { border: none; border-left: 1px solid palette(mid); background: palette(base); }
)";
} // namespace

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent), m_jobs(new JobController(this)), m_undoGroup(new QUndoGroup(this))
{
    ensureUiResources();
    setWindowTitle(tr("TracLens"));
    setWindowIcon(QIcon(":/traclens/traclens.svg"));
    setStyleSheet(kSidebarStyle);

    m_central = new QStackedWidget;
    m_welcome = new WelcomePage;
    m_central->addWidget(m_welcome);
    setCentralWidget(m_central);

    m_summary = new QLabel;
    m_summary->setForegroundRole(QPalette::PlaceholderText);
    m_jobStatus = new JobStatusWidget;
    statusBar()->addPermanentWidget(m_jobStatus);
    statusBar()->addPermanentWidget(m_summary);
    m_readOnlyBadge = new QLabel(tr("Read-only"));
    m_readOnlyBadge->setObjectName("readOnlyBadge");
    m_readOnlyBadge->setToolTip(tr("Another TracLens has this project open for writing. You can browse it and "
                                   "ask influence questions; to edit labels or run jobs, close it there and "
                                   "open it again here."));
    m_readOnlyBadge->setStyleSheet("QLabel { font-weight: bold; padding: 0 6px; }");
    m_readOnlyBadge->hide();
    statusBar()->addPermanentWidget(m_readOnlyBadge);
    m_skippedBadge = new QLabel;
    m_skippedBadge->setObjectName("skippedBadge");
    m_skippedBadge->setToolTip(tr("Files or CSV rows the import could not use; click for the list and the reasons"));
    m_skippedBadge->hide();
    connect(m_skippedBadge, &QLabel::linkActivated, this, [this] { showSkippedFiles(); });
    statusBar()->addPermanentWidget(m_skippedBadge);

    createActions();
    createMenus();

    connect(m_welcome, &WelcomePage::newProjectRequested, this, &MainWindow::newProject);
    connect(m_welcome, &WelcomePage::openProjectRequested, this, &MainWindow::openProjectDialog);
    connect(m_welcome, &WelcomePage::demoRequested, this, [this] { openDemo(); });
    connect(m_welcome, &WelcomePage::recentRequested, this, &MainWindow::openProject);

    JobController *w = m_jobs;
    connect(w, &JobController::started, m_jobStatus, &JobStatusWidget::jobStarted);
    connect(w, &JobController::started, this, [this](qint64, JobKind kind) {
        const bool editing = kind != JobKind::Plan && kind != JobKind::Import && kind != JobKind::Compute
                             && !(m_session && m_session->isReadOnly());
        if (m_browser)
            m_browser->setEditingEnabled(editing);
        if (m_exampleActions)
            m_exampleActions->setEditingEnabled(editing);
    });
    connect(w, &JobController::progress, m_jobStatus, &JobStatusWidget::jobProgress);
    connect(w, &JobController::stepFinished, this, &MainWindow::onStepFinished);
    connect(w, &JobController::finished, this, &MainWindow::onFinished);
    connect(w, &JobController::selfInfluenceLoaded, this,
            [this](qint64 id, qint64 modelId, const QVector<qint64> &ids, const QVector<double> &values) {
                if (!m_session || !m_sessionJobs.contains(id))
                    return;
                if (m_session->modelId() != std::optional<int64_t>(modelId))
                    m_session->reloadModel(false);
                m_session->setSelfInfluence(modelId, ids, values);
            });
    connect(w, &JobController::engineLoaded, this, &MainWindow::onEngineLoaded);
    connect(w, &JobController::modelMissing, this, [this](qint64 id) {
        if (m_sessionJobs.contains(id))
            statusBar()->showMessage(tr("This project has no model yet: use Project ▸ Train Model or Import Model."));
    });
    connect(w, &JobController::rankingReady, this,
            [this](qint64 id, int kind, const QString &name, const QVector<qint64> &ids) {
                if (!m_session || !m_sessionJobs.contains(id))
                    return;
                // The default's order replaces the stand-in only while the queue follows the
                // default (the session decides); a person's pick is applied as asked.
                if (id == m_defaultRankJob)
                    m_session->setDefaultOrder(m_defaultRankModel, m_defaultRankSpec,
                                               std::vector<qint64>(ids.begin(), ids.end()));
                else
                    m_session->setReviewOrder(std::vector<qint64>(ids.begin(), ids.end()), name, kind);
            });
    connect(w, &JobController::retrained, this, [this](qint64 id, qint64, double before, double after, qint64 changes) {
        if (m_session && m_sessionJobs.contains(id))
            showRetrainResult(before, after, changes);
    });
    connect(m_jobStatus, &JobStatusWidget::cancelRequested, this, [this] {
        m_jobs->cancelAll();
        statusBar()->showMessage(tr("Cancelling… finished parts are kept and resume next time."), 5000);
    });
    connect(m_jobs, &JobController::busyChanged, this, &MainWindow::updateActions);

    if (!restoreGeometry(AppSettings::windowGeometry())) {
        // First start: 1440 × 900, or 95 % of a smaller screen, so no edge is off screen.
        QSize size(1440, 900);
        if (const QScreen *s = screen())
            size = size.boundedTo(s->availableGeometry().size() * 0.95);
        resize(size);
    }
    restoreState(AppSettings::windowState());
    updateActions();
    updateRecentMenu();
}

MainWindow::~MainWindow()
{
    // Stop the worker before the session (and its engine) go away.
    m_jobs->shutdown();
    closeProject();
}

QString MainWindow::demoProjectPath()
{
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)).filePath("demo/fashion-mnist.traclens");
}

QString MainWindow::defaultDemoDataset()
{
    const QString env = qEnvironmentVariable("TRACLENS_DEMO_DATASET");
    return env.isEmpty() ? QStringLiteral("/usr/share/datasets/fashion-mnist") : env;
}

void MainWindow::createActions()
{
    auto add = [this](const QString &key, const QString &text, const QKeySequence &shortcut, auto slot) {
        auto *a = new QAction(text, this);
        a->setObjectName(key + QStringLiteral("Action")); // for tests and the keyboard map
        if (!shortcut.isEmpty())
            a->setShortcut(shortcut);
        connect(a, &QAction::triggered, this, slot);
        m_actions.insert(key, a);
        addAction(a);
        return a;
    };
    add("new", tr("&New Project…"), QKeySequence::New, &MainWindow::newProject);
    add("open", tr("&Open Project…"), QKeySequence::Open, &MainWindow::openProjectDialog);
    add("demo", tr("Open &Demo Project"), {}, [this] { openDemo(); });
    add("close", tr("&Close Project"), QKeySequence::Close, &MainWindow::closeProject);
    add("export", tr("&Export Labels…"), QKeySequence(Qt::CTRL | Qt::Key_E), &MainWindow::exportLabels)
        ->setIcon(QIcon(":/traclens/icons/export.svg"));
    add("quit", tr("&Quit"), QKeySequence::Quit, &QWidget::close);
    add("resume", tr("Continue &Setup"), {}, &MainWindow::continueSetup)
        ->setToolTip(tr("Finish what the project still lacks: import, model, influence"));
    add("reimport", tr("&Re-import Dataset"), {}, &MainWindow::reimportDataset);
    add("train", tr("&Train Model…"), {}, &MainWindow::trainModel);
    add("importModel", tr("&Import Model…"), {}, &MainWindow::importModelDialog);
    add("retrain", tr("&Retrain with My Corrections"), {}, &MainWindow::retrainWithCorrections)
        ->setToolTip(tr("Train the model again on the labels as you corrected them, and compare test accuracy"));
    add("crossValidate", tr("Cross-&validate…"), {}, &MainWindow::crossValidate)
        ->setToolTip(tr("Train K models on K−1 folds each, so every training example gets scores from a model "
                        "that never saw it"));
    add("compute", tr("&Compute Influence"), {}, &MainWindow::computeInfluence);
    add("evaluate", tr("Run &Evaluation…"), {}, [this] {
        auto *page = findChild<ReportPage *>();
        if (!page)
            return;
        m_sidebar->setCurrentRow(m_pages->indexOf(page));
        page->runEvaluation();
    })->setToolTip(tr("Measure how many wrong labels each review ranking finds, on a copy of the dataset with "
                      "labels flipped on purpose (uniform, pair or confusion noise)"));
    add("calibrate", tr("&Calibrate the Review Queue…"), {}, [this] {
        auto *page = findChild<ReportPage *>();
        if (!page)
            return;
        m_sidebar->setCurrentRow(m_pages->indexOf(page));
        page->runCalibration();
    })->setToolTip(tr("Run the evaluation on this project's own dataset and make the ranking that found the most "
                      "flipped labels this project's default review queue"));
    add("cancel", tr("C&ancel Background Work"), QKeySequence(Qt::Key_Escape), [this] { m_jobs->cancelAll(); });
    add("about", tr("&About TracLens"), {}, &MainWindow::about);
    add("guide", tr("TracLens &Guide"), QKeySequence::HelpContents, [this] { showHelp(int(HelpDialog::Topic::Guide)); })
        ->setToolTip(tr("What each page shows and what its scores mean"));
    add("keyboard", tr("&Keyboard Shortcuts"), {}, [this] { showHelp(int(HelpDialog::Topic::Keyboard)); });
    add("pythonModel", tr("Import a &PyTorch Model…"), {}, [this] { showHelp(int(HelpDialog::Topic::PythonModel)); })
        ->setToolTip(tr("Where the Python helper is, and the lines a training loop needs"));
    add("skipped", tr("S&kipped Files…"), {}, [this] { showSkippedFiles(); })
        ->setToolTip(tr("Files and CSV rows the last import could not use, and why"));
    add("find", tr("&Find Example…"), QKeySequence::Find, &MainWindow::findExample)
        ->setToolTip(tr("Go to an example in Browse by its id or file name"));

    QAction *undo = m_undoGroup->createUndoAction(this, tr("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    QAction *redo = m_undoGroup->createRedoAction(this, tr("&Redo"));
    redo->setShortcuts({QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z), QKeySequence(Qt::CTRL | Qt::Key_Y)});
    m_actions.insert("undo", undo);
    m_actions.insert("redo", redo);
    addAction(undo);
    addAction(redo);
}

void MainWindow::createMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(m_actions["new"]);
    file->addAction(m_actions["open"]);
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    file->addAction(m_actions["demo"]);
    file->addSeparator();
    file->addAction(m_actions["export"]);
    file->addSeparator();
    file->addAction(m_actions["close"]);
    file->addAction(m_actions["quit"]);

    QMenu *edit = menuBar()->addMenu(tr("&Edit"));
    edit->addAction(m_actions["undo"]);
    edit->addAction(m_actions["redo"]);
    edit->addSeparator();
    edit->addAction(m_actions["find"]);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    const QStringList names{tr("&Browse"), tr("&Influence"), tr("&Review Queue"),
                            tr("C&harts"), tr("C&lusters"), tr("Re&port")};
    for (int p = 0; p < PageCount; ++p) {
        auto *a = view->addAction(names[p], this, [this, p] { showPage(Page(p)); });
        a->setShortcut(QKeySequence(Qt::CTRL | (Qt::Key_1 + p)));
        a->setObjectName(QStringLiteral("page%1Action").arg(p));
        m_actions.insert(QStringLiteral("page%1").arg(p), a);
    }

    QMenu *project = menuBar()->addMenu(tr("&Project"));
    project->addAction(m_actions["resume"]);
    project->addSeparator();
    project->addAction(m_actions["reimport"]);
    project->addAction(m_actions["train"]);
    project->addAction(m_actions["importModel"]);
    project->addAction(m_actions["retrain"]);
    project->addAction(m_actions["crossValidate"]);
    project->addAction(m_actions["compute"]);
    project->addAction(m_actions["evaluate"]);
    project->addAction(m_actions["calibrate"]);
    project->addSeparator();
    project->addAction(m_actions["skipped"]);
    project->addSeparator();
    project->addAction(m_actions["cancel"]);

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(m_actions["guide"]);
    help->addAction(m_actions["keyboard"]);
    help->addAction(m_actions["pythonModel"]);
    help->addSeparator();
    help->addAction(m_actions["about"]);
}

void MainWindow::updateRecentMenu()
{
    m_recentMenu->clear();
    const QStringList recent = AppSettings::recentProjects();
    for (const QString &path : recent)
        m_recentMenu->addAction(QFileInfo(path).completeBaseName() + QStringLiteral("  —  ") + path, this,
                                [this, path] { openProject(path); });
    m_recentMenu->setEnabled(!recent.isEmpty());
    m_welcome->refreshRecent();
}

void MainWindow::updateActions()
{
    const bool open = m_session != nullptr;
    const bool busy = m_jobs->isBusy();
    for (const char *key : {"close", "export"})
        m_actions[key]->setEnabled(open);
    // A read-only session writes nothing: every action that changes the project is off.
    const bool writable = open && !m_session->isReadOnly();
    const bool hasData = writable && m_session->hasDataset();
    m_actions["resume"]->setEnabled(writable && !busy && !m_session->engine());
    m_actions["reimport"]->setEnabled(hasData && !busy);
    m_actions["train"]->setEnabled(hasData && !busy);
    m_actions["importModel"]->setEnabled(hasData && !busy);
    m_actions["crossValidate"]->setEnabled(hasData && !busy);
    m_actions["retrain"]->setEnabled(hasData && m_session->modelId().has_value() && !busy);
    m_actions["compute"]->setEnabled(writable && m_session->modelId().has_value() && !busy);
    m_actions["evaluate"]->setEnabled(open && m_session->hasDataset() && !busy);
    m_actions["calibrate"]->setEnabled(writable && m_session->hasDataset() && !busy);
    const QString readOnlyTip = open && !writable ? tr("The project is open read-only") : QString();
    for (const char *key : {"resume", "reimport", "train", "importModel", "retrain", "crossValidate", "compute"})
        m_actions[key]->setStatusTip(readOnlyTip);
    m_readOnlyBadge->setVisible(open && !writable);
    m_actions["cancel"]->setEnabled(busy);
    for (int p = 0; p < PageCount; ++p)
        m_actions[QStringLiteral("page%1").arg(p)]->setEnabled(open);
    m_actions["skipped"]->setEnabled(open);
    m_actions["find"]->setEnabled(open);
}

void MainWindow::updateSummary()
{
    if (!m_session) {
        m_summary->clear();
        return;
    }
    const QLocale l;
    QString text = tr("%1 train · %2 test · %3 classes")
                       .arg(l.toString(qlonglong(m_session->countOf(Split::Train))))
                       .arg(l.toString(qlonglong(m_session->countOf(Split::Test))))
                       .arg(m_session->numClasses());
    if (const auto &model = m_session->model())
        text += tr(" · model %1").arg(QString::fromStdString(model->name));
    if (auto engine = m_session->engine())
        text += tr(" (%1 checkpoints)").arg(engine->numCheckpoints());
    m_summary->setText(text);
}

void MainWindow::reportFailure(FailureContext context, const Status &status, const QString &readOnlyPath)
{
    const FailureText t = describeFailure(context, status);
    statusBar()->showMessage(t.title + QStringLiteral(": ") + t.what, 10000);
    // Window-modal and non-blocking: background work and tests go on behind it.
    auto *box = new QMessageBox(QMessageBox::Warning, t.title, t.what, QMessageBox::Ok, this);
    box->setInformativeText(t.advice);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setObjectName("failureDialog");
    if (!readOnlyPath.isEmpty()) {
        QPushButton *readOnly = box->addButton(tr("Open Read-Only"), QMessageBox::AcceptRole);
        readOnly->setObjectName("openReadOnlyButton");
        box->setDefaultButton(readOnly);
        // Queued: the session opens after the dialog has closed, not inside its click.
        connect(readOnly, &QPushButton::clicked, this,
                [this, readOnlyPath] { openProjectReadOnly(readOnlyPath); }, Qt::QueuedConnection);
    }
    box->open();
}

bool MainWindow::ask(const QString &title, const QString &text, const QString &acceptLabel)
{
    if (m_question)
        return m_question(title, text, acceptLabel);
    QMessageBox box(QMessageBox::Warning, title, text, QMessageBox::NoButton, this);
    box.setObjectName("modelQuestion");
    QPushButton *accept = box.addButton(acceptLabel, QMessageBox::AcceptRole);
    box.setDefaultButton(box.addButton(QMessageBox::Cancel));
    box.exec();
    return box.clickedButton() == accept;
}

bool MainWindow::offerModelConsent()
{
    if (!m_session)
        return false;
    ProjectDb &db = m_session->db();
    auto active = db.activeModel();
    if (!active.ok() || !active->has_value())
        return false;
    const int64_t model = **active;
    // Asked in this order because compute checks in this order: nothing of an untrusted
    // model is read, not even to compare its files.
    auto untrusted = untrustedModelDirectory(db, model);
    if (!untrusted.ok())
        return false;
    if (untrusted->has_value()) {
        const QString dir = QString::fromStdString(**untrusted);
        if (!ask(tr("Run a model from outside the project?"),
                 tr("This project runs the model in %1, which is outside the project folder.\n\n"
                    "TorchScript models are programs: running one lets it do anything TracLens can do with your "
                    "files. Run it only if you trust where this model and this project came from. Your answer is "
                    "remembered for this project.")
                     .arg(QDir::toNativeSeparators(dir)),
                 tr("Trust and Run"))) {
            statusBar()->showMessage(tr("Not run: the model in %1 is not trusted.").arg(QDir::toNativeSeparators(dir)),
                                     15000);
            return true;
        }
        trackJob(m_jobs->computeFactors(m_session->path(), ModelConsent{true, false}));
        return true;
    }
    auto changes = findChangedCheckpoints(db, model);
    if (!changes.ok() || changes->empty())
        return false;
    QStringList lines;
    for (const auto &c : *changes) {
        if (c.vanished)
            return false; // nothing to recompute with: the failure dialog names the file
        lines << QString::fromStdString(c.description);
    }
    if (!ask(tr("A checkpoint file changed"),
             tr("%1\n\nThe influence data of this checkpoint was computed with the earlier file and is kept. "
                "Recomputing replaces it with data from the new file; other checkpoints are kept.")
                 .arg(lines.join("\n")),
             tr("Recompute with the New File"))) {
        statusBar()->showMessage(tr("Not computed: a checkpoint file changed; the stored influence data is kept."),
                                 15000);
        return true;
    }
    trackJob(m_jobs->computeFactors(m_session->path(), ModelConsent{false, true}));
    return true;
}

bool MainWindow::openProject(const QString &path) { return openSession(path, false, nullptr); }

bool MainWindow::openProjectReadOnly(const QString &path) { return openSession(path, false, nullptr, true); }

bool MainWindow::createProject(const QString &path, const ProjectPlan &plan) { return openSession(path, true, &plan); }

bool MainWindow::openDemo(const QString &datasetDir)
{
    const QString dataset = datasetDir.isEmpty() ? defaultDemoDataset() : datasetDir;
    const QString project = demoProjectPath();
    if (!QFileInfo::exists(project) && !QFileInfo(dataset).isDir()) {
        reportFailure(FailureContext::Import,
                      Status::notFound(QStringLiteral("the Fashion-MNIST files are not in %1").arg(dataset).toStdString()));
        return false;
    }
    QDir().mkpath(QFileInfo(project).absolutePath());
    ProjectPlan plan;
    plan.datasetPath = dataset;
    plan.modelSource = ProjectPlan::ModelSource::TrainBuiltin;
    // The app's demo stays at three fixed epochs: a first look within minutes. Train
    // Model and New Project default to adaptive training.
    plan.train.epochs = 3;
    plan.modelName = QStringLiteral("builtin-cnn");
    return createProject(project, plan);
}

bool MainWindow::openSession(const QString &path, bool create, const ProjectPlan *plan, bool readOnly)
{
    if (!create && !QFileInfo::exists(path)) {
        reportFailure(FailureContext::OpenProject,
                      Status::notFound(QStringLiteral("%1 does not exist").arg(path).toStdString()));
        AppSettings::removeRecentProject(path);
        updateRecentMenu();
        return false;
    }
    closeProject();
    auto session = readOnly ? ProjectSession::openReadOnly(path) : ProjectSession::open(path, create);
    if (!session.ok()) {
        // Busy: another TracLens writes the project; reading it beside that one is safe.
        const bool offerReadOnly = !readOnly && session.status().code() == Status::Code::Busy
                                   && QFileInfo::exists(path);
        reportFailure(create ? FailureContext::CreateProject : FailureContext::OpenProject, session.status(),
                      offerReadOnly ? path : QString());
        return false;
    }
    m_session = std::move(session).value();
    ProjectPlan effective = plan ? *plan : ProjectPlan::load(m_session->db());
    if (plan) {
        if (Status s = plan->save(m_session->db()); !s) {
            reportFailure(FailureContext::CreateProject, s);
            closeProject();
            return false;
        }
    }
    m_undoGroup->addStack(m_session->undoStack());
    m_undoGroup->setActiveStack(m_session->undoStack());
    connect(m_session.get(), &ProjectSession::editFailed, this,
            [this](const Status &s) { reportFailure(FailureContext::Edit, s); });
    connect(m_session.get(), &ProjectSession::examplesReset, this, &MainWindow::updateSummary);
    connect(m_session.get(), &ProjectSession::modelChanged, this, &MainWindow::updateSummary);
    connect(m_session.get(), &ProjectSession::defaultRankingWanted, this, [this] {
        if (!m_session || !m_session->modelId())
            return;
        m_defaultRankModel = *m_session->modelId();
        m_defaultRankSpec = m_session->defaultSpec();
        m_defaultRankJob = m_jobs->rankBySpec(m_session->path(), m_defaultRankSpec);
        trackJob(m_defaultRankJob);
    });

    buildProjectView();
    AppSettings::addRecentProject(m_session->path());
    updateRecentMenu();
    if (m_session->isReadOnly()) {
        setWindowTitle(tr("%1 (read-only) — TracLens").arg(m_session->displayName()));
        statusBar()->showMessage(tr("Opened read-only: another TracLens has the project open for writing. "
                                    "Browsing and influence queries work; editing is off."), 15000);
        m_browser->setEditingEnabled(false);
        // The worker opens it read-only too, and refuses the jobs that would write.
        m_jobs->openReadOnly(m_session->path());
    } else {
        setWindowTitle(tr("%1 — TracLens").arg(m_session->displayName()));
    }
    updateSkipped();
    updateSummary();
    updateActions();

    trackJob(m_jobs->runPlan(m_session->path(), effective));
    return true;
}

void MainWindow::buildProjectView()
{
    m_projectView = new QWidget;
    auto *layout = new QHBoxLayout(m_projectView);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    m_sidebar = new QListWidget;
    m_sidebar->setObjectName("sidebar");
    m_sidebar->setFixedWidth(178);
    m_sidebar->setIconSize(QSize(24, 24));
    m_sidebar->setFrameShape(QFrame::NoFrame);
    QFont sideFont = m_sidebar->font();
    sideFont.setPointSizeF(sideFont.pointSizeF() * 1.08);
    m_sidebar->setFont(sideFont);
    const QStringList names{tr("Browse"), tr("Influence"), tr("Review queue"), tr("Charts")};
    const QStringList icons{"browse", "influence", "review", "charts"};
    for (int p = 0; p < int(names.size()); ++p)
        m_sidebar->addItem(new QListWidgetItem(QIcon(QStringLiteral(":/traclens/icons/%1.svg").arg(icons[p])), names[p]));
    layout->addWidget(m_sidebar);

    m_pages = new QStackedWidget;
    m_pages->setObjectName("pages");
    m_browser = new DatasetBrowserPage(m_session.get());
    m_influence = new InfluencePage(m_session.get());
    m_review = new ReviewPage(m_session.get());
    m_charts = new ChartsPage(m_session.get());
    m_pages->addWidget(m_browser);
    m_pages->addWidget(m_influence);
    m_pages->addWidget(m_review);
    m_pages->addWidget(m_charts);
    // The cluster gallery comes after the Page enum's pages, which keep their indices.
    auto *clusters = new ClusterPage(m_session.get(), nullptr, m_jobs);
    m_sidebar->addItem(new QListWidgetItem(QIcon(QStringLiteral(":/traclens/icons/clusters.svg")), tr("Clusters")));
    m_pages->addWidget(clusters);
    // The report: label-quality summary, and an evaluation's recall curves when there is one.
    auto *report = new ReportPage(m_session.get());
    report->setJobController(m_jobs);
    connect(report, &ReportPage::evaluationStarted, this, [this](qint64 jobId) {
        trackJob(jobId);
        updateActions();
    });
    m_sidebar->addItem(new QListWidgetItem(QIcon(QStringLiteral(":/traclens/icons/report.svg")), tr("Report")));
    m_pages->addWidget(report);
    layout->addWidget(m_pages, 1);
    m_central->addWidget(m_projectView);
    m_central->setCurrentWidget(m_projectView);

    connect(m_sidebar, &QListWidget::currentRowChanged, this, [this](int row) {
        m_pages->setCurrentIndex(row);
        // Give the page the keyboard, so digits in the review queue relabel at once.
        if (QWidget *page = m_pages->currentWidget())
            page->setFocus();
    });
    auto toInfluence = [this](qint64 id) {
        m_influence->setQuery(id);
        showPage(InfluenceView);
    };
    connect(m_browser, &DatasetBrowserPage::influenceRequested, this, toInfluence);
    connect(m_review, &ReviewPage::influenceRequested, this, toInfluence);
    connect(clusters, &ClusterPage::exampleActivated, this, toInfluence);
    connect(m_review, &ReviewPage::orderRequested, this,
            [this](int kind) { trackJob(m_jobs->rankExamples(m_session->path(), kind)); });
    m_sidebar->setCurrentRow(BrowsePage);

    // One tile menu for every grid; the TileViews find it as a child of the project view.
    m_exampleActions = new ExampleActions(m_session.get(), m_projectView);
    m_exampleActions->setEditingEnabled(!m_session->isReadOnly());
    connect(m_exampleActions, &ExampleActions::influenceRequested, this, toInfluence);
}

void MainWindow::showPage(Page page)
{
    if (m_sidebar)
        m_sidebar->setCurrentRow(int(page));
}

MainWindow::Page MainWindow::currentPage() const
{
    return m_sidebar ? Page(m_sidebar->currentRow()) : BrowsePage;
}

void MainWindow::closeProject()
{
    if (!m_session)
        return;
    // Stop this project's work; its finished chunks are committed and resume next time.
    m_jobs->cancelAll();
    m_jobs->closeProject();
    m_sessionJobs.clear();
    m_defaultRankJob = -1;
    if (m_exportDialog)
        m_exportDialog->close();
    m_undoGroup->removeStack(m_session->undoStack());
    if (m_projectView) {
        m_central->removeWidget(m_projectView);
        delete m_projectView;
        m_projectView = nullptr;
        m_sidebar = nullptr;
        m_pages = nullptr;
        m_browser = nullptr;
        m_influence = nullptr;
        m_review = nullptr;
        m_charts = nullptr;
        m_exampleActions = nullptr; // a child of the project view
    }
    if (m_skippedDialog)
        m_skippedDialog->close();
    m_session.reset();
    updateSkipped();
    m_central->setCurrentWidget(m_welcome);
    setWindowTitle(tr("TracLens"));
    updateSummary();
    updateActions();
}

void MainWindow::onStepFinished(qint64 jobId, JobKind kind, const Status &status)
{
    if (!m_session || !m_sessionJobs.contains(jobId))
        return;
    if (!status) {
        if (status.isCancelled()) {
            statusBar()->showMessage(tr("%1 cancelled. Finished parts are kept; Project ▸ Continue Setup "
                                        "(or the next start) resumes.")
                                         .arg(tr(jobKindTitle(kind))), 15000);
        } else {
            m_sessionJobs[jobId] = true;
            if (kind != JobKind::Compute || !offerModelConsent())
                reportFailure(contextOf(kind), status);
        }
        return;
    }
    Status reload;
    switch (kind) {
    case JobKind::Import:
        reload = m_session->reloadExamples();
        updateSkipped();
        if (m_skippedCount > 0)
            statusBar()->showMessage(tr("Import: %n file(s) or row(s) skipped; Project ▸ Skipped Files… says why.",
                                        nullptr, m_skippedCount), 15000);
        break;
    case JobKind::Train:
    case JobKind::ImportModel:
    case JobKind::Retrain:
        reload = m_session->reloadModel();
        if (kind == JobKind::Train && reload)
            showTrainingOutcome();
        break;
    case JobKind::Compute:
        // Nothing to re-read: the model is the same, and the engine step that follows
        // brings the new self-influence, read on the worker's thread (selfInfluenceLoaded).
        break;
    default:
        break;
    }
    if (!reload)
        reportFailure(FailureContext::OpenProject, reload);
    updateActions();
}

void MainWindow::onFinished(qint64 jobId, JobKind kind, const Status &status)
{
    m_jobStatus->jobFinished(jobId);
    if (m_browser && !m_jobs->isBusy())
        m_browser->setEditingEnabled(!(m_session && m_session->isReadOnly()));
    if (m_exampleActions && !m_jobs->isBusy())
        m_exampleActions->setEditingEnabled(!(m_session && m_session->isReadOnly()));
    if (!m_session || !m_sessionJobs.contains(jobId))
        return;
    const bool shown = m_sessionJobs.value(jobId);
    m_sessionJobs.remove(jobId);
    if (!status && !status.isCancelled() && !shown && (kind != JobKind::Compute || !offerModelConsent()))
        reportFailure(contextOf(kind), status);
    else if (status && kind != JobKind::Export)
        statusBar()->showMessage(tr("%1: done").arg(tr(jobKindTitle(kind))), 4000);
    // A finished cross-validation brings out-of-sample scores and a noise estimate: the
    // project's default order may change with them.
    if (status && kind == JobKind::CrossValidate) {
        m_session->reloadDefaultRanking();
        const QString outcome = crossValidationOutcome(m_session->db(), m_session->labelNoise());
        if (!outcome.isEmpty())
            statusBar()->showMessage(tr("%1: done — %2").arg(tr(jobKindTitle(kind)), outcome), 15000);
    }
    updateActions();
}

void MainWindow::onEngineLoaded(qint64 jobId, std::shared_ptr<InfluenceIndex> engine)
{
    if (!m_session || !m_sessionJobs.contains(jobId))
        return;
    if (m_session->modelId() != std::optional<int64_t>(engine->modelId()))
        m_session->reloadModel(); // not the model whose self-influence just arrived
    m_session->setEngine(std::move(engine));
    if (m_influence->queryId() < 0)
        chooseRepresentativeItems();
    updateSummary();
    updateActions();
    emit engineReady();
}

void MainWindow::chooseRepresentativeItems()
{
    // A confident mistake on a test example: the influence view then shows why the model
    // believes what it believes, which is the point of the tool.
    auto engine = m_session->engine();
    qint64 best = -1, first = -1;
    float bestProb = -1;
    for (const ExampleRow &row : m_session->examples()) {
        if (row.split != Split::Test || engine->rowOf(row.id) < 0)
            continue;
        if (first < 0)
            first = row.id;
        if (engine->predicted(row.id) != row.currentLabel && engine->predictedProbability(row.id) > bestProb) {
            bestProb = engine->predictedProbability(row.id);
            best = row.id;
        }
    }
    if (best < 0)
        best = first;
    if (best < 0 && !engine->trainIds().empty())
        best = engine->trainIds().front();
    if (best >= 0)
        m_influence->setQuery(best);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    AppSettings::setWindowGeometry(saveGeometry(), saveState());
    if (m_jobs->isBusy())
        statusBar()->showMessage(tr("Stopping background work…"));
    // Cancel and wait: the running chunk finishes or rolls back, and what is committed
    // resumes at the next start.
    m_jobs->shutdown();
    event->accept();
}

void MainWindow::newProject()
{
    NewProjectDialog dialog(this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    createProject(dialog.projectPath(), dialog.plan());
}

void MainWindow::openProjectDialog()
{
    const QString file = QFileDialog::getOpenFileName(this, tr("Open Project"), AppSettings::lastDirectory("project"),
                                                      tr("TracLens projects (*.traclens);;All files (*)"));
    if (file.isEmpty())
        return;
    AppSettings::setLastDirectory("project", QFileInfo(file).absolutePath());
    openProject(file);
}

void MainWindow::exportLabels()
{
    if (!m_session)
        return;
    if (!m_exportDialog) {
        m_exportDialog = new ExportDialog(m_session.get(), m_jobs, this);
        m_exportDialog->setAttribute(Qt::WA_DeleteOnClose);
    }
    m_exportDialog->show();
    m_exportDialog->raise();
}

void MainWindow::trainModel()
{
    if (!m_session)
        return;
    TrainModelDialog dialog(m_session->countOf(Split::Train), this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    const TrainConfig config = dialog.config();
    const QString name = QStringLiteral("%1-%2")
                             .arg(QString::fromLatin1(builtinNetworkName(config.network)),
                                  QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss"));
    trackJob(m_jobs->trainModel(m_session->path(), config, name));
    // A new model needs its factors; queued behind training (and cancelled with it).
    trackJob(m_jobs->computeFactors(m_session->path()));
}

void MainWindow::crossValidate()
{
    if (!m_session)
        return;
    CrossValidationDialog dialog(defaultCrossValidationTrainConfig(m_session->db()), this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    trackJob(m_jobs->crossValidate(m_session->path(), dialog.config()));
}

void MainWindow::showTrainingOutcome()
{
    if (!m_session || !m_session->modelId())
        return;
    const int64_t model = *m_session->modelId();
    auto record = storedTrainingRecord(m_session->db(), model);
    auto fitness = modelFitness(m_session->db(), model);
    std::optional<std::string> warning;
    if (fitness.ok())
        warning = underTrainingWarning(*fitness);
    if (record.ok() && record->has_value())
        statusBar()->showMessage(tr("Trained — %1").arg(QString::fromStdString((*record)->summary())), 30000);
    if (warning && !m_unattended) {
        auto *box = new QMessageBox(QMessageBox::Warning, tr("Under-trained model"),
                                    QString::fromStdString(*warning), QMessageBox::Ok, this);
        box->setObjectName("underTrainedWarning");
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->setModal(false);
        box->show();
    }
}

void MainWindow::retrainWithCorrections()
{
    if (!m_session || !m_session->modelId())
        return;
    const int64_t edited = m_session->editedCount();
    const auto answer = QMessageBox::question(
        this, tr("Retrain with My Corrections"),
        tr("Train the model again, with the same settings, on the labels as they are now (%n label(s) differ "
           "from the dataset), then compute its influence data. The current model is kept; the new one becomes "
           "active. This runs in the background and can be cancelled.",
           nullptr, int(edited)),
        QMessageBox::Ok | QMessageBox::Cancel, QMessageBox::Ok);
    if (answer != QMessageBox::Ok)
        return;
    trackJob(m_jobs->retrainWithCorrections(m_session->path()));
    trackJob(m_jobs->computeFactors(m_session->path()));
}

void MainWindow::showRetrainResult(double before, double after, qint64 labelChanges)
{
    QString text;
    if (before < 0 || after < 0)
        text = tr("The model was retrained on your corrections (%n label change(s)). The project has no test split, "
                  "so no accuracy can be compared.",
                  nullptr, int(labelChanges));
    else
        text = tr("Test accuracy %1% → %2% (%3%4 points) after %n label change(s).", nullptr, int(labelChanges))
                   .arg(100.0 * before, 0, 'f', 2)
                   .arg(100.0 * after, 0, 'f', 2)
                   .arg(after >= before ? "+" : "")
                   .arg(100.0 * (after - before), 0, 'f', 2);
    statusBar()->showMessage(text, 30000);
    if (!m_unattended)
        QMessageBox::information(this, tr("Retrained with your corrections"),
                                 text + tr("\n\nOne training run: a change of a few tenths of a point can come from "
                                           "the training seed alone."));
}

void MainWindow::importModelDialog()
{
    if (!m_session)
        return;
    ImportModelDialog dialog(AppSettings::lastDirectory("model"), this);
    if (dialog.exec() != QDialog::Accepted || dialog.directory().isEmpty())
        return;
    const QString dir = dialog.directory();
    AppSettings::setLastDirectory("model", QFileInfo(dir).absolutePath());
    trackJob(m_jobs->importModel(m_session->path(), dir, dialog.copyIntoProject()));
    trackJob(m_jobs->computeFactors(m_session->path()));
}

void MainWindow::continueSetup()
{
    if (m_session)
        trackJob(m_jobs->runPlan(m_session->path(), ProjectPlan::load(m_session->db())));
}

void MainWindow::computeInfluence()
{
    if (m_session)
        trackJob(m_jobs->computeFactors(m_session->path()));
}

void MainWindow::reimportDataset()
{
    if (!m_session || !m_session->dataset())
        return;
    trackJob(m_jobs->importDataset(m_session->path(), QString::fromStdString(m_session->dataset()->importedFrom)));
}

void MainWindow::updateSkipped()
{
    m_skippedCount = 0;
    if (m_session) {
        auto skipped = m_session->db().skipped();
        m_skippedCount = skipped.ok() ? int(skipped->size()) : 0;
    }
    m_skippedBadge->setText(tr("<a href=\"skipped\">%n skipped — Show…</a>", nullptr, m_skippedCount));
    m_skippedBadge->setVisible(m_skippedCount > 0);
    if (m_skippedDialog)
        m_skippedDialog->close();
}

SkippedFilesDialog *MainWindow::showSkippedFiles()
{
    if (!m_session)
        return nullptr;
    auto skipped = m_session->db().skipped();
    if (!skipped.ok()) {
        reportFailure(FailureContext::OpenProject, skipped.status());
        return nullptr;
    }
    if (m_skippedDialog)
        m_skippedDialog->close();
    const QString root = m_session->dataset() ? QString::fromStdString(m_session->dataset()->root) : QString();
    auto *dialog = new SkippedFilesDialog(skipped.value(), root, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    m_skippedDialog = dialog;
    dialog->show();
    return dialog;
}

HelpDialog *MainWindow::showHelp(int topic)
{
    const auto which = HelpDialog::Topic(topic);
    const QString name = which == HelpDialog::Topic::Keyboard ? QStringLiteral("keyboardDialog")
                         : which == HelpDialog::Topic::PythonModel ? QStringLiteral("pythonModelDialog")
                                                                   : QStringLiteral("guideDialog");
    // One of each: a second F1 raises the open guide.
    if (auto *open = findChild<HelpDialog *>(name, Qt::FindDirectChildrenOnly)) {
        open->raise();
        open->activateWindow();
        return open;
    }
    auto *dialog = new HelpDialog(which, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
    return dialog;
}

void MainWindow::findExample()
{
    if (!m_browser)
        return;
    bool ok = false;
    const QString text = QInputDialog::getText(this, tr("Find Example"), tr("Example id or file name:"),
                                               QLineEdit::Normal, QString(), &ok);
    if (!ok || text.trimmed().isEmpty())
        return;
    showPage(BrowsePage);
    if (m_browser->findExample(text) < 0)
        statusBar()->showMessage(tr("No example has the id or file name “%1”.").arg(text.trimmed()), 6000);
}

void MainWindow::about()
{
    QMessageBox::about(this, tr("About TracLens"),
                       tr("<h3>TracLens %1</h3><p>Debug image-classification datasets with TracIn "
                          "(Pruthi et al., 2020): find the training examples behind each prediction, "
                          "review the likeliest label errors and fix them in place.</p>")
                           .arg(QApplication::applicationVersion()));
}

} // namespace traclens
