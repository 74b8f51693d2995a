#include "influencepage.h"
#include "stackedpage.h"

#include "appsettings.h"
#include "exampleimageview.h"
#include "neighbourlistmodel.h"
#include "projectsession.h"
#include "thumbnaildelegate.h"
#include "tileview.h"

#include <QAction>
#include <QButtonGroup>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QStackedWidget>
#include <QToolButton>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace traclens {

namespace {
QLabel *heading(const QString &title, const QString &subtitle, const QColor &accent)
{
    auto *l = new QLabel(QStringLiteral("<span style='color:%1;font-weight:600'>%2</span>"
                                        "<br><span style='color:gray'>%3</span>")
                             .arg(accent.name(), title, subtitle));
    l->setTextFormat(Qt::RichText);
    return l;
}
} // namespace

InfluencePage::InfluencePage(ProjectSession *session, QWidget *parent) : QWidget(parent), m_session(session)
{
    const StackedPage frame = makeStackedPage(this);
    m_stack = frame.stack;
    m_emptyText = frame.emptyText;
    QWidget *page = frame.page;
    QVBoxLayout *layout = frame.layout;

    // --- header: the query and the controls
    auto *header = new QHBoxLayout;
    header->setSpacing(14);
    m_queryImage = new ExampleImageView;
    m_queryImage->setSession(session);
    m_queryImage->setSide(128);
    header->addWidget(m_queryImage);
    auto *text = new QVBoxLayout;
    m_queryTitle = new QLabel;
    QFont tf = m_queryTitle->font();
    tf.setPointSizeF(tf.pointSizeF() * 1.4);
    tf.setBold(true);
    m_queryTitle->setFont(tf);
    m_queryFacts = new QLabel;
    m_queryFacts->setObjectName("queryFacts");
    m_queryFacts->setTextFormat(Qt::RichText);
    m_queryFacts->setWordWrap(true);
    text->addStretch(1);
    text->addWidget(m_queryTitle);
    text->addWidget(m_queryFacts);
    text->addStretch(1);
    header->addLayout(text, 1);

    auto *controls = new QGridLayout;
    controls->setHorizontalSpacing(8);
    m_backAction = new QAction(style()->standardIcon(QStyle::SP_ArrowBack), tr("Back"), this);
    m_backAction->setShortcut(QKeySequence(Qt::ALT | Qt::Key_Left));
    m_backAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_forwardAction = new QAction(style()->standardIcon(QStyle::SP_ArrowForward), tr("Forward"), this);
    m_forwardAction->setShortcut(QKeySequence(Qt::ALT | Qt::Key_Right));
    m_forwardAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    addAction(m_backAction);
    addAction(m_forwardAction);
    m_backButton = new QToolButton;
    m_backButton->setObjectName("historyBack");
    m_backButton->setDefaultAction(m_backAction);
    m_backButton->setToolTip(tr("Previous query (Alt+Left)"));
    m_forwardButton = new QToolButton;
    m_forwardButton->setObjectName("historyForward");
    m_forwardButton->setDefaultAction(m_forwardAction);
    m_forwardButton->setToolTip(tr("Next query (Alt+Right)"));
    auto *nav = new QHBoxLayout;
    nav->addWidget(m_backButton);
    nav->addWidget(m_forwardButton);
    nav->addStretch(1);
    controls->addWidget(new QLabel(tr("History")), 0, 0);
    controls->addLayout(nav, 0, 1);

    auto *raw = new QToolButton;
    raw->setObjectName("scoringRaw");
    raw->setText(tr("Raw"));
    raw->setCheckable(true);
    raw->setToolTip(tr("The strongest pushes, as in the TracIn paper. Led by high-loss (hard or mislabelled) "
                       "examples, so the same few top many lists. Σ η (e·e′)(h·h′+1)"));
    auto *norm = new QToolButton;
    norm->setObjectName("scoringNormalised");
    norm->setText(tr("Normalised"));
    norm->setCheckable(true);
    norm->setToolTip(tr("The lookalikes that explain this prediction: TracIn divided by √(self-influence of "
                        "both), a cosine, so examples with huge gradients do not top every list"));
    m_scoringGroup = new QButtonGroup(this);
    m_scoringGroup->addButton(raw, int(Scoring::Raw));
    m_scoringGroup->addButton(norm, int(Scoring::Normalised));
    auto *scoringRow = new QHBoxLayout;
    scoringRow->setSpacing(0);
    scoringRow->addWidget(raw);
    scoringRow->addWidget(norm);
    scoringRow->addStretch(1);
    controls->addWidget(new QLabel(tr("Scores")), 1, 0);
    controls->addLayout(scoringRow, 1, 1);
    // One line on what the other mode shows and when to use it (docs/influence-default.md).
    m_scoringHint = new QLabel;
    m_scoringHint->setWordWrap(true);
    m_scoringHint->setMaximumWidth(320);
    m_scoringHint->setStyleSheet(QStringLiteral("color: gray"));
    controls->addWidget(m_scoringHint, 3, 0, 1, 2);

    m_k = new QSpinBox;
    m_k->setObjectName("neighbourCount");
    m_k->setRange(1, 100);
    m_k->setValue(AppSettings::neighbourCount());
    m_k->setToolTip(tr("Examples per grid"));
    controls->addWidget(new QLabel(tr("Show")), 2, 0);
    controls->addWidget(m_k, 2, 1);
    header->addLayout(controls);
    layout->addLayout(header);

    auto *line = new QFrame;
    line->setFrameShape(QFrame::HLine);
    line->setFrameShadow(QFrame::Sunken);
    layout->addWidget(line);

    // --- the four grids
    auto *grids = new QGridLayout;
    grids->setHorizontalSpacing(14);
    grids->setVerticalSpacing(4);
    const QColor green(0x2e, 0x9d, 0x5b), red(0xc0, 0x39, 0x2b), blue(0x3d, 0x6f, 0xd9), grey(0x7f, 0x8c, 0x8d);
    m_captions[Proponents] = heading(tr("Proponents"), tr("training examples that helped most"), green);
    m_captions[Opponents] = heading(tr("Opponents"), tr("training examples that hurt most"), red);
    m_captions[Nearest] = heading(tr("Nearest"), tr("most similar embeddings"), blue);
    m_captions[Farthest] = heading(tr("Farthest"), tr("least similar embeddings"), grey);
    for (int g = 0; g < GridCount; ++g) {
        m_models[g] = new NeighbourListModel(session, this);
        m_views[g] = new TileView(TileView::Layout::Grid);
        m_views[g]->setObjectName(QStringLiteral("grid-%1").arg(QStringList{"proponents", "opponents", "nearest", "farthest"}[g]));
        m_views[g]->setImageSide(86);
        m_views[g]->setModel(m_models[g]);
        m_views[g]->setFrameShape(QFrame::StyledPanel);
        grids->addWidget(m_captions[g], 0, g);
        grids->addWidget(m_views[g], 1, g);
        grids->setColumnStretch(g, 1);
        connect(m_views[g], &TileView::exampleClicked, this, &InfluencePage::setQuery);
    }
    // Separate TracIn from the embedding grids.
    grids->setColumnMinimumWidth(2, 0);
    layout->addLayout(grids, 1);
    m_stack->addWidget(page);

    m_scoringGroup->button(AppSettings::normalisedScores() ? int(Scoring::Normalised) : int(Scoring::Raw))->setChecked(true);
    m_scoring = AppSettings::normalisedScores() ? Scoring::Normalised : Scoring::Raw;
    updateScoringHint();

    connect(m_backAction, &QAction::triggered, this, &InfluencePage::back);
    connect(m_forwardAction, &QAction::triggered, this, &InfluencePage::forward);
    connect(m_scoringGroup, &QButtonGroup::idClicked, this, [this](int id) { setScoring(Scoring(id)); });
    connect(m_k, &QSpinBox::valueChanged, this, [this](int k) {
        AppSettings::setNeighbourCount(k);
        runQuery();
    });
    connect(&m_watcher, &QFutureWatcher<Outcome>::finished, this, &InfluencePage::showOutcome);
    connect(session, &ProjectSession::engineChanged, this, &InfluencePage::onEngineChanged);
    connect(session, &ProjectSession::exampleChanged, this, [this](qint64 id) {
        // A relabel changes that example's scores: ask again when it is the query or in
        // a shown list (a review mark alone changes nothing the lists show).
        const ExampleRow *row = m_session->example(id);
        const auto shown = m_shownLabels.constFind(id);
        if (row && shown != m_shownLabels.constEnd() && *shown != row->currentLabel)
            runQuery();
        else if (id == queryId())
            updateHeader();
    });
    onEngineChanged();
    updateNavigation();
}

void InfluencePage::onEngineChanged()
{
    if (!m_session->engine()) {
        m_emptyText->setText(tr("<h3>Influence is not ready yet</h3>"
                                "<p>It appears once the model is trained and its TracIn factors are "
                                "computed; the progress is shown in the status bar.</p>"));
        m_stack->setCurrentIndex(0);
        return;
    }
    m_stack->setCurrentIndex(1);
    runQuery();
}

void InfluencePage::setQuery(qint64 id)
{
    if (id < 0 || id == queryId())
        return;
    // A new query after going back discards the forward part, as in a browser.
    m_history.resize(m_historyPos + 1);
    m_history.push_back(id);
    m_historyPos = int(m_history.size()) - 1;
    updateNavigation();
    runQuery();
}

void InfluencePage::back()
{
    if (!canGoBack())
        return;
    --m_historyPos;
    updateNavigation();
    runQuery();
}

void InfluencePage::forward()
{
    if (!canGoForward())
        return;
    ++m_historyPos;
    updateNavigation();
    runQuery();
}

void InfluencePage::setNeighbourCount(int k) { m_k->setValue(k); }
int InfluencePage::neighbourCount() const { return m_k->value(); }

void InfluencePage::setScoring(Scoring scoring)
{
    if (scoring == m_scoring)
        return;
    m_scoring = scoring;
    m_scoringGroup->button(int(scoring))->setChecked(true);
    AppSettings::setNormalisedScores(scoring == Scoring::Normalised);
    updateScoringHint();
    runQuery();
}

void InfluencePage::updateScoringHint()
{
    m_scoringHint->setText(m_scoring == Scoring::Normalised
                               ? tr("Lookalikes that taught this answer. Raw shows the strongest pushes, "
                                    "led by high-loss examples: use it to find outsized influence.")
                               : tr("The strongest pushes, led by high-loss examples. Normalised shows the "
                                    "lookalikes that taught this answer: use it to explain a prediction."));
}

void InfluencePage::updateNavigation()
{
    m_backAction->setEnabled(canGoBack());
    m_forwardAction->setEnabled(canGoForward());
}

void InfluencePage::runQuery()
{
    updateHeader();
    const auto engine = m_session->engine();
    const qint64 id = queryId();
    if (!engine || id < 0) {
        for (auto *m : m_models)
            m->clear();
        return;
    }
    const int k = m_k->value();
    const Scoring scoring = m_scoring;
    m_watcher.setFuture(QtConcurrent::run([engine, id, k, scoring] {
        Outcome o;
        o.id = id;
        o.k = k;
        o.scoring = scoring;
        auto r = engine->query(id, k, scoring);
        if (r.ok())
            o.result = std::move(r).value();
        else
            o.status = r.status();
        return o;
    }));
}

void InfluencePage::showOutcome()
{
    const Outcome o = m_watcher.result();
    // A late answer to an older question: a newer one is on its way.
    if (o.id != queryId() || o.k != m_k->value() || o.scoring != m_scoring)
        return;
    if (!o.status) {
        for (auto *m : m_models)
            m->clear();
        emit queryFailed(QString::fromStdString(o.status.message()));
        return;
    }
    m_shown = o;
    m_shownLabels.clear();
    for (const auto *list : {&o.result.proponents, &o.result.opponents, &o.result.nearest, &o.result.farthest})
        for (const Neighbour &n : *list)
            if (const ExampleRow *row = m_session->example(n.exampleId))
                m_shownLabels.insert(n.exampleId, row->currentLabel);
    if (const ExampleRow *row = m_session->example(o.id))
        m_shownLabels.insert(o.id, row->currentLabel);
    using F = NeighbourListModel::ScoreFormat;
    const F influence = o.scoring == Scoring::Normalised ? F::Similarity : F::Influence;
    m_models[Proponents]->setNeighbours(o.result.proponents, influence);
    m_models[Opponents]->setNeighbours(o.result.opponents, influence);
    m_models[Nearest]->setNeighbours(o.result.nearest, F::Similarity);
    m_models[Farthest]->setNeighbours(o.result.farthest, F::Similarity);
    updateHeader();
    emit queryShown(o.id);
}

void InfluencePage::updateHeader()
{
    const qint64 id = queryId();
    const ExampleRow *row = m_session->example(id);
    m_queryImage->setExample(row ? id : -1);
    if (!row) {
        m_queryTitle->setText(tr("Choose an example"));
        m_queryFacts->setText(tr("Double-click a thumbnail in the browser, or click any tile below."));
        return;
    }
    m_queryTitle->setText(tr("%1 · #%2").arg(m_session->className(row->currentLabel)).arg(id));
    QString facts = tr("%1 example").arg(row->split == Split::Train ? tr("Training") : tr("Test"));
    if (row->currentLabel != row->givenLabel)
        facts += tr(" · relabelled from %1").arg(m_session->className(row->givenLabel));
    const auto engine = m_session->engine();
    if (engine && engine->rowOf(id) >= 0) {
        const int pred = engine->predicted(id);
        const QString predText = tr("predicted <b>%1</b> (%2%)")
                                     .arg(m_session->className(pred))
                                     .arg(100.0 * engine->predictedProbability(id), 0, 'f', 0);
        facts += QStringLiteral(" · ") + (pred != row->currentLabel
                                              ? QStringLiteral("<span style='color:#c0392b'>%1</span>").arg(predText)
                                              : predText);
        facts += tr(" · self-influence %1").arg(engine->selfInfluence(id), 0, 'g', 4);
    }
    // Scores are formed with the current label; say so when the model learnt another.
    if (const auto trained = m_session->trainedLabel(id))
        facts += tr(" · scores use the label <b>%1</b>; the model was trained with %2")
                     .arg(m_session->className(row->currentLabel), m_session->className(*trained));
    // How the lists were found and in which precision, never implied.
    const bool fromIndex = m_shown.id == id ? m_shown.result.fromIndex : (engine && engine->usesIndex());
    const bool half = engine && engine->store().precision() == FactorPrecision::Float16;
    facts += tr("<br><span style='color:gray'>Scores: %1 TracIn over %2 checkpoints, %3, %4 factors; "
                "embedding similarity is the cosine at the last checkpoint.</span>")
                 .arg(m_scoring == Scoring::Raw ? tr("raw") : tr("normalised"))
                 .arg(engine ? engine->numCheckpoints() : 0)
                 .arg(fromIndex ? tr("candidates from the index, rescored exactly")
                                : tr("exact search over every training example"))
                 .arg(half ? QStringLiteral("float16") : QStringLiteral("float32"));
    // The query itself is not among its neighbours; say so, as the command line does.
    if (row->split == Split::Train)
        facts += tr("<br><span style='color:gray'>This training example is left out of its own lists.</span>");
    if (engine && engine->info().stale)
        facts += tr("<br><span style='color:#c0392b'>The saved index is out of date, so the lists are "
                    "searched exactly; rebuild it with “traclens-cli index”.</span>");
    m_queryFacts->setText(facts);
}

} // namespace traclens
