#include "reviewpage.h"
#include "stackedpage.h"

#include "classnames.h"
#include "exampleimageview.h"
#include "modelwarnings.h"
#include "neighbourlistmodel.h"
#include "projectsession.h"
#include "influence/ranking.h"
#include "reviewcommand.h"
#include "tileview.h"
#include "uiresources.h"

#include <QComboBox>
#include <QFrame>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QShortcut>
#include <QStackedWidget>
#include <QUndoStack>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>

namespace traclens {

namespace {
QLabel *sectionTitle(const QString &text)
{
    auto *l = new QLabel(text);
    QFont f = l->font();
    f.setBold(true);
    l->setFont(f);
    return l;
}
} // namespace

ReviewPage::ReviewPage(ProjectSession *session, QWidget *parent) : QWidget(parent), m_session(session)
{
    ensureUiResources();
    const StackedPage frame = makeStackedPage(this);
    m_stack = frame.stack;
    m_emptyText = frame.emptyText;
    QWidget *page = frame.page;
    QVBoxLayout *layout = frame.layout;

    // --- counter
    auto *top = new QHBoxLayout;
    m_counter = new QLabel;
    QFont cf = m_counter->font();
    cf.setBold(true);
    m_counter->setFont(cf);
    top->addWidget(m_counter);
    m_progress = new QProgressBar;
    m_progress->setTextVisible(false);
    m_progress->setFixedHeight(8);
    top->addWidget(m_progress, 1);
    m_weakModel = new QLabel;
    m_weakModel->setObjectName(QStringLiteral("weakModelWarning"));
    m_weakModel->setTextFormat(Qt::RichText);
    m_weakModel->setVisible(false);
    top->addWidget(m_weakModel);
    top->addSpacing(12);
    top->addWidget(new QLabel(tr("Order by")));
    m_order = new QComboBox;
    // The titles are long ("Ensemble (…) — recommended"); sized to them the bar would
    // widen the page past a 1280-pixel window. The closed box shows the start of the title;
    // each item's tooltip and the open list show it in full.
    m_order->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_order->setMinimumContentsLength(26);
    m_order->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    m_order->view()->setTextElideMode(Qt::ElideNone);
    rebuildOrderChoices();
    m_order->setToolTip(tr("Which examples come first in the queue. Loss: how wrong the model is about the "
                           "label. Margin: confidence in the label minus the best other class (negative: "
                           "it prefers another). Self-influence: how much the model bent to fit the example. "
                           "Neighbours: how many of the most similar images carry another label. Out-of-sample "
                           "orders need Project ▸ Cross-validate…: each example is scored by a model that never "
                           "trained on it."));
    // Takes most of the spare width, up to its longest title (rebuildOrderChoices()), and
    // leaves the rest to the progress bar: at 1280 pixels the recommended title fits whole.
    top->addWidget(m_order, 3);
    layout->addLayout(top);
    // Why the recommended order is the one it is, when the noise estimate chose it.
    m_noiseNote = new QLabel;
    m_noiseNote->setObjectName(QStringLiteral("labelNoiseNote"));
    m_noiseNote->setWordWrap(true);
    m_noiseNote->setForegroundRole(QPalette::PlaceholderText);
    m_noiseNote->setVisible(false);
    layout->addWidget(m_noiseNote);

    // --- the example and the decision
    auto *middle = new QHBoxLayout;
    middle->setSpacing(24);
    m_image = new ExampleImageView;
    m_image->setSession(session);
    m_image->setSide(340);
    middle->addWidget(m_image, 0, Qt::AlignTop);

    auto *info = new QVBoxLayout;
    info->setSpacing(6);
    m_rank = new QLabel;
    m_rank->setForegroundRole(QPalette::PlaceholderText);
    info->addWidget(m_rank);
    m_given = new QLabel;
    QFont gf = m_given->font();
    gf.setPointSizeF(gf.pointSizeF() * 1.6);
    gf.setBold(true);
    m_given->setFont(gf);
    info->addWidget(m_given);
    m_suggested = new QLabel;
    m_suggested->setTextFormat(Qt::RichText);
    QFont sf = m_suggested->font();
    sf.setPointSizeF(sf.pointSizeF() * 1.15);
    m_suggested->setFont(sf);
    info->addWidget(m_suggested);
    m_score = new QLabel;
    m_score->setTextFormat(Qt::RichText);
    info->addWidget(m_score);
    m_source = new QLabel;
    m_source->setForegroundRole(QPalette::PlaceholderText);
    info->addWidget(m_source);
    info->addSpacing(10);

    auto *actions = new QHBoxLayout;
    m_keep = new QPushButton(tr("Keep label"));
    m_keep->setToolTip(tr("The label is right: mark reviewed (Enter or K)"));
    m_keep->setObjectName("keepButton");
    m_keep->setDefault(true);
    m_keep->setMinimumWidth(130);
    m_skip = new QPushButton(tr("Skip"));
    m_skip->setObjectName("skipButton");
    m_skip->setToolTip(tr("Decide later (S)"));
    m_undo = new QPushButton(style()->standardIcon(QStyle::SP_ArrowBack), tr("Undo"));
    m_undo->setToolTip(tr("Undo the last decision (Ctrl+Z)"));
    m_redo = new QPushButton(style()->standardIcon(QStyle::SP_ArrowForward), tr("Redo"));
    m_redo->setToolTip(tr("Redo (Ctrl+Shift+Z)"));
    m_influence = new QPushButton(QIcon(":/traclens/icons/influence.svg"), tr("Open in influence view"));
    m_influence->setObjectName("openInfluenceButton");
    actions->addWidget(m_keep);
    actions->addWidget(m_skip);
    actions->addSpacing(12);
    actions->addWidget(m_undo);
    actions->addWidget(m_redo);
    actions->addStretch(1);
    actions->addWidget(m_influence);
    info->addLayout(actions);
    info->addSpacing(6);
    info->addWidget(sectionTitle(tr("Relabel as  (number keys)")));
    m_classGrid = new QGridLayout;
    m_classGrid->setSpacing(6);
    info->addLayout(m_classGrid);
    info->addStretch(1);
    middle->addLayout(info, 1);
    layout->addLayout(middle);

    // --- strips: why the model sees it this way
    auto strip = [&](const QString &title, NeighbourListModel **model, TileView **view) {
        layout->addWidget(sectionTitle(title));
        *model = new NeighbourListModel(session, this);
        *view = new TileView(TileView::Layout::Strip);
        (*view)->setImageSide(84);
        (*view)->setModel(*model);
        (*view)->setFrameShape(QFrame::StyledPanel);
        layout->addWidget(*view);
        connect(*view, &TileView::exampleActivated, this, &ReviewPage::influenceRequested);
    };
    strip(tr("Proponents — training examples that pushed the model towards this label"), &m_proponents,
          &m_proponentStrip);
    strip(tr("Opponents — training examples that pushed against it"), &m_opponents, &m_opponentStrip);
    layout->addSpacing(6);
    auto *keys = new QLabel(tr("<span style='color:gray'>Keys: <b>0–9</b> relabel · <b>Enter</b> or <b>K</b> keep · "
                               "<b>S</b> skip · <b>Ctrl+Z</b> undo · <b>Ctrl+Shift+Z</b> redo · double-click a tile "
                               "to open its influence. Every decision is saved at once.</span>"));
    keys->setTextFormat(Qt::RichText);
    layout->addWidget(keys);
    layout->addStretch(1);
    // On a screen shorter than the page (768 pixels), it scrolls instead of pushing the
    // window past the screen's edge.
    auto *scroll = new QScrollArea;
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidget(page);
    m_stack->addWidget(scroll);

    connect(m_keep, &QPushButton::clicked, this, &ReviewPage::keepLabel);
    connect(m_skip, &QPushButton::clicked, this, &ReviewPage::skip);
    connect(m_undo, &QPushButton::clicked, session->undoStack(), &QUndoStack::undo);
    connect(m_redo, &QPushButton::clicked, session->undoStack(), &QUndoStack::redo);
    connect(session->undoStack(), &QUndoStack::canUndoChanged, m_undo, &QWidget::setEnabled);
    connect(session->undoStack(), &QUndoStack::canRedoChanged, m_redo, &QWidget::setEnabled);
    m_undo->setEnabled(session->undoStack()->canUndo());
    m_redo->setEnabled(session->undoStack()->canRedo());
    connect(m_influence, &QPushButton::clicked, this, [this] {
        if (currentId() >= 0)
            emit influenceRequested(currentId());
    });

    // Keys work anywhere on the page: digits relabel, Enter/K keeps, S skips.
    for (int digit = 0; digit <= 9; ++digit) {
        auto *sc = new QShortcut(QKeySequence(Qt::Key_0 + digit), this);
        sc->setContext(Qt::WidgetWithChildrenShortcut);
        connect(sc, &QShortcut::activated, this, [this, digit] { relabel(digit); });
    }
    for (auto key : {Qt::Key_K, Qt::Key_Return, Qt::Key_Enter}) {
        auto *sc = new QShortcut(QKeySequence(key), this);
        sc->setContext(Qt::WidgetWithChildrenShortcut);
        connect(sc, &QShortcut::activated, this, &ReviewPage::keepLabel);
    }
    auto *skipKey = new QShortcut(QKeySequence(Qt::Key_S), this);
    skipKey->setContext(Qt::WidgetWithChildrenShortcut);
    connect(skipKey, &QShortcut::activated, this, &ReviewPage::skip);

    connect(&m_watcher, &QFutureWatcher<Outcome>::finished, this, [this] {
        const Outcome o = m_watcher.result();
        if (o.id != currentId())
            return;
        m_proponents->setNeighbours(o.status ? o.result.proponents : std::vector<Neighbour>{},
                                    NeighbourListModel::ScoreFormat::Influence);
        m_opponents->setNeighbours(o.status ? o.result.opponents : std::vector<Neighbour>{},
                                   NeighbourListModel::ScoreFormat::Influence);
        emit stripsShown(o.id);
    });
    connect(session, &ProjectSession::defaultRankingChanged, this, [this] {
        rebuildOrderChoices();
        syncOrderChoice();
        updateNoiseNote();
    });
    connect(session, &ProjectSession::modelChanged, this, [this] {
        rebuildOrderChoices();
        syncOrderChoice();
        updateNoiseNote();
        rebuildQueue();
    });
    connect(session, &ProjectSession::engineChanged, this, [this] { rebuildQueue(); });
    connect(session, &ProjectSession::examplesReset, this, [this] { rebuildQueue(); });
    connect(session, &ProjectSession::reviewOrderChanged, this, [this] {
        syncOrderChoice();
        rebuildQueue(false);
    });
    connect(m_order, &QComboBox::activated, this, [this](int index) {
        // The default and self-influence orders are at hand; the others are a rank job,
        // and the queue keeps its order until the answer arrives.
        const int kind = m_order->itemData(index).toInt();
        if (kind == int(m_session->defaultSpec().kind))
            m_session->resetReviewOrder();
        else if (kind == int(RankingKind::SelfInfluence))
            m_session->useSelfInfluenceOrder();
        else
            emit orderRequested(kind);
    });
    connect(session, &ProjectSession::exampleChanged, this, [this](qint64 id) {
        updateCounter();
        if (id == currentId())
            updateView();
    });
    setFocusPolicy(Qt::StrongFocus);
    syncOrderChoice();
    updateNoiseNote();
    rebuildQueue();
}

void ReviewPage::updateNoiseNote()
{
    const std::optional<LabelNoiseEstimate> &noise = m_session->labelNoise();
    const RankingKind best = m_session->defaultSpec().kind;
    // Only where the default is the one the estimate gives; a calibrated default explains
    // itself on the Report page.
    if (!noise || noise->covered <= 0 || best != evaluationDefaultRanking(noise->share()).kind) {
        m_noiseNote->setVisible(false);
        return;
    }
    // The estimate of the labels as they were at the cross-validation: relabels since do not
    // move it (storedLabelNoiseEstimate()), and the text says so.
    QString estimate = tr("When the cross-validation ran, confident learning estimated that %1 of %2 labels "
                          "(%3 %) were wrong.")
                           .arg(QLocale().toString(qlonglong(noise->pruned)),
                                QLocale().toString(qlonglong(noise->covered)),
                                QLocale().toString(100.0 * noise->share(), 'f', 1));
    // How good the models behind that number were: their mistakes count as wrong labels.
    if (noise->agreement() >= 0.0) {
        estimate.chop(1); // the full stop, which follows the parenthesis instead
        estimate += tr(" (its fold models' class was the label for %1 % of the examples they did not train on).")
                        .arg(QLocale().toString(100.0 * noise->agreement(), 'f', 1));
    }
    const QString threshold = QLocale().toString(100.0 * kBoundaryReviewNoiseShare, 'f', 0);
    if (best == RankingKind::CvBoundary)
        m_noiseNote->setText(
            estimate + QLatin1Char(' ')
            + tr("With %1 % or more wrong, the queue starts with likely wrong labels near the class boundary: fixing "
                 "those improved the model most in TracLens's measurements. To see the most wrong labels first, "
                 "order by the ensemble.")
                  .arg(threshold));
    else
        m_noiseNote->setText(estimate + QLatin1Char(' ')
                             + tr("Under %1 % wrong, the queue starts with the labels most likely wrong.").arg(threshold));
    m_noiseNote->setVisible(true);
}

QString ReviewPage::orderTitle(int rankingKind)
{
    switch (RankingKind(rankingKind)) {
    case RankingKind::SelfInfluence: return tr("Self-influence (TracIn)");
    case RankingKind::Loss: return tr("Loss at the last checkpoint");
    case RankingKind::Margin: return tr("Smallest margin");
    case RankingKind::Random: return tr("Random (baseline)");
    case RankingKind::Neighbours: return tr("Neighbours disagree with the label");
    case RankingKind::CvSelfConfidence: return tr("Out-of-sample confidence (confident learning)");
    case RankingKind::CvMargin: return tr("Out-of-sample margin");
    case RankingKind::CvSelfInfluence: return tr("Out-of-sample self-influence");
    case RankingKind::Ensemble: return tr("Ensemble (out-of-sample, margin, neighbours, loss)");
    case RankingKind::CvNoiseRate: return tr("Spread over the likely confusions (confident learning)");
    case RankingKind::CvBoundary: return tr("Most useful to fix: likely wrong and near the class boundary");
    }
    return QString();
}

void ReviewPage::rebuildOrderChoices()
{
    // Item data: RankingKind. The project's default comes first (its measured best when
    // calibrated, calibration.h); TracIn self-influence and the baselines stay one click
    // away.
    const int best = int(m_session->defaultSpec().kind);
    if (m_order->count() > 0 && m_order->itemData(0).toInt() == best)
        return;
    QSignalBlocker block(m_order);
    m_order->clear();
    m_order->addItem(tr("%1 — recommended").arg(orderTitle(best)), best);
    m_order->setItemData(0, m_order->itemText(0), Qt::ToolTipRole);
    for (RankingKind kind : allRankingKinds()) {
        if (int(kind) == best)
            continue;
        m_order->addItem(orderTitle(int(kind)), int(kind));
        m_order->setItemData(m_order->count() - 1, orderTitle(int(kind)), Qt::ToolTipRole);
    }
    // On a wide window the box grows until its longest title fits, no further.
    int longest = 0;
    for (int i = 0; i < m_order->count(); ++i)
        longest = std::max(longest, m_order->fontMetrics().horizontalAdvance(m_order->itemText(i)));
    m_order->setMaximumWidth(longest + 4 * m_order->fontMetrics().averageCharWidth() + 32);
}

void ReviewPage::syncOrderChoice()
{
    const int at = m_order->findData(m_session->reviewOrderKind());
    if (at >= 0) {
        QSignalBlocker block(m_order);
        m_order->setCurrentIndex(at);
    }
}

void ReviewPage::rebuildQueue(bool keepCurrent)
{
    const qint64 keep = keepCurrent ? currentId() : -1;
    m_queue.clear();
    for (qint64 id : m_session->reviewQueue())
        m_queue.push_back(id);
    rebuildClassButtons();
    m_position = -1;
    if (keep >= 0 && m_queue.contains(keep))
        m_position = int(m_queue.indexOf(keep));
    else
        advanceFrom(0);
    updateView();
}

void ReviewPage::rebuildClassButtons()
{
    for (QPushButton *b : m_classButtons)
        delete b;
    m_classButtons.clear();
    const int n = m_session->numClasses();
    const int columns = n > 6 ? 5 : n;
    for (int c = 0; c < n; ++c) {
        auto *b = new QPushButton(relabelButtonText(c, m_session->className(c)));
        b->setObjectName(QStringLiteral("relabelButton%1").arg(c));
        b->setCheckable(true);
        b->setMinimumWidth(120);
        b->setFocusPolicy(Qt::NoFocus);
        connect(b, &QPushButton::clicked, this, [this, c] { relabel(c); });
        m_classGrid->addWidget(b, c / std::max(1, columns), c % std::max(1, columns));
        m_classButtons.push_back(b);
    }
}

qint64 ReviewPage::currentId() const
{
    return m_position >= 0 && m_position < m_queue.size() ? m_queue[m_position] : -1;
}

int ReviewPage::queueLength() const { return int(m_queue.size()); }

int ReviewPage::reviewedCount() const
{
    int n = 0;
    for (qint64 id : m_queue)
        if (const ExampleRow *row = m_session->example(id); row && row->review == ReviewState::Reviewed)
            ++n;
    return n;
}

void ReviewPage::showExample(qint64 id)
{
    const int pos = int(m_queue.indexOf(id));
    if (pos < 0)
        return;
    m_position = pos;
    updateView();
}

void ReviewPage::advanceFrom(int position)
{
    // The next example nobody has decided on yet, after `position`, wrapping once.
    const int n = int(m_queue.size());
    for (int step = 0; step < n; ++step) {
        const int p = (position + step) % n;
        const ExampleRow *row = m_session->example(m_queue[p]);
        if (row && row->review == ReviewState::None) {
            m_position = p;
            return;
        }
    }
    m_position = -1;
}

void ReviewPage::keepLabel()
{
    if (const ExampleRow *row = m_session->example(currentId()))
        decide(row->currentLabel, int(ReviewState::Reviewed));
}

void ReviewPage::relabel(int label)
{
    if (label < 0 || label >= m_session->numClasses())
        return;
    decide(label, int(ReviewState::Reviewed));
}

void ReviewPage::skip()
{
    if (const ExampleRow *row = m_session->example(currentId()))
        decide(row->currentLabel, int(ReviewState::Skipped));
}

void ReviewPage::decide(int label, int review)
{
    const qint64 id = currentId();
    if (id < 0 || !m_session->checkWritable())
        return;
    // A relabel reorders the queue (scores follow the label), so the next example is
    // chosen before the decision: the reviewer goes on where they were.
    const int at = m_position;
    advanceFrom(at + 1);
    m_nextAfterDecision = m_position >= 0 && m_queue[m_position] != id ? m_queue[m_position] : -1;
    m_position = at;
    m_session->undoStack()->push(new ReviewCommand(m_session, id, label, ReviewState(review),
                                                   [this](qint64 i, bool undone) { onApplied(i, undone); }));
}

void ReviewPage::onApplied(qint64 id, bool undone)
{
    const int pos = int(m_queue.indexOf(id));
    if (pos < 0)
        return;
    if (undone) {
        // Undo brings the example back on screen so the decision can be made again.
        m_position = pos;
    } else {
        const int next = m_nextAfterDecision >= 0 ? int(m_queue.indexOf(m_nextAfterDecision)) : -1;
        const ExampleRow *row = next >= 0 ? m_session->example(m_queue[next]) : nullptr;
        if (row && row->review == ReviewState::None)
            m_position = next;
        else
            advanceFrom(pos + 1);
    }
    m_nextAfterDecision = -1;
    updateView();
}

void ReviewPage::updateCounter()
{
    const QLocale locale;
    const int reviewed = reviewedCount();
    m_counter->setText(tr("Reviewed %1 of %2").arg(locale.toString(reviewed)).arg(locale.toString(queueLength())));
    m_progress->setRange(0, std::max(1, queueLength()));
    m_progress->setValue(reviewed);
    const QStringList weak = modelWarnings(*m_session);
    m_weakModel->setVisible(!weak.isEmpty());
    m_weakModel->setText(tr("<span style='color:#b35900'>⚠ The model may be too weak for this order to mean "
                            "much</span>"));
    m_weakModel->setToolTip(weak.join(QStringLiteral("<br><br>")));
}

void ReviewPage::updateView()
{
    // A hidden page only notes it: the large image and the strip query cost tens of
    // milliseconds, and a finished job rebuilds the queue several times in a row.
    // showEvent() brings the view up to date.
    if (!isVisible()) {
        m_viewStale = true;
        return;
    }
    m_viewStale = false;
    updateCounter();
    const auto engine = m_session->engine();
    if (!engine || m_queue.isEmpty()) {
        m_emptyText->setText(tr("<h3>The review queue is not ready yet</h3>"
                                "<p>It lists the training examples whose labels are likeliest wrong, first, "
                                "once TracIn factors are computed; the progress is shown in the status "
                                "bar.</p>"));
        m_stack->setCurrentIndex(0);
        return;
    }
    m_stack->setCurrentIndex(1);
    const qint64 id = currentId();
    const ExampleRow *row = m_session->example(id);
    const bool any = row != nullptr;
    m_keep->setEnabled(any);
    m_skip->setEnabled(any);
    m_influence->setEnabled(any);
    for (QPushButton *b : m_classButtons)
        b->setEnabled(any);
    if (!row) {
        m_image->setExample(-1);
        m_rank->clear();
        m_given->setText(tr("All done"));
        m_suggested->setText(tr("Every example in the queue has been reviewed or skipped. Undo brings back "
                                "the last one; skipped ones can be found in the browser."));
        m_score->clear();
        m_source->clear();
        m_proponents->clear();
        m_opponents->clear();
        emit currentChanged(-1);
        return;
    }
    m_image->setExample(id);
    const QLocale locale;
    m_rank->setText(tr("Rank %1 of %2 by %3 · #%4")
                        .arg(locale.toString(m_position + 1))
                        .arg(locale.toString(queueLength()))
                        .arg(m_session->reviewOrderName())
                        .arg(id));
    QString given = tr("Label: %1").arg(m_session->className(row->currentLabel));
    if (row->currentLabel != row->givenLabel)
        given += tr("  (was %1)").arg(m_session->className(row->givenLabel));
    m_given->setText(given);
    const int pred = engine->predicted(id);
    const double prob = 100.0 * engine->predictedProbability(id);
    if (pred != row->currentLabel)
        m_suggested->setText(tr("Suggested: <b style='color:#c0392b'>%1</b> — the model gives it %2%")
                                 .arg(m_session->className(pred)).arg(prob, 0, 'f', 0));
    else
        m_suggested->setText(tr("Suggested: <b style='color:#2e9d5b'>%1</b> — the model agrees (%2%)")
                                 .arg(m_session->className(pred)).arg(prob, 0, 'f', 0));
    // Scores are formed with the current label; say so when the model learnt another.
    QString scores = tr("Self-influence <b>%1</b> · loss %2")
                         .arg(m_session->selfInfluence(id), 0, 'g', 4)
                         .arg(double(engine->lossAtLast(id)), 0, 'f', 3);
    if (const auto trained = m_session->trainedLabel(id))
        scores += tr(" · with the label %1 (the model was trained with %2)")
                      .arg(m_session->className(row->currentLabel), m_session->className(*trained));
    m_score->setText(scores);
    m_source->setText(QString::fromStdString(row->source));
    for (int c = 0; c < m_classButtons.size(); ++c) {
        m_classButtons[c]->setChecked(c == row->currentLabel);
        QFont f = m_classButtons[c]->font();
        f.setBold(c == pred);
        m_classButtons[c]->setFont(f);
    }
    emit currentChanged(id);
    runStripQuery();
}

void ReviewPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    if (m_viewStale)
        updateView();
}

void ReviewPage::runStripQuery()
{
    const auto engine = m_session->engine();
    const qint64 id = currentId();
    if (!engine || id < 0)
        return;
    m_watcher.setFuture(QtConcurrent::run([engine, id] {
        Outcome o;
        o.id = id;
        auto r = engine->query(id, kStripLength, Scoring::Raw);
        if (r.ok())
            o.result = std::move(r).value();
        else
            o.status = r.status();
        return o;
    }));
}

} // namespace traclens
