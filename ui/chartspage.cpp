#include "chartspage.h"

#include "projectsession.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QHorizontalBarSeries>
#include <QLocale>
#include <QBarSet>
#include <QCategoryAxis>
#include <QChart>
#include <QChartView>
#include <QGridLayout>
#include <QLegend>
#include <QLineSeries>
#include <QAreaSeries>
#include <QScatterSeries>
#include <QTimer>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace traclens {

namespace {
const QColor kBlue(0x3d, 0x6f, 0xd9), kOrange(0xe8, 0x8a, 0x1a), kGreen(0x2e, 0x9d, 0x5b);

QChartView *makeView(const QString &title)
{
    auto *chart = new QChart;
    chart->setTitle(title);
    QFont f = chart->titleFont();
    f.setBold(true);
    f.setPointSizeF(f.pointSizeF() * 1.1);
    chart->setTitleFont(f);
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->setMargins(QMargins(6, 6, 6, 6));
    chart->setBackgroundRoundness(6);
    auto *view = new QChartView(chart);
    view->setRenderHint(QPainter::Antialiasing);
    view->setMinimumSize(360, 260);
    return view;
}

void resetChart(QChart *chart)
{
    chart->removeAllSeries();
    for (QAbstractAxis *axis : chart->axes()) {
        chart->removeAxis(axis);
        delete axis;
    }
}

QValueAxis *valueAxis(const QString &title, double lo, double hi, const char *format = "%.2g", bool nice = true)
{
    auto *axis = new QValueAxis;
    axis->setTitleText(title);
    axis->setRange(lo, hi);
    axis->setLabelFormat(format);
    if (nice)
        axis->applyNiceNumbers();
    return axis;
}
} // namespace

QString decadeLabel(int exponent)
{
    if (exponent >= -2 && exponent <= 3)
        return QString::number(std::pow(10.0, exponent), 'f', std::max(0, -exponent));
    return QStringLiteral("1e%1").arg(exponent);
}

ChartsPage::ChartsPage(ProjectSession *session, QWidget *parent) : QWidget(parent), m_session(session)
{
    auto *grid = new QGridLayout(this);
    grid->setContentsMargins(12, 12, 12, 12);
    grid->setSpacing(12);
    m_histogram = makeView(tr("Self-influence of training examples"));
    m_classes = makeView(tr("Examples per class"));
    m_loss = makeView(tr("Loss per epoch"));
    m_accuracy = makeView(tr("Accuracy per epoch"));
    grid->addWidget(m_histogram, 0, 0);
    grid->addWidget(m_classes, 0, 1);
    grid->addWidget(m_loss, 1, 0);
    grid->addWidget(m_accuracy, 1, 1);
    // The top row (histogram, classes) has more to show than the epoch curves.
    grid->setRowStretch(0, 5);
    grid->setRowStretch(1, 4);

    // Relabels arrive one at a time; redraw the class chart once they settle.
    auto *classTimer = new QTimer(this);
    classTimer->setSingleShot(true);
    classTimer->setInterval(300);
    connect(classTimer, &QTimer::timeout, this, [this] {
        if (isVisible())
            refreshClasses();
        else
            m_stale = true;
    });
    connect(session, &ProjectSession::exampleChanged, classTimer, qOverload<>(&QTimer::start));
    connect(session, &ProjectSession::examplesReset, this, &ChartsPage::refreshWhenVisible);
    connect(session, &ProjectSession::modelChanged, this, &ChartsPage::refreshWhenVisible);
    refresh();
}

void ChartsPage::refreshWhenVisible()
{
    // Charts over 60k examples take tens of milliseconds; a hidden page redraws when
    // shown, so a finished job's hand-over never waits for charts nobody sees.
    if (isVisible())
        refresh();
    else
        m_stale = true;
}

void ChartsPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    if (m_stale) {
        m_stale = false;
        refresh();
    }
}

void ChartsPage::refresh()
{
    refreshHistogram();
    refreshClasses();
    refreshCurves();
}

void ChartsPage::refreshHistogram()
{
    QChart *chart = m_histogram->chart();
    resetChart(chart);
    // Self-influence spans orders of magnitude (well-learned examples near 0, suspicious
    // ones far out), so bins are on log10.
    std::vector<double> logs;
    for (qint64 id : m_session->selfInfluenceRanking()) {
        const double v = m_session->selfInfluence(id);
        if (v > 0 && std::isfinite(v))
            logs.push_back(std::log10(v));
    }
    if (logs.empty()) {
        chart->setTitle(tr("Self-influence of training examples — not computed yet"));
        return;
    }
    chart->setTitle(tr("Self-influence of %1 training examples").arg(QLocale().toString(qlonglong(logs.size()))));
    // Whole decades; the lowest 0.1 % are left out so that a few near-zero values do not
    // squeeze the interesting part of the distribution into a corner.
    std::vector<double> sorted = logs;
    std::sort(sorted.begin(), sorted.end());
    const double low = sorted[size_t(double(sorted.size() - 1) * 0.001)];
    const double lo = std::floor(low), hi = std::max(lo + 1, std::ceil(sorted.back()));
    logs.erase(std::remove_if(logs.begin(), logs.end(), [lo](double v) { return v < lo; }), logs.end());
    const int bins = 48;
    std::vector<int> counts(bins, 0);
    for (double v : logs)
        ++counts[size_t(std::clamp(int((v - lo) / (hi - lo) * bins), 0, bins - 1))];

    auto *upper = new QLineSeries;
    const double w = (hi - lo) / bins;
    upper->append(lo, 0);
    for (int b = 0; b < bins; ++b) {
        upper->append(lo + b * w, counts[size_t(b)]);
        upper->append(lo + (b + 1) * w, counts[size_t(b)]);
    }
    upper->append(hi, 0);
    auto *area = new QAreaSeries(upper);
    area->setName(tr("training examples"));
    QColor fill = kBlue;
    fill.setAlpha(150);
    area->setBrush(fill);
    area->setPen(QPen(kBlue.darker(120), 1));
    chart->addSeries(area);
    chart->legend()->hide();
    // The x values are log10; each decade is labelled with its value (decadeLabel()), not
    // its exponent.
    auto *x = new QCategoryAxis;
    x->setTitleText(tr("self-influence (log scale) — high values: the likeliest label errors"));
    x->setRange(lo, hi);
    x->setLabelsPosition(QCategoryAxis::AxisLabelsPositionOnValue);
    for (int e = int(lo); e <= int(hi); ++e)
        x->append(decadeLabel(e), e);
    auto *y = valueAxis(tr("examples"), 0, *std::max_element(counts.begin(), counts.end()) * 1.05, "%.0f");
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    area->attachAxis(x);
    area->attachAxis(y);
}

void ChartsPage::refreshClasses()
{
    QChart *chart = m_classes->chart();
    resetChart(chart);
    const int k = m_session->numClasses();
    if (k == 0)
        return;
    std::vector<int> train(size_t(k), 0), test(size_t(k), 0), edited(size_t(k), 0);
    for (const ExampleRow &r : m_session->examples()) {
        if (r.currentLabel < 0 || r.currentLabel >= k)
            continue;
        (r.split == Split::Train ? train : test)[size_t(r.currentLabel)]++;
        if (r.currentLabel != r.givenLabel)
            edited[size_t(r.currentLabel)]++;
    }
    auto *trainSet = new QBarSet(tr("train"));
    auto *testSet = new QBarSet(tr("test"));
    auto *editedSet = new QBarSet(tr("relabelled into"));
    trainSet->setColor(kBlue);
    testSet->setColor(kGreen);
    editedSet->setColor(kOrange);
    QStringList names;
    int top = 1;
    // Bottom to top on the category axis: class 0 ends up on top, as people read.
    for (int c = k - 1; c >= 0; --c) {
        *trainSet << train[size_t(c)];
        *testSet << test[size_t(c)];
        *editedSet << edited[size_t(c)];
        names << m_session->className(c);
        top = std::max({top, train[size_t(c)], test[size_t(c)]});
    }
    auto *series = new QHorizontalBarSeries;
    series->setBarWidth(0.85);
    series->append(trainSet);
    series->append(testSet);
    if (m_session->editedCount() > 0)
        series->append(editedSet);
    else
        delete editedSet;
    chart->addSeries(series);
    chart->legend()->show();
    // Horizontal bars: class names stay readable however many there are.
    auto *categories = new QBarCategoryAxis;
    categories->append(names);
    // A slightly smaller font and the legend at the side leave each class name room for
    // its line in a short window (QtCharts elides a name that does not fit to "...").
    QFont labels = categories->labelsFont();
    labels.setPointSizeF(labels.pointSizeF() * 0.85);
    categories->setLabelsFont(labels);
    chart->legend()->setAlignment(Qt::AlignRight);
    auto *counts = valueAxis(tr("examples"), 0, top * 1.08, "%.0f");
    chart->addAxis(categories, Qt::AlignLeft);
    chart->addAxis(counts, Qt::AlignBottom);
    series->attachAxis(categories);
    series->attachAxis(counts);
}

void ChartsPage::refreshCurves()
{
    const auto &epochs = m_session->epochs();
    for (QChartView *view : {m_loss, m_accuracy})
        resetChart(view->chart());
    if (epochs.empty()) {
        m_loss->chart()->setTitle(tr("Loss per epoch — no model trained yet"));
        m_accuracy->chart()->setTitle(tr("Accuracy per epoch — no model trained yet"));
        return;
    }
    m_loss->chart()->setTitle(tr("Loss per epoch"));
    m_accuracy->chart()->setTitle(tr("Accuracy per epoch"));

    auto plot = [&](QChart *chart, bool accuracy) {
        auto *trainLine = new QLineSeries;
        auto *testLine = new QLineSeries;
        trainLine->setName(tr("train"));
        testLine->setName(tr("test"));
        trainLine->setPen(QPen(kBlue, 2.5));
        testLine->setPen(QPen(kGreen, 2.5));
        trainLine->setPointsVisible(true);
        testLine->setPointsVisible(true);
        double hi = 0;
        bool haveTest = false;
        for (const EpochRow &e : epochs) {
            const double t = accuracy ? 100.0 * e.trainAccuracy : e.trainLoss;
            trainLine->append(e.epoch, t);
            hi = std::max(hi, t);
            const double v = accuracy ? e.testAccuracy : e.testLoss;
            if (v >= 0) {
                testLine->append(e.epoch, accuracy ? 100.0 * v : v);
                hi = std::max(hi, accuracy ? 100.0 * v : v);
                haveTest = true;
            }
        }
        chart->addSeries(trainLine);
        if (haveTest)
            chart->addSeries(testLine);
        else
            delete testLine;
        auto *x = new QValueAxis;
        x->setTitleText(tr("epoch"));
        x->setRange(epochs.front().epoch - 0.2, epochs.back().epoch + 0.2);
        x->setTickType(QValueAxis::TicksDynamic);
        x->setTickAnchor(epochs.front().epoch);
        x->setTickInterval(std::max(1, int(epochs.size()) / 10));
        x->setLabelFormat("%.0f");
        auto *y = accuracy ? valueAxis(tr("accuracy (%)"), 0, 100, "%.0f") : valueAxis(tr("loss"), 0, hi * 1.1);
        chart->addAxis(x, Qt::AlignBottom);
        chart->addAxis(y, Qt::AlignLeft);
        for (QAbstractSeries *s : chart->series()) {
            s->attachAxis(x);
            s->attachAxis(y);
        }
        chart->legend()->show();
    };
    plot(m_loss->chart(), false);
    plot(m_accuracy->chart(), true);
}

} // namespace traclens
