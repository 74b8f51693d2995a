#include "evaluation/chartimage.h"

#include <QFontMetrics>
#include <QGuiApplication>
#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>

namespace traclens {

namespace {

constexpr int kLeft = 78, kRight = 24, kTop = 44, kBottom = 64;

QString tickText(double v, bool percent)
{
    if (percent)
        return QString::number(std::round(v * 1000.0) / 10.0) + "%";
    return QString::number(v, 'g', 3);
}

// Draws the frame, title and axis labels; returns the plot rectangle.
QRectF drawFrame(QPainter &p, const QSize &size, const QString &title, const QString &xLabel, const QString &yLabel)
{
    p.fillRect(QRect(QPoint(0, 0), size), Qt::white);
    const QRectF plot(kLeft, kTop, size.width() - kLeft - kRight, size.height() - kTop - kBottom);
    QFont font = p.font();
    font.setPixelSize(18);
    font.setBold(true);
    p.setFont(font);
    p.setPen(Qt::black);
    p.drawText(QRectF(0, 6, size.width(), kTop - 10), Qt::AlignCenter, title);
    font.setPixelSize(15);
    font.setBold(false);
    p.setFont(font);
    p.drawText(QRectF(kLeft, size.height() - 28, plot.width(), 24), Qt::AlignCenter, xLabel);
    p.save();
    p.translate(18, kTop + plot.height() / 2);
    p.rotate(-90);
    p.drawText(QRectF(-plot.height() / 2, -12, plot.height(), 24), Qt::AlignCenter, yLabel);
    p.restore();
    font.setPixelSize(13);
    p.setFont(font);
    return plot;
}

// Evenly spaced "nice" ticks (1, 2 or 5 × 10^k) covering [lo, hi].
std::vector<double> niceTicks(double lo, double hi, int target)
{
    std::vector<double> ticks;
    if (!(hi > lo))
        return {lo};
    const double raw = (hi - lo) / std::max(1, target);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (raw <= m * mag) {
            step = m * mag;
            break;
        }
    for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
        ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
    return ticks;
}

void drawLegend(QPainter &p, const QRectF &plot, const std::vector<ChartSeries> &series, bool bottomRight,
                bool boxes)
{
    const QFontMetrics fm(p.font());
    int width = 0;
    for (const auto &s : series)
        width = std::max(width, fm.horizontalAdvance(s.name));
    const int row = fm.height() + 6;
    const QRectF box(bottomRight ? plot.right() - width - 58 : plot.right() - width - 58,
                     bottomRight ? plot.bottom() - row * int(series.size()) - 14 : plot.top() + 10, width + 48,
                     row * int(series.size()) + 8);
    p.setPen(QPen(QColor(180, 180, 180), 1));
    p.setBrush(QColor(255, 255, 255, 230));
    p.drawRect(box);
    for (size_t i = 0; i < series.size(); ++i) {
        const double y = box.top() + 4 + row * double(i) + row / 2.0;
        if (boxes) {
            QColor fill = series[i].color;
            fill.setAlpha(110);
            p.setPen(QPen(series[i].color, 2));
            p.setBrush(fill);
            p.drawRect(QRectF(box.left() + 8, y - 6, 24, 12));
        } else {
            p.setPen(QPen(series[i].color, 3, series[i].style));
            p.drawLine(QPointF(box.left() + 8, y), QPointF(box.left() + 34, y));
        }
        p.setPen(Qt::black);
        p.drawText(QRectF(box.left() + 40, y - row / 2.0, width + 8, row), Qt::AlignVCenter | Qt::AlignLeft,
                   series[i].name);
    }
}

} // namespace

bool canRenderCharts()
{
    return qobject_cast<QGuiApplication *>(QCoreApplication::instance()) != nullptr;
}

QImage renderLineChart(const LineChart &chart)
{
    if (!canRenderCharts())
        return {};
    QImage image(chart.size, QImage::Format_ARGB32_Premultiplied);
    QPainter p(&image);
    p.setRenderHint(QPainter::Antialiasing);
    const QRectF plot = drawFrame(p, chart.size, chart.title, chart.xLabel, chart.yLabel);
    const double xSpan = chart.xMax - chart.xMin, ySpan = chart.yMax - chart.yMin;
    auto toPixel = [&](double x, double y) {
        return QPointF(plot.left() + (x - chart.xMin) / xSpan * plot.width(),
                       plot.bottom() - (y - chart.yMin) / ySpan * plot.height());
    };
    const QFontMetrics fm(p.font());
    for (double t : niceTicks(chart.yMin, chart.yMax, 10)) {
        const QPointF a = toPixel(chart.xMin, t);
        p.setPen(QPen(QColor(225, 225, 225), 1));
        p.drawLine(a, QPointF(plot.right(), a.y()));
        p.setPen(Qt::black);
        p.drawText(QRectF(0, a.y() - 10, kLeft - 8, 20), Qt::AlignRight | Qt::AlignVCenter, tickText(t, chart.yPercent));
    }
    for (double t : niceTicks(chart.xMin, chart.xMax, 10)) {
        const QPointF a = toPixel(t, chart.yMin);
        p.setPen(QPen(QColor(225, 225, 225), 1));
        p.drawLine(a, QPointF(a.x(), plot.top()));
        p.setPen(Qt::black);
        p.drawText(QRectF(a.x() - 40, plot.bottom() + 4, 80, 20), Qt::AlignHCenter | Qt::AlignTop,
                   tickText(t, chart.xPercent));
    }
    for (double m : chart.markers) {
        const QPointF a = toPixel(m, chart.yMin);
        p.setPen(QPen(QColor(150, 150, 150), 1, Qt::DotLine));
        p.drawLine(a, QPointF(a.x(), plot.top()));
    }
    p.setPen(QPen(Qt::black, 1));
    p.setBrush(Qt::NoBrush);
    p.drawRect(plot);
    p.save();
    p.setClipRect(plot.adjusted(-2, -2, 2, 2));
    for (const auto &s : chart.series) {
        if (s.points.empty())
            continue;
        QPainterPath path(toPixel(s.points.front().x(), s.points.front().y()));
        for (size_t i = 1; i < s.points.size(); ++i)
            path.lineTo(toPixel(s.points[i].x(), s.points[i].y()));
        p.setPen(QPen(s.color, 2.5, s.style, Qt::RoundCap, Qt::RoundJoin));
        p.drawPath(path);
    }
    p.restore();
    drawLegend(p, plot, chart.series, true, false);
    p.end();
    return image;
}

QImage renderHistogram(const HistogramChart &chart)
{
    if (!canRenderCharts() || chart.edges.size() < 2)
        return {};
    QImage image(chart.size, QImage::Format_ARGB32_Premultiplied);
    QPainter p(&image);
    p.setRenderHint(QPainter::Antialiasing);
    const QRectF plot = drawFrame(p, chart.size, chart.title, chart.xLabel, chart.yLabel);
    auto xOf = [&](double v) { return chart.logX ? std::log10(std::max(v, 1e-300)) : v; };
    const double x0 = xOf(chart.edges.front()), x1 = xOf(chart.edges.back());
    double yMax = 1.0;
    for (const auto &s : chart.series)
        for (double v : s.values)
            yMax = std::max(yMax, v);
    // Headroom above the tallest bar for the legend, which is drawn in the top corner.
    const double headroom = chart.series.size() > 1 ? 1.3 : 1.05;
    const std::vector<double> yTicks = niceTicks(0.0, yMax * headroom, 6);
    yMax = std::max(yMax * headroom, yTicks.back());
    auto toPixel = [&](double x, double y) {
        return QPointF(plot.left() + (xOf(x) - x0) / (x1 - x0) * plot.width(), plot.bottom() - y / yMax * plot.height());
    };
    for (double t : yTicks) {
        const double y = plot.bottom() - t / yMax * plot.height();
        p.setPen(QPen(QColor(225, 225, 225), 1));
        p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y));
        p.setPen(Qt::black);
        p.drawText(QRectF(0, y - 10, kLeft - 8, 20), Qt::AlignRight | Qt::AlignVCenter, QString::number(t, 'g', 6));
    }
    std::vector<double> xTicks;
    if (chart.logX) {
        xTicks = logAxisTicks(chart.edges.front(), chart.edges.back());
    } else {
        xTicks = niceTicks(x0, x1, 8);
    }
    for (double t : xTicks) {
        const double x = toPixel(t, 0).x();
        p.setPen(QPen(QColor(225, 225, 225), 1));
        p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()));
        p.setPen(Qt::black);
        const QString text = QString::number(t, 'g', 3);
        p.drawText(QRectF(x - 40, plot.bottom() + 4, 80, 20), Qt::AlignHCenter | Qt::AlignTop, text);
    }
    for (const auto &s : chart.series) {
        QColor fill = s.color;
        fill.setAlpha(110);
        p.setPen(QPen(s.color, 1));
        p.setBrush(fill);
        for (size_t i = 0; i + 1 < chart.edges.size() && i < s.values.size(); ++i) {
            if (s.values[i] <= 0)
                continue;
            p.drawRect(QRectF(toPixel(chart.edges[i], s.values[i]), toPixel(chart.edges[i + 1], 0.0)));
        }
    }
    p.setPen(QPen(Qt::black, 1));
    p.setBrush(Qt::NoBrush);
    p.drawRect(plot);
    drawLegend(p, plot, chart.series, false, true);
    p.end();
    return image;
}

std::vector<double> logAxisTicks(double lo, double hi)
{
    std::vector<double> ticks;
    if (!(lo > 0.0) || !(hi > lo) || !std::isfinite(hi))
        return ticks;
    const double x0 = std::log10(lo), x1 = std::log10(hi);
    for (double e = std::ceil(x0 - 1e-9); e <= x1 + 1e-9; e += 1.0)
        ticks.push_back(std::pow(10.0, e));
    // Less than two decades wide: 1, 2 and 5 times the powers of ten as well.
    if (ticks.size() < 3) {
        ticks.clear();
        for (double e = std::floor(x0); e <= x1; e += 1.0)
            for (double m : {1.0, 2.0, 5.0}) {
                const double t = m * std::pow(10.0, e);
                if (std::log10(t) >= x0 - 1e-9 && std::log10(t) <= x1 + 1e-9)
                    ticks.push_back(t);
            }
    }
    // Narrower still (say 3 to 4.5): evenly spaced nice values, at least three.
    for (int target = 4; ticks.size() < 3 && target <= 16; target *= 2) {
        ticks.clear();
        for (double t : niceTicks(lo, hi, target))
            if (t >= lo * (1 - 1e-12) && t <= hi * (1 + 1e-12))
                ticks.push_back(t);
    }
    return ticks;
}

std::vector<double> logBinEdges(const std::vector<double> &values, int bins)
{
    double lo = INFINITY, hi = 0.0;
    for (double v : values) {
        if (v > 0.0 && std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    }
    if (!(hi > 0.0) || bins < 1)
        return {};
    if (!(hi > lo))
        hi = lo * 10.0;
    const double a = std::log10(lo), b = std::log10(hi);
    std::vector<double> edges;
    for (int i = 0; i <= bins; ++i)
        edges.push_back(std::pow(10.0, a + (b - a) * i / bins));
    return edges;
}

std::vector<double> binCounts(const std::vector<double> &values, const std::vector<double> &edges)
{
    if (edges.size() < 2)
        return {};
    std::vector<double> counts(edges.size() - 1, 0.0);
    for (double v : values) {
        if (!std::isfinite(v))
            continue;
        auto it = std::upper_bound(edges.begin(), edges.end(), v);
        auto bin = std::clamp<ptrdiff_t>(it - edges.begin() - 1, 0, ptrdiff_t(counts.size()) - 1);
        counts[size_t(bin)] += 1.0;
    }
    return counts;
}

QColor chartColor(int index)
{
    // Grey is left out: charts draw their baseline (a random ranking) in it.
    static const QColor colors[] = {QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44),
                                    QColor(188, 189, 34), QColor(148, 103, 189), QColor(214, 39, 40),
                                    QColor(140, 86, 75), QColor(227, 119, 194), QColor(23, 190, 207)};
    static_assert(sizeof colors / sizeof colors[0] == kChartColors);
    return colors[size_t(index) % size_t(kChartColors)];
}

} // namespace traclens
