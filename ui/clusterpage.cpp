#include "clusterpage.h"

#include "jobcontroller.h"
#include "neighbourlistmodel.h"
#include "projectsession.h"
#include "tileview.h"

#include <QComboBox>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QScrollArea>
#include <QToolButton>
#include <QVBoxLayout>

namespace traclens {

// One cluster: a header (size, share of the class, show all) and a strip of its
// representatives; the grid of all members is made on first expansion.
struct ClusterPage::Row {
    QFrame *frame = nullptr;
    QLabel *title = nullptr;
    QToolButton *expand = nullptr;
    TileView *strip = nullptr;
    TileView *grid = nullptr;
    NeighbourListModel *representatives = nullptr;
    NeighbourListModel *members = nullptr;
    std::vector<Neighbour> all;
};

namespace {

std::vector<Neighbour> asNeighbours(const std::vector<ClusterMember> &members, size_t count)
{
    std::vector<Neighbour> out;
    for (size_t i = 0; i < members.size() && i < count; ++i)
        out.push_back({members[i].exampleId, members[i].similarity});
    return out;
}

} // namespace

ClusterPage::ClusterPage(ProjectSession *session, QWidget *parent, JobController *jobs)
    : QWidget(parent), m_session(session), m_jobs(jobs ? jobs : new JobController(this))
{
    auto *layout = new QVBoxLayout(this);
    auto *bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Class")));
    m_classCombo = new QComboBox;
    m_classCombo->setMinimumContentsLength(12);
    bar->addWidget(m_classCombo);
    bar->addSpacing(12);
    bar->addWidget(new QLabel(tr("Similarity")));
    m_spaceCombo = new QComboBox;
    m_spaceCombo->addItem(tr("TracIn (gradients)"));
    m_spaceCombo->addItem(tr("Embedding"));
    m_spaceCombo->setItemData(0, tr("Group by the training gradients: what the examples teach the model"), Qt::ToolTipRole);
    m_spaceCombo->setItemData(1, tr("Group by the model's features: what the images look like to it"), Qt::ToolTipRole);
    m_spaceCombo->setToolTip(tr("What “similar” means when grouping the examples of a class"));
    bar->addWidget(m_spaceCombo);
    bar->addSpacing(12);
    m_status = new QLabel;
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_status->setToolTip(tr("k is the number of clusters. “Chosen by silhouette”: several k were tried and the "
                            "one with the most clearly separated clusters kept. Silhouette runs from −1 to 1; "
                            "near 1, each example is much closer to its own cluster than to the next."));
    bar->addWidget(m_status, 1);
    layout->addLayout(bar);

    m_scroll = new QScrollArea;
    m_scroll->setWidgetResizable(true);
    m_scroll->setFrameShape(QFrame::NoFrame);
    m_rowsHost = new QWidget;
    m_rowsLayout = new QVBoxLayout(m_rowsHost);
    m_rowsLayout->setContentsMargins(0, 0, 0, 0);
    m_rowsLayout->addStretch(1);
    m_scroll->setWidget(m_rowsHost);
    layout->addWidget(m_scroll, 1);

    for (const QString &name : session->classNames())
        m_classCombo->addItem(name);
    connect(m_classCombo, &QComboBox::currentIndexChanged, this, [this] { request(); });
    connect(m_spaceCombo, &QComboBox::currentIndexChanged, this, [this](int i) {
        m_space = i == 0 ? ClusterSpace::TracIn : ClusterSpace::Embedding;
        request();
    });
    connect(m_jobs, &JobController::clustersReady, this, &ClusterPage::showOutcome);
    // New factors or labels make stored clusters stale and the kept factors old.
    connect(session, &ProjectSession::modelChanged, this, [this] {
        m_store.reset();
        if (m_shownOnce)
            request();
    });
    connect(session, &ProjectSession::exampleChanged, this, [this] { m_store.reset(); });
    connect(session, &ProjectSession::examplesReset, this, [this] {
        m_store.reset();
        const int current = m_classCombo->currentIndex();
        QSignalBlocker block(m_classCombo);
        m_classCombo->clear();
        for (const QString &name : m_session->classNames())
            m_classCombo->addItem(name);
        m_classCombo->setCurrentIndex(std::min(current, m_classCombo->count() - 1));
    });
}

// A running request finishes on the worker; its answer is dropped with the page. A
// JobController of the page's own is shut down (cancelled and joined) with it.
ClusterPage::~ClusterPage() = default;

void ClusterPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    // Lazy: nothing is computed until the page is first shown.
    if (!m_shownOnce) {
        m_shownOnce = true;
        request();
    }
}

void ClusterPage::setClass(int classIdx)
{
    m_shownOnce = true;
    if (m_classCombo->currentIndex() == classIdx)
        request();
    else
        m_classCombo->setCurrentIndex(classIdx);
}

int ClusterPage::currentClass() const
{
    return m_classCombo->currentIndex();
}

void ClusterPage::setSpace(ClusterSpace space)
{
    m_shownOnce = true;
    m_spaceCombo->setCurrentIndex(space == ClusterSpace::TracIn ? 0 : 1);
    if (space == m_space)
        request();
}

void ClusterPage::refresh()
{
    m_store.reset();
    request();
}

void ClusterPage::request()
{
    const int classIdx = m_classCombo->currentIndex();
    if (classIdx < 0)
        return;
    if (!m_session->modelId()) {
        clearRows();
        m_status->setText(tr("No model yet: train or import one, then compute TracIn."));
        return;
    }
    if (m_job >= 0) {
        // One computation at a time (each writes the project); the newest request runs
        // when the current one is done.
        m_pending = true;
        return;
    }
    m_pending = false;
    clearRows();
    m_status->setText(tr("Clustering %1…").arg(m_classCombo->currentText()));
    m_job = m_jobs->clusterClass(m_session->path(), *m_session->modelId(), classIdx, m_space, m_store);
}

void ClusterPage::showOutcome(qint64 jobId, const ClusterOutcome &out)
{
    if (jobId != m_job)
        return; // another page's request, or one the page no longer waits for
    m_job = -1;
    if (out.store)
        m_store = out.store;
    if (m_pending || out.classIdx != m_classCombo->currentIndex() || out.space != m_space) {
        request();
        return;
    }
    if (!out.status.isOk()) {
        if (out.status.isCancelled())
            return;
        m_status->setText(tr("Could not cluster: %1").arg(QString::fromStdString(out.status.message())));
        emit clustersFailed(QString::fromStdString(out.status.message()));
        return;
    }
    clearRows();
    m_set = out.set;
    size_t total = 0;
    for (const auto &c : m_set.clusters)
        total += c.members.size();
    const QLocale locale;
    m_status->setText(tr("%1 training examples in %2 clusters (%3, silhouette %4)")
                          .arg(locale.toString(qulonglong(total)))
                          .arg(m_set.clusters.size())
                          .arg(m_set.requestedK > 0 ? tr("k given") : tr("k chosen by silhouette"))
                          .arg(m_set.silhouette, 0, 'f', 2));
    for (const auto &c : m_set.clusters) {
        auto row = std::make_unique<Row>();
        row->frame = new QFrame;
        row->frame->setFrameShape(QFrame::StyledPanel);
        auto *v = new QVBoxLayout(row->frame);
        v->setContentsMargins(6, 4, 6, 4);
        auto *header = new QHBoxLayout;
        const double share = total ? 100.0 * double(c.members.size()) / double(total) : 0.0;
        row->title = new QLabel(tr("<b>Cluster %1</b> · %2 examples (%3 %)")
                                    .arg(c.index + 1)
                                    .arg(locale.toString(qulonglong(c.members.size())))
                                    .arg(share, 0, 'f', 1));
        row->title->setToolTip(tr("The cluster's share of the class. The first tiles, the representatives, are the "
                                  "closest to the cluster's centre; their score is that closeness (cosine, 1 = same "
                                  "direction)."));
        header->addWidget(row->title);
        header->addStretch(1);
        row->expand = new QToolButton;
        row->expand->setCheckable(true);
        row->expand->setText(tr("Show all %1").arg(locale.toString(qulonglong(c.members.size()))));
        header->addWidget(row->expand);
        v->addLayout(header);
        row->representatives = new NeighbourListModel(m_session, row->frame);
        row->representatives->setNeighbours(asNeighbours(c.members, size_t(std::max(1, m_set.representatives))),
                                            NeighbourListModel::ScoreFormat::Similarity);
        row->strip = new TileView(TileView::Layout::Strip);
        row->strip->setModel(row->representatives);
        v->addWidget(row->strip);
        row->all = asNeighbours(c.members, c.members.size());
        connect(row->strip, &TileView::exampleClicked, this, &ClusterPage::exampleActivated);
        const int index = int(m_rows.size());
        connect(row->expand, &QToolButton::toggled, this, [this, index](bool on) { setExpanded(index, on); });
        m_rowsLayout->insertWidget(m_rowsLayout->count() - 1, row->frame);
        m_rows.push_back(std::move(row));
    }
    emit clustersShown(m_set.classIdx);
}

void ClusterPage::setExpanded(int cluster, bool expanded)
{
    if (cluster < 0 || cluster >= int(m_rows.size()))
        return;
    Row &row = *m_rows[size_t(cluster)];
    if (expanded && !row.grid) {
        row.members = new NeighbourListModel(m_session, row.frame);
        row.members->setNeighbours(row.all, NeighbourListModel::ScoreFormat::Similarity);
        row.grid = new TileView(TileView::Layout::Grid);
        row.grid->setModel(row.members);
        row.grid->setMinimumHeight(360);
        connect(row.grid, &TileView::exampleClicked, this, &ClusterPage::exampleActivated);
        row.frame->layout()->addWidget(row.grid);
    }
    {
        QSignalBlocker block(row.expand);
        row.expand->setChecked(expanded);
    }
    row.expand->setText(expanded ? tr("Show representatives") : tr("Show all %1").arg(QLocale().toString(qulonglong(row.all.size()))));
    row.strip->setVisible(!expanded);
    if (row.grid)
        row.grid->setVisible(expanded);
}

void ClusterPage::clearRows()
{
    for (auto &row : m_rows)
        delete row->frame;
    m_rows.clear();
    m_set = ClusterSetRow{};
}

} // namespace traclens
