#pragma once
// Plain line charts and histograms drawn into a QImage with QPainter, for the
// evaluation's PNG files and the report view. No widgets and no display are needed,
// but Qt draws text only once a QGuiApplication exists (the "offscreen" platform is
// enough): without one, the render functions return a null image.
//
// Thread safety: the render functions may run on any thread (QImage painting is
// thread-safe); each call paints its own image.

#include <QColor>
#include <QImage>
#include <QPointF>
#include <QSize>
#include <QString>

#include <vector>

namespace traclens {

struct ChartSeries {
    QString name;
    std::vector<QPointF> points;  // line charts: (x, y) in data units
    std::vector<double> values;   // histograms: one count per bin
    QColor color;
    Qt::PenStyle style = Qt::SolidLine;
};

struct LineChart {
    QString title, xLabel, yLabel;
    std::vector<ChartSeries> series;
    double xMin = 0.0, xMax = 1.0, yMin = 0.0, yMax = 1.0;
    bool xPercent = true, yPercent = true; // tick labels as "20%"
    std::vector<double> markers;           // vertical guide lines at these x values
    QSize size{960, 640};
};

struct HistogramChart {
    QString title, xLabel, yLabel;
    std::vector<double> edges;             // bins+1 ascending bin edges
    std::vector<ChartSeries> series;       // drawn over each other as translucent bars
    bool logX = false;                     // edges are positive and ticks are powers of ten
    QSize size{960, 480};
};

// True when text can be drawn (a QGuiApplication exists).
bool canRenderCharts();

QImage renderLineChart(const LineChart &chart);
QImage renderHistogram(const HistogramChart &chart);

// `bins` edges spaced evenly in log10 between the smallest positive and the largest value
// (bins+1 edges). Empty when no value is positive.
// Tick values for a log axis over [lo, hi] (lo > 0): powers of ten, else 1-2-5 times them,
// else evenly spaced nice values; at least 3 for any range wider than rounding. Empty when
// the range is not positive.
std::vector<double> logAxisTicks(double lo, double hi);

std::vector<double> logBinEdges(const std::vector<double> &values, int bins);
// Counts of values per bin [edges[i], edges[i+1]); the last bin includes its upper edge;
// values outside are clamped into the first or last bin.
std::vector<double> binCounts(const std::vector<double> &values, const std::vector<double> &edges);

// A palette that stays readable in print: blue, orange, green, olive, purple, red, brown, pink,
// cyan, then again from blue. kChartColors colours; no grey (charts keep it for baselines).
constexpr int kChartColors = 9;
QColor chartColor(int index);

} // namespace traclens
