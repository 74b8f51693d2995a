#include "reportpage.h"

#include "evaluation/calibration.h"
#include "evaluation/chartimage.h"
#include "jobcontroller.h"
#include "modelwarnings.h"
#include "projectsession.h"
#include "influence/ranking.h"
#include "model/trainjob.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QResizeEvent>
#include <QScrollBar>
#include <QScrollArea>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <memory>

namespace traclens {

namespace {

// A non-breaking space before the sign: a wrapped line never starts with "%".
QString pct(double v, int decimals = 1)
{
    return QLocale().toString(v * 100.0, 'f', decimals) + QStringLiteral("\u00a0%");
}

QLabel *heading(const QString &text)
{
    auto *label = new QLabel(text);
    QFont f = label->font();
    f.setBold(true);
    f.setPointSizeF(f.pointSizeF() * 1.25);
    label->setFont(f);
    return label;
}

QLabel *imageLabel()
{
    auto *label = new QLabel;
    label->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    return label;
}

QTableWidget *table()
{
    auto *t = new QTableWidget;
    t->setEditTriggers(QAbstractItemView::NoEditTriggers);
    t->setSelectionMode(QAbstractItemView::NoSelection);
    t->verticalHeader()->hide();
    t->setSizeAdjustPolicy(QAbstractScrollArea::AdjustToContents);
    t->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    t->setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    return t;
}

QTableWidgetItem *cell(const QString &text, bool bold = false, Qt::Alignment align = Qt::AlignRight | Qt::AlignVCenter)
{
    auto *item = new QTableWidgetItem(text);
    item->setTextAlignment(align);
    if (bold) {
        QFont f = item->font();
        f.setBold(true);
        item->setFont(f);
    }
    return item;
}

// Shows `image` scaled to the label's width (never enlarged), or hides the label.
void setScaledImage(QLabel *label, const QImage &image, int width)
{
    if (image.isNull()) {
        label->clear();
        label->hide();
        return;
    }
    const int w = std::max(200, std::min(width, image.width()));
    const QPixmap pixmap = QPixmap::fromImage(image.scaledToWidth(w, Qt::SmoothTransformation));
    label->setPixmap(pixmap);
    // The scroll area would otherwise squeeze the picture to the label's minimum height.
    label->setFixedHeight(pixmap.height());
    label->show();
}

// A table as tall as its rows: the page scrolls, not the table.
void fitTableHeight(QTableWidget *t)
{
    t->resizeColumnsToContents();
    t->resizeRowsToContents();
    int h = t->horizontalHeader()->height() + 2 * t->frameWidth();
    for (int r = 0; r < t->rowCount(); ++r)
        h += t->rowHeight(r);
    if (t->horizontalScrollBar()->isVisible())
        h += t->horizontalScrollBar()->height();
    t->setFixedHeight(h);
}

} // namespace

ReportPage::ReportPage(ProjectSession *session, QWidget *parent) : QWidget(parent), m_session(session)
{
    auto *outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    auto *scroll = new QScrollArea;
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    outer->addWidget(scroll);
    auto *content = new QWidget;
    scroll->setWidget(content);
    auto *layout = new QVBoxLayout(content);
    layout->setContentsMargins(16, 12, 16, 16);
    layout->setSpacing(10);

    layout->addWidget(heading(tr("Label quality of this project")));
    m_projectSummary = new QLabel;
    m_projectSummary->setWordWrap(true);
    m_projectSummary->setTextFormat(Qt::RichText);
    layout->addWidget(m_projectSummary);
    m_calibration = new QLabel;
    m_calibration->setObjectName(QStringLiteral("calibrationLine"));
    m_calibration->setWordWrap(true);
    m_calibration->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_calibration);
    m_histogram = imageLabel();
    layout->addWidget(m_histogram);

    layout->addSpacing(8);
    layout->addWidget(heading(tr("Mislabel-detection evaluation")));
    m_evaluationSummary = new QLabel;
    m_evaluationSummary->setObjectName(QStringLiteral("evaluationSummary"));
    m_evaluationSummary->setWordWrap(true);
    m_evaluationSummary->setTextFormat(Qt::RichText);
    m_evaluationSummary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_evaluationSummary);
    auto *buttons = new QHBoxLayout;
    m_runButton = new QPushButton(tr("Run Evaluation…"));
    m_runButton->setToolTip(tr("Flip some labels in a copy of this project's dataset and measure how many of them "
                               "each review ranking finds"));
    m_runButton->setEnabled(false);
    buttons->addWidget(m_runButton);
    m_calibrateButton = new QPushButton(tr("Calibrate…"));
    m_calibrateButton->setObjectName(QStringLiteral("calibrateButton"));
    m_calibrateButton->setToolTip(tr("Run the evaluation on this project's own dataset and make the ranking that "
                                     "found the most flipped labels this project's default review queue"));
    m_calibrateButton->setEnabled(false);
    buttons->addWidget(m_calibrateButton);
    m_openButton = new QPushButton(tr("Open Evaluation Report…"));
    m_openButton->setToolTip(tr("The report.json of an earlier evaluation"));
    buttons->addWidget(m_openButton);
    buttons->addStretch(1);
    layout->addLayout(buttons);
    m_recallTable = table();
    layout->addWidget(m_recallTable);
    m_recallChart = imageLabel();
    layout->addWidget(m_recallChart);
    m_unflippedLabel = new QLabel;
    m_unflippedLabel->setObjectName(QStringLiteral("unflippedLabel"));
    m_unflippedLabel->setWordWrap(true);
    m_unflippedLabel->hide();
    layout->addWidget(m_unflippedLabel);
    m_unflippedView = imageLabel();
    m_unflippedView->setObjectName(QStringLiteral("unflippedView"));
    layout->addWidget(m_unflippedView);
    m_cleaningLabel = new QLabel;
    m_cleaningLabel->setWordWrap(true);
    layout->addWidget(m_cleaningLabel);
    m_cleaningTable = table();
    layout->addWidget(m_cleaningTable);
    layout->addStretch(1);

    connect(m_openButton, &QPushButton::clicked, this, &ReportPage::chooseEvaluation);
    connect(m_runButton, &QPushButton::clicked, this, &ReportPage::runEvaluation);
    connect(m_calibrateButton, &QPushButton::clicked, this, &ReportPage::runCalibration);
    connect(session, &ProjectSession::defaultRankingChanged, this, [this] { whenVisible(Stale::Project); });
    // Relabels arrive one at a time; recount once they settle.
    auto *timer = new QTimer(this);
    timer->setSingleShot(true);
    timer->setInterval(400);
    // The histogram over every training example takes tens of milliseconds: a hidden page
    // only notes that it is stale and catches up when shown.
    connect(timer, &QTimer::timeout, this, [this] { whenVisible(Stale::Project); });
    connect(session, &ProjectSession::exampleChanged, timer, qOverload<>(&QTimer::start));
    connect(session, &ProjectSession::examplesReset, this, [this] { whenVisible(Stale::All); });
    connect(session, &ProjectSession::modelChanged, this, [this] { whenVisible(Stale::All); });
    connect(session, &ProjectSession::engineChanged, this, [this] { whenVisible(Stale::Project); });
    refresh();
}

void ReportPage::whenVisible(Stale what)
{
    m_stale = std::max(m_stale, what);
    if (!isVisible())
        return;
    const Stale now = m_stale;
    m_stale = Stale::None;
    if (now == Stale::All)
        refresh();
    else if (now == Stale::Project)
        refreshProject();
}

void ReportPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    whenVisible(Stale::None);
}

void ReportPage::refresh()
{
    refreshProject();
    const QString found = findEvaluationReport();
    if (!found.isEmpty() && found != m_evaluationFile)
        loadEvaluation(found);
    else if (found.isEmpty() && !m_evaluation)
        showEvaluation();
}

void ReportPage::refreshProject()
{
    m_flagged = 0;
    m_calibration->setText(calibrationText());
    const QString queue = QString::fromStdString(m_session->defaultSpec().toString()).toHtmlEscaped();
    if (!m_session->modelId() || !m_session->hasSelfInfluence()) {
        m_projectSummary->setText(tr("No TracIn factors yet: train or import a model and compute influence to see "
                                     "the self-influence distribution and the flagged examples.<br>Review queue "
                                     "ranking by default: <b>%1</b>.")
                                      .arg(queue));
        m_histogramImage = {};
        updateImages();
        return;
    }
    const auto engine = m_session->engine();
    std::vector<double> agree, flagged;
    for (qint64 id : m_session->selfInfluenceRanking()) {
        const ExampleRow *row = m_session->example(id);
        if (!row || row->split != Split::Train)
            continue;
        const double v = m_session->selfInfluence(id);
        if (!std::isfinite(v))
            continue;
        // "Flagged" (core/influence/flagging.h, docs/flagging.md): the model, at its last checkpoint,
        // predicts another class than the label the example carries now and gives that label
        // less than 10 % probability.
        bool isFlagged = false;
        if (engine && engine->rowOf(id) >= 0 && engine->predicted(id) != row->currentLabel)
            isFlagged = engine->labelUsed(id) != row->currentLabel || isFlaggedLoss(engine->lossAtLast(id));
        (isFlagged ? flagged : agree).push_back(v);
    }
    m_flagged = qint64(flagged.size());
    const qint64 total = qint64(agree.size() + flagged.size());
    const QLocale locale;
    QString text = tr("<b>%1</b> training examples").arg(locale.toString(total));
    if (engine)
        text += tr(" · <b>%1</b> flagged (%2) — the model gives their label less than %3 probability")
                    .arg(locale.toString(m_flagged), pct(total ? double(m_flagged) / double(total) : 0.0),
                         pct(kFlagLabelProbability, 0));
    else
        text += tr(" · flagged examples appear once the influence engine has loaded");
    text += tr(" · %1 reviewed · %2 relabelled")
                .arg(locale.toString(qlonglong(m_session->reviewedCount(Split::Train))),
                     locale.toString(qlonglong(m_session->editedCount())));
    text += tr("<br>Review queue ranking by default: <b>%1</b>.").arg(queue);
    const QStringList weak = modelWarnings(*m_session);
    if (!weak.isEmpty())
        text += QStringLiteral("<p style='color:#b35900'><b>%1</b><br>%2</p>")
                    .arg(tr("The model may be too weak for the flags and the queue to mean much:"),
                         weak.join(QStringLiteral("<br>")));
    m_projectSummary->setText(text);

    std::vector<double> all = agree;
    all.insert(all.end(), flagged.begin(), flagged.end());
    HistogramChart h;
    h.title = tr("Self-influence of the training examples");
    h.xLabel = tr("self-influence, TracIn over all checkpoints (log scale)");
    h.yLabel = tr("training examples");
    h.logX = true;
    h.edges = logBinEdges(all, 60);
    h.size = QSize(960, 400);
    if (engine) {
        h.series.push_back({tr("model agrees with the label (%1)").arg(locale.toString(qlonglong(agree.size()))), {},
                            binCounts(agree, h.edges), chartColor(0), Qt::SolidLine});
        h.series.push_back({tr("flagged (%1)").arg(locale.toString(m_flagged)), {}, binCounts(flagged, h.edges),
                            chartColor(5), Qt::SolidLine});
    } else {
        h.series.push_back({tr("training examples"), {}, binCounts(all, h.edges), chartColor(0), Qt::SolidLine});
    }
    m_histogramImage = h.edges.empty() ? QImage() : renderHistogram(h);
    updateImages();
}

QString ReportPage::findEvaluationReport()
{
    auto meta = m_session->db().meta("evaluation_report");
    if (meta.ok() && meta->has_value()) {
        const QString path = QString::fromStdString(**meta);
        if (QFileInfo::exists(path))
            return path;
    }
    const QString own = QDir(evaluationDirectory()).filePath(QStringLiteral("report/report.json"));
    if (QFileInfo::exists(own))
        return own;
    const QString beside = QFileInfo(m_session->path()).dir().filePath(QStringLiteral("report.json"));
    return QFileInfo::exists(beside) ? beside : QString();
}

void ReportPage::chooseEvaluation()
{
    const QString start = m_evaluationFile.isEmpty() ? QFileInfo(m_session->path()).absolutePath()
                                                     : QFileInfo(m_evaluationFile).absolutePath();
    const QString file = QFileDialog::getOpenFileName(this, tr("Open Evaluation Report"), start,
                                                      tr("Evaluation report (report.json);;JSON files (*.json)"));
    if (!file.isEmpty())
        loadEvaluation(file);
}

bool ReportPage::loadEvaluation(const QString &jsonFile)
{
    auto report = readEvaluationReport(jsonFile.toStdString());
    m_evaluationFile = jsonFile;
    if (!report.ok()) {
        m_evaluation.reset();
        showEvaluation();
        m_evaluationSummary->setText(tr("Cannot show the evaluation report: %1")
                                         .arg(QString::fromStdString(report.status().message()).toHtmlEscaped()));
        return false;
    }
    m_evaluation = std::move(report).value();
    showEvaluation();
    return true;
}

void ReportPage::showEvaluation()
{
    m_recallTable->clear();
    m_cleaningTable->clear();
    if (!m_evaluation) {
        m_evaluationSummary->setText(
            tr("No evaluation for this project yet. <b>Run Evaluation…</b> flips a share of the labels in a copy of "
               "this project's dataset, trains the built-in model on the noisy labels, and measures how many of the "
               "wrong labels each review ranking finds; the result is shown here. Your project's labels are not "
               "changed."));
        m_recallTable->hide();
        m_cleaningTable->hide();
        m_cleaningLabel->hide();
        m_unflippedLabel->hide();
        m_recallImage = {};
        m_unflippedImage = {};
        updateImages();
        return;
    }
    const EvaluationReport &r = *m_evaluation;
    const QLocale locale;
    const std::string defaultName = r.defaultSpec.toString();
    // What the errors are: injected noise of the report's kind, or the known errors of a
    // truth file.
    QString errors;
    if (!r.config.truthFile.empty())
        errors = tr("<b>%1</b> known errors (%2)")
                     .arg(locale.toString(qlonglong(r.flips.size())),
                          QFileInfo(QString::fromStdString(r.config.truthFile)).fileName().toHtmlEscaped());
    else {
        const QString how = r.config.noiseType == NoiseType::Pair        ? tr("each class to one fixed other class")
                            : r.config.noiseType == NoiseType::Confusion ? tr("as a classifier confuses the classes")
                                                                         : tr("to another class at random");
        errors = tr("<b>%1</b> labels moved %2 (%3 %4 noise, seed %5)")
                     .arg(locale.toString(qlonglong(r.flips.size())), how, pct(r.config.noiseRate, 0),
                          QString::fromLatin1(noiseTypeName(r.config.noiseType)),
                          QString::number(qulonglong(r.config.noiseSeed)));
    }
    // The estimate that chose the default queue, when the report has one (older reports do not).
    const QString estimate =
        r.labelNoise.covered > 0
            ? tr(" (confident learning estimated %1 of the labels wrong)").arg(pct(r.labelNoise.share(), 1))
            : QString();
    // A report from before the ensemble's current formula measured another order than the
    // queue's ensemble of today: say so beside its numbers instead of letting them stand for it.
    QString formula;
    const bool hasEnsemble = std::any_of(r.rankings.begin(), r.rankings.end(), [](const RankingEvaluation &e) {
        return e.spec.kind == RankingKind::Ensemble;
    });
    if (hasEnsemble && r.ensembleFormula != kEnsembleFormulaVersion)
        formula = QStringLiteral("<br>")
                  + (r.ensembleFormula > 0
                         ? tr("Its ensemble was measured with formula %1; the queue's ensemble is formula %2 now. "
                              "Run the evaluation again to measure today's.")
                               .arg(r.ensembleFormula)
                               .arg(kEnsembleFormulaVersion)
                         : tr("Its ensemble was measured with an older formula than the queue's (formula %1 now). "
                              "Run the evaluation again to measure today's.")
                               .arg(kEnsembleFormulaVersion));
    m_evaluationSummary->setText(
        tr("<b>%1</b>: %2 training images, %3; model trained on the noisy labels: test accuracy %4. Default queue: "
           "<b>%5</b>%6.%7<br><small>%8</small>")
            .arg(QDir(QString::fromStdString(r.config.dataset)).dirName().toHtmlEscaped(),
                 locale.toString(qlonglong(r.trainCount)), errors, pct(r.testAccuracyBefore),
                 QString::fromStdString(defaultName).toHtmlEscaped(), estimate, formula,
                 m_evaluationFile.toHtmlEscaped()));

    // Recall per budget: rankings as rows.
    const auto &budgets = r.config.budgets;
    m_recallTable->setColumnCount(int(budgets.size()) + 2);
    QStringList headers{tr("flipped labels found in the top …")};
    for (double b : budgets)
        headers << QString::number(b * 100.0, 'g', 3) + " %";
    headers << tr("ROC AUC");
    m_recallTable->setHorizontalHeaderLabels(headers);
    m_recallTable->setRowCount(int(r.rankings.size()));
    for (int i = 0; i < int(r.rankings.size()); ++i) {
        const RankingEvaluation &e = r.rankings[size_t(i)];
        const bool isDefault = e.name == defaultName;
        m_recallTable->setItem(i, 0, cell(QString::fromStdString(e.name) + (isDefault ? tr(" (default)") : QString()),
                                          isDefault, Qt::AlignLeft | Qt::AlignVCenter));
        for (int j = 0; j < int(e.recall.size()) && j < int(budgets.size()); ++j)
            m_recallTable->setItem(i, j + 1, cell(pct(e.recall[size_t(j)]), isDefault));
        m_recallTable->setItem(i, int(budgets.size()) + 1, cell(QLocale().toString(e.auc, 'f', 4), isDefault));
    }
    m_recallTable->show();
    fitTableHeight(m_recallTable);
    m_recallImage = renderLineChart(recallChart(r));

    // The queue's first labels that were not flipped, with the picture the report drew of
    // them beside its report.json (a small PNG: reading it here costs a few milliseconds).
    if (r.unflippedAtTop.empty()) {
        m_unflippedLabel->hide();
        m_unflippedImage = {};
    } else {
        const bool truth = !r.config.truthFile.empty();
        QStringList ranks;
        for (size_t i = 0; i < r.unflippedAtTop.size() && i < 6; ++i)
            ranks << locale.toString(qlonglong(r.unflippedAtTop[i].rank));
        m_unflippedImage = QImage(QFileInfo(m_evaluationFile).dir().filePath(QStringLiteral("unflipped-at-top.png")));
        m_unflippedLabel->setText(
            tr("The first %1 labels of the default queue that were %2, at ranks %3%4: on real data many of them are "
               "wrong labels the dataset came with, which the %5 does not count; each one is worth a look.%6")
                .arg(locale.toString(qlonglong(r.unflippedAtTop.size())), truth ? tr("not listed") : tr("not flipped"),
                     ranks.join(QStringLiteral(", ")),
                     r.unflippedAtTop.size() > size_t(ranks.size()) ? QStringLiteral(", …") : QString(),
                     truth ? tr("truth file") : tr("injected noise"),
                     m_unflippedImage.isNull() ? QString()
                                               : tr(" Below: label, then → the class the model gives it.")));
        m_unflippedLabel->show();
    }

    // The cleaning loop: one row per review budget.
    if (r.cleaning.empty()) {
        m_cleaningLabel->hide();
        m_cleaningTable->hide();
    } else {
        QString seeds;
        for (const auto &run : r.seedRuns)
            seeds += (seeds.isEmpty() ? "" : ", ") + pct(run.testAccuracy, 2);
        m_cleaningLabel->setText(
            tr("Cleaning loop: review the top X % of the queue (or of another ranking, or a random X %), restore the "
               "true label of every flip found, retrain with the same seed; the gain is over the model trained on the "
               "noisy labels with that seed. Test accuracy before (first seed): %1.")
                .arg(pct(r.testAccuracyBefore, 2))
            + (seeds.isEmpty() ? QString()
                               : tr(" With other training seeds on the same noisy labels: %1 — changes smaller than "
                                    "that spread are not distinguishable from the seed.")
                                     .arg(seeds)));
        m_cleaningLabel->show();
        // One row per budget and review, each seed's run paired with the noisy-label model of
        // that seed (cleaningRows()), so a gain means what the report says.
        const std::vector<CleaningRow> rows = cleaningRows(r);
        m_cleaningTable->setColumnCount(5);
        m_cleaningTable->setHorizontalHeaderLabels({tr("reviewed"), tr("review"), tr("flips fixed"),
                                                    tr("test accuracy gain"), tr("gain / random gain")});
        m_cleaningTable->setRowCount(int(rows.size()) + 1);
        int row = 0;
        auto points = [](double v) { return QStringLiteral("%1%2").arg(v >= 0 ? "+" : "").arg(v * 100.0, 0, 'f', 2); };
        for (const CleaningRow &c : rows) {
            QString gain = QStringLiteral("–");
            if (c.gains.size() == 1) {
                gain = points(c.gains.front());
            } else if (!c.gains.empty()) {
                const auto [lo, hi] = std::minmax_element(c.gains.begin(), c.gains.end());
                gain = tr("%1 (%2 to %3, %n seeds)", nullptr, int(c.gains.size()))
                           .arg(points(c.meanGain()), points(*lo), points(*hi));
            }
            const QString ratio = c.strategy == "random" || std::isnan(c.ratioToRandom)
                                      ? QStringLiteral("–")
                                      : QStringLiteral("%1×").arg(c.ratioToRandom, 0, 'f', 1);
            m_cleaningTable->setItem(row, 0, cell(QStringLiteral("%1 (%2)").arg(pct(c.budget, 0),
                                                                               locale.toString(qlonglong(c.reviewed)))));
            m_cleaningTable->setItem(row, 1, cell(QString::fromStdString(c.title), c.strategy == "queue"));
            m_cleaningTable->setItem(row, 2, cell(c.fixedMin < 0 ? QStringLiteral("–")
                                                                 : locale.toString(qlonglong(c.fixedMin))));
            m_cleaningTable->setItem(row, 3, cell(gain, c.strategy == "queue"));
            m_cleaningTable->setItem(row, 4, cell(ratio));
            ++row;
        }
        auto acc = [&](const CleaningRun *x) {
            const double d = (x->testAccuracy - r.testAccuracyBefore) * 100.0;
            return pct(x->testAccuracy, 2) + QStringLiteral(" (%1%2)").arg(d >= 0 ? "+" : "").arg(d, 0, 'f', 2);
        };
        for (const auto &run : r.cleaning) {
            if (run.strategy != "all flips fixed")
                continue;
            m_cleaningTable->setItem(row, 0, cell(tr("every flip fixed")));
            m_cleaningTable->setItem(row, 2, cell(locale.toString(qlonglong(run.fixed))));
            m_cleaningTable->setItem(row, 3, cell(acc(&run)));
            ++row;
        }
        m_cleaningTable->setRowCount(row);
        m_cleaningTable->show();
        fitTableHeight(m_cleaningTable);
    }
    updateImages();
}

void ReportPage::setJobController(JobController *jobs)
{
    m_jobs = jobs;
    m_runButton->setEnabled(m_jobs && m_evaluationJob < 0);
    m_calibrateButton->setEnabled(m_jobs && m_evaluationJob < 0 && !m_session->isReadOnly());
    if (!m_jobs)
        return;
    connect(m_jobs, &JobController::evaluationReady, this, [this](qint64 jobId, const QString &file) {
        if (jobId == m_evaluationJob)
            loadEvaluation(file);
    });
    connect(m_jobs, &JobController::finished, this, [this](qint64 jobId, JobKind, const Status &status) {
        if (jobId != m_evaluationJob)
            return;
        m_evaluationJob = -1;
        m_runButton->setEnabled(true);
        m_calibrateButton->setEnabled(!m_session->isReadOnly());
        const bool calibrated = m_calibrating && status;
        m_calibrating = false;
        // The worker wrote the calibration on its own connection; the session reads it.
        if (calibrated)
            m_session->reloadDefaultRanking();
        if (status.isCancelled())
            m_evaluationSummary->setText(tr("The evaluation was cancelled; its finished steps are kept, and running "
                                            "it again with the same settings resumes."));
        else if (!status)
            m_evaluationSummary->setText(tr("The evaluation failed: %1")
                                             .arg(QString::fromStdString(status.message()).toHtmlEscaped()));
        emit evaluationFinished(status);
    });
}

QString ReportPage::evaluationDirectory() const
{
    const QFileInfo project(m_session->path());
    return project.dir().filePath(project.completeBaseName() + QStringLiteral("-evaluation"));
}

EvaluationSettings ReportPage::projectEvaluationSettings() const
{
    // Evaluate what the project trains: the active model's network, augmentation and epochs
    // (as Cross-validate does), so that a calibration measures the queue the project will use.
    // A model trained until its accuracy stopped improving is evaluated the same way: the
    // noisy labels may want another count than the project's labels did.
    TrainConfig train = defaultCrossValidationTrainConfig(m_session->db());
    bool countKnown = false;
    if (auto active = m_session->db().activeModel(); active.ok() && active->has_value()) {
        auto record = storedTrainingRecord(m_session->db(), **active);
        if (record.ok() && record->has_value()) {
            train.adaptive.enabled = (*record)->adaptive;
            countKnown = (*record)->epochs >= 1;
        }
    }
    EvaluationSettings settings = EvaluationSettings::forTraining(train);
    // Without a record (an imported model, or none) it stays adaptive, as Cross-validate's,
    // and no count is known to estimate the time with: the estimate gives its upper bound.
    if (!countKnown)
        settings.expectedEpochs = 0;
    return settings;
}

EvaluationDialog *ReportPage::createEvaluationDialog(bool calibrating, QWidget *parent) const
{
    qint64 trainImages = 0;
    for (const ExampleRow &row : m_session->examples())
        trainImages += row.split == Split::Train ? 1 : 0;
    auto *dialog = new EvaluationDialog(trainImages, parent);
    dialog->setSettings(projectEvaluationSettings());
    dialog->setCalibrating(calibrating);
    return dialog;
}

void ReportPage::runEvaluation()
{
    std::unique_ptr<EvaluationDialog> dialog(createEvaluationDialog(false, this));
    if (dialog->exec() == QDialog::Accepted)
        startEvaluation(dialog->settings());
}

void ReportPage::runCalibration()
{
    std::unique_ptr<EvaluationDialog> dialog(createEvaluationDialog(true, this));
    if (dialog->exec() == QDialog::Accepted)
        startEvaluation(dialog->settings(), true);
}

QString ReportPage::calibrationText() const
{
    const QString current = QString::fromStdString(m_session->defaultSpec().toString());
    auto stored = storedCalibration(m_session->db());
    if (!stored.ok())
        return tr("This project's default review queue: %1 (the stored calibration cannot be read: %2; Calibrate… "
                  "measures again)")
            .arg(current, QString::fromStdString(stored.status().message()));
    if (!stored->has_value())
        return tr("This project's default review queue is not calibrated: the default is %1; Calibrate… measures "
                  "the rankings on this project's own data")
            .arg(current);
    const CalibrationEvidence &e = **stored;
    // The headline budget is 10 %; an evaluation without it is quoted at its largest budget.
    double budget = e.budgets.empty() ? 0.10 : e.budgets.back();
    if (e.recallAt(0.10))
        budget = 0.10;
    const auto recall = e.recallAt(budget);
    const auto baseline = e.baselineRecallAt(budget);
    const QString date = QString::fromStdString(e.date).left(10);
    QString text = tr("This project's default review queue: %1 — measured on %2: %3 of injected flips in the top %4")
                       .arg(QString::fromStdString(e.name), date, recall ? pct(*recall) : tr("n/a"),
                            QString::number(budget * 100.0, 'g', 3) + QStringLiteral("\u00a0%"));
    if (baseline)
        text += tr(" (baseline %1)").arg(pct(*baseline));
    if (e.cleaning) {
        // Chosen by the cleaning loop: the gain is what it was chosen on, so it is quoted.
        const CleaningEvidence &c = *e.cleaning;
        const auto points = [](double gain) { return QString::asprintf("%+.2f", gain * 100.0); };
        // At least kCalibrationCleaningSeeds seeds, so the plural always holds.
        text += tr("; chosen because reviewing its top %1 gained the most test accuracy in the cleaning loop: %2 "
                   "points (mean of %3 seeds), %4 %5")
                    .arg(QString::number(c.budget * 100.0, 'g', 3) + QStringLiteral("\u00a0%"), points(c.gain),
                         QString::number(c.seeds), QString::fromStdString(c.runnerUp), points(c.runnerUpGain));
        if (c.randomGain)
            text += tr(", a random review %1").arg(points(*c.randomGain));
    }
    text += tr("; report: %1").arg(QString::fromStdString(e.reportPath));
    if (current != QString::fromStdString(e.spec.toString()))
        text += tr(". It needs a finished cross-validation, which this project lacks now: the queue uses %1 until "
                   "Project ▸ Cross-validate… is run")
                    .arg(current);
    return text;
}

qint64 ReportPage::startEvaluation(const EvaluationSettings &settings, bool calibrate)
{
    if (!m_jobs || m_evaluationJob >= 0)
        return -1;
    auto dataset = m_session->db().dataset();
    if (!dataset.ok() || !dataset->has_value()) {
        m_evaluationSummary->setText(tr("This project has no dataset to evaluate on."));
        return -1;
    }
    EvaluationConfig config;
    config.dataset = (*dataset)->importedFrom.empty() ? (*dataset)->root : (*dataset)->importedFrom;
    config.workDirectory = evaluationDirectory().toStdString();
    settings.applyTo(&config);
    // What ran, as the report's command line names it: the menu item and the settings.
    const QString action = calibrate ? tr("Calibrate") : tr("Run Evaluation");
    const QString epochs = settings.adaptive ? tr("until accuracy stops improving") : QString::number(settings.epochs);
    config.command = tr("TracLens ▸ Report ▸ %1 (noise %2, seed %3, %4, augmentation %5, epochs %6)")
                         .arg(action, pct(settings.noiseRate, 1))
                         .arg(settings.noiseSeed)
                         .arg(QString::fromLatin1(builtinNetworkName(settings.network)),
                              QString::fromLatin1(augmentationName(settings.augmentation)), epochs)
                         .toStdString();
    m_evaluationJob = m_jobs->runMislabelEvaluation(config, QDir(evaluationDirectory()).filePath(QStringLiteral("report")),
                                                    calibrate ? m_session->path() : QString());
    if (m_evaluationJob < 0)
        return -1;
    m_calibrating = calibrate;
    m_runButton->setEnabled(false);
    m_calibrateButton->setEnabled(false);
    m_evaluationSummary->setText(tr("Running the evaluation (noise %1, seed %2, %3, epochs %4); the status bar "
                                    "shows its progress.")
                                     .arg(pct(settings.noiseRate, 1))
                                     .arg(settings.noiseSeed)
                                     .arg(QString::fromLatin1(builtinNetworkName(settings.network)), epochs));
    emit evaluationStarted(m_evaluationJob);
    return m_evaluationJob;
}

void ReportPage::updateImages()
{
    const int available = std::max(300, width() - 48);
    setScaledImage(m_histogram, m_histogramImage, available);
    setScaledImage(m_recallChart, m_recallImage, available);
    setScaledImage(m_unflippedView, m_unflippedImage, available);
}

void ReportPage::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    updateImages();
}

} // namespace traclens
