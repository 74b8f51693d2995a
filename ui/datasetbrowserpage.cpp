#include "datasetbrowserpage.h"

#include "appsettings.h"
#include "classnames.h"
#include "exampleimageview.h"
#include "flowlayout.h"
#include "examplelistmodel.h"
#include "itemroles.h"
#include "neighbourlistmodel.h"
#include "thumbnaildelegate.h"
#include "projectsession.h"
#include "reviewcommand.h"
#include "thumbnailcache.h"
#include "tileview.h"
#include "uiresources.h"

#include <QComboBox>
#include <QDateTime>
#include <QFormLayout>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QSlider>
#include <QUndoStack>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <cmath>

namespace traclens {

DatasetBrowserPage::DatasetBrowserPage(ProjectSession *session, QWidget *parent)
    : QWidget(parent), m_session(session), m_model(new ExampleListModel(session, this))
{
    ensureUiResources();
    auto *outer = new QHBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->setSpacing(0);

    // --- left: filter bar over the grid
    auto *left = new QWidget;
    auto *leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(12, 10, 8, 0);
    leftLayout->setSpacing(8);

    // The filter bar wraps onto a second line when the window is narrow.
    auto *barWidget = new QWidget;
    auto *bar = new FlowLayout(barWidget, 12, 6);
    auto combo = [&](const QString &label, const QStringList &items) {
        auto *pair = new QWidget;
        auto *row = new QHBoxLayout(pair);
        row->setContentsMargins(0, 0, 0, 0);
        row->setSpacing(6);
        auto *c = new QComboBox;
        c->addItems(items);
        c->setSizeAdjustPolicy(QComboBox::AdjustToContents);
        row->addWidget(new QLabel(label));
        row->addWidget(c);
        bar->addWidget(pair);
        return c;
    };
    m_split = combo(tr("Split"), {tr("All"), tr("Train"), tr("Test")});
    m_class = combo(tr("Class"), {tr("All classes")});
    m_edited = combo(tr("Edited"), {tr("Any"), tr("Edited"), tr("Not edited")});
    m_review = combo(tr("Review"), {tr("Any"), tr("Reviewed"), tr("Skipped"), tr("Not reviewed")});
    m_sort = combo(tr("Sort by"), {tr("Id"), tr("Self-influence"), tr("Loss")});
    auto *tail = new QWidget;
    auto *tailRow = new QHBoxLayout(tail);
    tailRow->setContentsMargins(0, 0, 0, 0);
    tailRow->setSpacing(10);
    m_count = new QLabel;
    m_count->setForegroundRole(QPalette::PlaceholderText);
    tailRow->addWidget(m_count);
    m_zoom = new QSlider(Qt::Horizontal);
    m_zoom->setRange(40, 160);
    m_zoom->setFixedWidth(110);
    m_zoom->setValue(AppSettings::thumbnailSize());
    m_zoom->setToolTip(tr("Thumbnail size"));
    tailRow->addWidget(m_zoom);
    bar->addWidget(tail);
    leftLayout->addWidget(barWidget);

    m_view = new TileView(TileView::Layout::Grid);
    m_view->setObjectName("exampleGrid");
    m_view->setModel(m_model);
    m_view->setImageSide(m_zoom->value());
    leftLayout->addWidget(m_view, 1);
    outer->addWidget(left, 1);

    // --- right: details of the selected example
    auto *details = new QFrame;
    details->setObjectName("detailsPane");
    details->setFrameShape(QFrame::StyledPanel);
    details->setFixedWidth(280);
    auto *d = new QVBoxLayout(details);
    d->setContentsMargins(16, 16, 16, 16);
    d->setSpacing(10);
    m_image = new ExampleImageView;
    m_image->setSession(session);
    m_image->setSide(240);
    d->addWidget(m_image, 0, Qt::AlignHCenter);
    // Whether the image is shown unrotated is known once it is decoded.
    connect(session->thumbnails(), &ThumbnailCache::ready, this, [this](qint64 id) {
        if (id == m_selected && m_session->thumbnails()->shownUnrotated(id))
            updateDetails();
    });
    m_title = new QLabel;
    QFont tf = m_title->font();
    tf.setPointSizeF(tf.pointSizeF() * 1.25);
    tf.setBold(true);
    m_title->setFont(tf);
    d->addWidget(m_title);
    m_facts = new QLabel;
    m_facts->setWordWrap(true);
    m_facts->setTextFormat(Qt::RichText);
    m_facts->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    d->addWidget(m_facts);
    auto *form = new QFormLayout;
    m_relabel = new QComboBox;
    m_relabel->setObjectName("labelEditor");
    form->addRow(tr("Label"), m_relabel);
    d->addLayout(form);
    m_showInfluence = new QPushButton(QIcon(":/traclens/icons/influence.svg"), tr("Show influence"));
    m_showInfluence->setObjectName("showInfluenceButton");
    d->addWidget(m_showInfluence);
    d->addSpacing(6);
    // Why the model sees it this way, at a glance; the influence view has the full story.
    m_proponentsTitle = new QLabel(tr("<b>Helped most</b> <span style='color:gray'>(TracIn proponents)</span>"));
    m_proponentsTitle->setWordWrap(true);
    d->addWidget(m_proponentsTitle);
    m_proponents = new NeighbourListModel(session, this);
    m_proponentsView = new TileView(TileView::Layout::Grid);
    m_proponentsView->setImageSide(56);
    m_proponentsView->tileDelegate()->setCaptionLines(1);
    m_proponentsView->setModel(m_proponents);
    m_proponentsView->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    d->addWidget(m_proponentsView, 3);
    // Takes the spare height while the proponents are hidden (no engine yet).
    d->addStretch(1);
    connect(m_proponentsView, &TileView::exampleClicked, this, &DatasetBrowserPage::influenceRequested);
    connect(&m_watcher, &QFutureWatcher<std::pair<qint64, std::vector<Neighbour>>>::finished, this, [this] {
        const auto result = m_watcher.result();
        if (result.first == m_selected)
            m_proponents->setNeighbours(result.second, NeighbourListModel::ScoreFormat::Influence);
    });
    outer->addWidget(details);

    populateClassCombos();

    connect(m_split, &QComboBox::currentIndexChanged, this, &DatasetBrowserPage::applyFilter);
    connect(m_class, &QComboBox::currentIndexChanged, this, &DatasetBrowserPage::applyFilter);
    connect(m_edited, &QComboBox::currentIndexChanged, this, &DatasetBrowserPage::applyFilter);
    connect(m_review, &QComboBox::currentIndexChanged, this, &DatasetBrowserPage::applyFilter);
    connect(m_sort, &QComboBox::currentIndexChanged, this, &DatasetBrowserPage::applySort);
    connect(m_zoom, &QSlider::valueChanged, this, [this](int px) {
        m_view->setImageSide(px);
        AppSettings::setThumbnailSize(px);
    });
    connect(m_model, &ExampleListModel::rebuilt, this, [this] {
        updateCount();
        selectExample(m_selected);
    });
    connect(m_view->selectionModel(), &QItemSelectionModel::currentChanged, this, [this](const QModelIndex &current) {
        m_selected = current.isValid() ? current.data(ExampleIdRole).toLongLong() : -1;
        updateDetails();
    });
    connect(m_view, &TileView::exampleActivated, this, &DatasetBrowserPage::influenceRequested);
    connect(m_showInfluence, &QPushButton::clicked, this, [this] {
        if (m_selected >= 0)
            emit influenceRequested(m_selected);
    });
    connect(m_relabel, &QComboBox::activated, this, [this](int index) { relabelSelected(index); });
    connect(session, &ProjectSession::examplesReset, this, [this] {
        populateClassCombos();
        updateDetails();
    });
    connect(session, &ProjectSession::exampleChanged, this, [this](qint64 id) {
        if (id == m_selected)
            updateDetails();
        updateCount();
    });
    connect(session, &ProjectSession::engineChanged, this, &DatasetBrowserPage::updateDetails);
    connect(session, &ProjectSession::modelChanged, this, &DatasetBrowserPage::updateDetails);
    updateCount();
    updateDetails();
}

void DatasetBrowserPage::populateClassCombos()
{
    const int keep = m_class->currentIndex();
    QSignalBlocker block(m_class);
    m_class->clear();
    m_class->addItem(tr("All classes"));
    m_relabel->clear();
    for (int i = 0; i < m_session->numClasses(); ++i) {
        m_class->addItem(numberedClassName(i, m_session->className(i)));
        m_relabel->addItem(numberedClassName(i, m_session->className(i)));
    }
    m_class->setCurrentIndex(keep >= 0 && keep < m_class->count() ? keep : 0);
}

void DatasetBrowserPage::applyFilter()
{
    ExampleListModel::Filter f;
    if (m_split->currentIndex() == 1)
        f.split = Split::Train;
    else if (m_split->currentIndex() == 2)
        f.split = Split::Test;
    f.label = m_class->currentIndex() - 1;
    f.edited = ExampleListModel::Filter::Edited(m_edited->currentIndex());
    f.review = ExampleListModel::Filter::Review(m_review->currentIndex());
    m_model->setFilter(f);
}

void DatasetBrowserPage::applySort()
{
    m_model->setSort(ExampleListModel::Sort(m_sort->currentIndex()));
    m_view->scrollToTop();
}

void DatasetBrowserPage::setEditingEnabled(bool enabled)
{
    m_editingEnabled = enabled;
    m_relabel->setToolTip(enabled                     ? QString()
                          : m_session->isReadOnly() ? tr("The project is open read-only; labels cannot be changed here")
                                                    : tr("Labels can be changed when the background work has finished"));
    updateDetails();
}

void DatasetBrowserPage::setSort(int sort)
{
    m_sort->setCurrentIndex(sort);
}

void DatasetBrowserPage::updateCount()
{
    const QLocale locale;
    m_count->setText(tr("%1 of %2 examples · %3 edited")
                         .arg(locale.toString(m_model->rowCount()))
                         .arg(locale.toString(qlonglong(m_session->examples().size())))
                         .arg(locale.toString(qlonglong(m_session->editedCount()))));
}

void DatasetBrowserPage::selectExample(qint64 id)
{
    const int row = m_model->rowOf(id);
    if (row < 0) {
        m_selected = id;
        updateDetails();
        return;
    }
    const QModelIndex index = m_model->index(row);
    m_view->setCurrentIndex(index);
    m_view->scrollTo(index, QAbstractItemView::PositionAtCenter);
}

qint64 DatasetBrowserPage::findExample(const QString &text)
{
    const QString needle = text.trimmed();
    if (needle.isEmpty())
        return -1;
    qint64 found = -1;
    bool isNumber = false;
    const qint64 asId = needle.toLongLong(&isNumber);
    if (isNumber && m_session->example(asId))
        found = asId;
    // An exact path wins over a partial name: "1.png" must not land on "11.png".
    for (int pass = 0; pass < 2 && found < 0; ++pass) {
        for (const ExampleRow &row : m_session->examples()) {
            const QString source = QString::fromStdString(row.source);
            const bool match = pass == 0 ? (source.compare(needle, Qt::CaseInsensitive) == 0
                                            || source.endsWith(QLatin1Char('/') + needle, Qt::CaseInsensitive))
                                         : source.contains(needle, Qt::CaseInsensitive);
            if (match) {
                found = row.id;
                break;
            }
        }
    }
    if (found < 0)
        return -1;
    if (m_model->rowOf(found) < 0) {
        for (QComboBox *box : {m_split, m_class, m_edited, m_review}) {
            QSignalBlocker block(box);
            box->setCurrentIndex(0);
        }
        applyFilter();
        updateCount();
    }
    selectExample(found);
    return found;
}

void DatasetBrowserPage::updateDetails()
{
    const ExampleRow *row = m_session->example(m_selected);
    m_relabel->setEnabled(row && m_editingEnabled);
    m_showInfluence->setEnabled(row && m_session->engine());
    queryProponents();
    if (!row) {
        m_image->setExample(-1);
        m_title->setText(tr("No example selected"));
        m_facts->setText(tr("Click a thumbnail to see its details. Double-click opens its influence."));
        return;
    }
    m_image->setExample(row->id);
    m_title->setText(m_session->className(row->currentLabel));
    QString facts = tr("<b>#%1</b> · %2<br><span style='color:gray'>%3</span>")
                        .arg(row->id)
                        .arg(row->split == Split::Train ? tr("training") : tr("test"))
                        .arg(QString::fromStdString(row->source).toHtmlEscaped());
    if (m_session->thumbnails()->shownUnrotated(row->id))
        facts += QStringLiteral("<br><i>%1</i>").arg(ExampleImageView::unrotatedNote().toHtmlEscaped());
    if (row->currentLabel != row->givenLabel)
        facts += tr("<br>Relabelled from <b>%1</b>").arg(m_session->className(row->givenLabel));
    if (row->review == ReviewState::Reviewed)
        facts += tr("<br>Reviewed");
    else if (row->review == ReviewState::Skipped)
        facts += tr("<br>Skipped in review");
    const auto engine = m_session->engine();
    if (engine && engine->rowOf(row->id) >= 0) {
        const int pred = engine->predicted(row->id);
        facts += tr("<br>Predicted <b>%1</b> (%2%)")
                     .arg(m_session->className(pred))
                     .arg(100.0 * engine->predictedProbability(row->id), 0, 'f', 0);
        facts += tr("<br>Loss %1").arg(double(engine->lossAtLast(row->id)), 0, 'f', 3);
    }
    const double self = m_session->selfInfluence(row->id);
    if (!std::isnan(self))
        facts += tr("<br>Self-influence %1").arg(self, 0, 'g', 4);
    // The label history, newest first: who changed what, and when.
    auto history = m_session->db().labelHistory(row->id);
    if (history.ok() && !history.value().empty()) {
        facts += tr("<br><br><b>Label history</b>");
        const auto &changes = history.value();
        for (auto it = changes.rbegin(); it != changes.rend() && it - changes.rbegin() < 6; ++it)
            facts += tr("<br>%1 → %2 <span style='color:gray'>· %3 · %4</span>")
                         .arg(m_session->className(it->oldLabel), m_session->className(it->newLabel),
                              QString::fromStdString(it->origin),
                              QDateTime::fromMSecsSinceEpoch(it->timeMs).toString("yyyy-MM-dd hh:mm"));
    }
    m_facts->setText(facts);
    QSignalBlocker block(m_relabel);
    m_relabel->setCurrentIndex(row->currentLabel);
}

void DatasetBrowserPage::queryProponents()
{
    const auto engine = m_session->engine();
    const bool known = engine && m_selected >= 0 && engine->rowOf(m_selected) >= 0;
    m_proponentsTitle->setVisible(known);
    m_proponentsView->setVisible(known);
    if (!known) {
        m_proponents->clear();
        return;
    }
    const qint64 id = m_selected;
    // The influence view's scoring, so the strip and the view agree; the title says which.
    const Scoring scoring = AppSettings::normalisedScores() ? Scoring::Normalised : Scoring::Raw;
    m_proponentsTitle->setText(tr("<b>Helped most</b> <span style='color:gray'>(TracIn proponents, %1)</span>")
                                   .arg(scoring == Scoring::Normalised ? tr("normalised") : tr("raw")));
    m_watcher.setFuture(QtConcurrent::run([engine, id, scoring] {
        auto r = engine->query(id, 6, scoring);
        return std::make_pair(id, r.ok() ? r->proponents : std::vector<Neighbour>{});
    }));
}

void DatasetBrowserPage::relabelSelected(int label)
{
    const ExampleRow *row = m_session->example(m_selected);
    if (!row || label < 0 || label == row->currentLabel || !m_session->checkWritable())
        return;
    // A relabel from the browser is a decision too: it counts as reviewed.
    m_session->undoStack()->push(new ReviewCommand(m_session, row->id, label, ReviewState::Reviewed));
}

} // namespace traclens
