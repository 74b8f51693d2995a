// GUI benchmark: the desktop app's main window on a real project, driven like a person
// would, with the figures the influence view and the background worker must meet.
//
//   1. click → four grids: on a project with computed factors, click a tile of the
//      influence view (it becomes the query) and time until the four grids (TracIn
//      proponents / opponents, embedding nearest / farthest) hold the new answer and
//      have been painted — the paint finished and the window flushed (placeholders for
//      tiles whose images are still decoding). Also the time until every visible tile's
//      image is painted. Clicks walk through all four grids.
//   2. event-loop stall while the worker computes: with a project whose active model has
//      no factors yet, the app computes them on its worker thread (as after training); a
//      2 ms GUI-thread timer records the gaps between its ticks while a simulated person
//      scrolls the dataset browser. Reports the longest gap, the 99th percentile, and
//      the worker's rate.
//
// Usage: bench_gui <project with factors> [--clicks N] [--compute <project without
//        factors>] [--compute-seconds S]
// Run with a display (Xvfb) or QT_QPA_PLATFORM=offscreen; bench/run-gui-bench.sh sets
// up both projects from Fashion-MNIST.

#include "influencepage.h"
#include "jobcontroller.h"
#include "datasetbrowserpage.h"
#include "mainwindow.h"
#include "neighbourlistmodel.h"
#include "projectsession.h"
#include "thumbnailcache.h"
#include "tileview.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QScrollBar>
#include <QTest>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <time.h>
#include <vector>

using namespace traclens;

namespace {

struct Stats {
    double median = 0, p95 = 0, max = 0, mean = 0;
};

Stats stats(std::vector<double> v)
{
    Stats s;
    if (v.empty())
        return s;
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5))]; };
    s.median = at(0.5);
    s.p95 = at(0.95);
    s.max = v.back();
    for (double x : v)
        s.mean += x / double(v.size());
    return s;
}

double residentMiB()
{
    FILE *f = std::fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    double kb = 0;
    while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, "VmRSS:", 6) == 0)
            kb = std::atof(line + 6);
    std::fclose(f);
    return kb / 1024.0;
}

// CPU time of the calling thread, ms: tells a stall the GUI thread spent working from
// one where it was not scheduled (other processes on the cores).
double threadCpuMs()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

double loadAverage()
{
    double l = 0;
    if (FILE *f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf", &l) != 1)
            l = 0;
        std::fclose(f);
    }
    return l;
}

// Runs the event loop until `done()` holds or `timeoutMs` passes; false on timeout.
bool waitFor(const std::function<bool()> &done, int timeoutMs)
{
    QElapsedTimer t;
    t.start();
    while (!done()) {
        if (t.elapsed() > timeoutMs)
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 5);
    }
    return true;
}

// Records when each watched viewport has been painted after arm(); `painted()` turns
// true once every one has, and only when control is back in the event loop — i.e.
// after the paint events and the window's flush are finished.
class PaintWatch : public QObject {
public:
    explicit PaintWatch(std::vector<QWidget *> widgets) : m_widgets(std::move(widgets))
    {
        for (QWidget *w : m_widgets)
            w->installEventFilter(this);
        m_seen.assign(m_widgets.size(), false);
    }
    // Waits for the widgets marked in `which` (all when empty).
    void arm(const std::vector<bool> &which = {})
    {
        for (size_t i = 0; i < m_seen.size(); ++i)
            m_seen[i] = !which.empty() && !which[i];
        m_done = false;
        m_armed = true;
    }
    void disarm() { m_armed = false; }
    bool painted() const { return m_done; }

protected:
    bool eventFilter(QObject *o, QEvent *e) override
    {
        if (m_armed && e->type() == QEvent::Paint) {
            for (size_t i = 0; i < m_widgets.size(); ++i)
                if (m_widgets[i] == o)
                    m_seen[i] = true;
            if (std::all_of(m_seen.begin(), m_seen.end(), [](bool b) { return b; })) {
                m_armed = false;
                // Queued: runs after this paint (and the rest of the window's) is done.
                QTimer::singleShot(0, this, [this] { m_done = true; });
            }
        }
        return false;
    }

private:
    std::vector<QWidget *> m_widgets;
    std::vector<bool> m_seen;
    bool m_armed = false;
    bool m_done = false;
};

bool allImagesCached(InfluencePage *page, ThumbnailCache *cache)
{
    for (int g = 0; g < InfluencePage::GridCount; ++g) {
        const NeighbourListModel *m = page->gridModel(InfluencePage::Grid(g));
        TileView *view = page->gridView(InfluencePage::Grid(g));
        for (int r = 0; r < m->rowCount(); ++r) {
            const QRect rect = view->visualRect(m->index(r));
            if (!rect.intersects(view->viewport()->rect()))
                continue;
            const qint64 id = m->exampleIds()[r];
            if (cache->cached(id).isNull() && !cache->failed(id))
                return false;
        }
    }
    return true;
}

int clickBenchmark(MainWindow &window, const QString &project, int clicks)
{
    QElapsedTimer open;
    open.start();
    bool ready = false;
    QObject::connect(&window, &MainWindow::engineReady, [&] { ready = true; });
    if (!window.openProject(project)) {
        std::fprintf(stderr, "bench_gui: cannot open %s\n", qPrintable(project));
        return 1;
    }
    if (!waitFor([&] { return ready; }, 600000)) {
        std::fprintf(stderr, "bench_gui: %s: the influence engine did not load within 10 minutes (are the factors "
                             "computed?)\n",
                     qPrintable(project));
        return 1;
    }
    const double openSeconds = open.elapsed() / 1000.0;
    window.showPage(MainWindow::InfluenceView);
    InfluencePage *page = window.influencePage();
    ProjectSession *session = window.session();
    ThumbnailCache *cache = session ? session->thumbnails() : nullptr;
    if (!page || !cache) {
        std::fprintf(stderr, "bench_gui: the window has no influence page\n");
        return 1;
    }
    qint64 shownId = -1;
    std::function<void()> onShown;
    QObject::connect(page, &InfluencePage::queryShown, [&](qint64 id) {
        shownId = id;
        if (onShown)
            onShown();
    });
    waitFor([&] { return page->gridModel(InfluencePage::Proponents)->rowCount() > 0; }, 60000);
    waitFor([&] { return cache->pendingCount() == 0; }, 20000);

    std::vector<QWidget *> viewports;
    for (int g = 0; g < InfluencePage::GridCount; ++g)
        viewports.push_back(page->gridView(InfluencePage::Grid(g))->viewport());
    PaintWatch watch(viewports);
    // Which grids' models changed since the click: a grid whose answer is the same as
    // before (e.g. the farthest examples of two queries of one class) needs no paint.
    std::vector<bool> changed(InfluencePage::GridCount, false);
    for (int g = 0; g < InfluencePage::GridCount; ++g) {
        NeighbourListModel *m = page->gridModel(InfluencePage::Grid(g));
        auto mark = [&changed, g] { changed[size_t(g)] = true; };
        QObject::connect(m, &QAbstractItemModel::modelReset, mark);
        QObject::connect(m, &QAbstractItemModel::dataChanged, mark);
        QObject::connect(m, &QAbstractItemModel::layoutChanged, mark);
        QObject::connect(m, &QAbstractItemModel::rowsInserted, mark);
        QObject::connect(m, &QAbstractItemModel::rowsRemoved, mark);
    }

    const auto engine = session->engine();
    std::printf("project: %s\n  %zu training examples, %d checkpoints, k = %d per grid, window %dx%d, %s\n"
                "  opened and engine loaded in %.1f s\n",
                qPrintable(project), engine ? engine->trainIds().size() : size_t(0),
                engine ? engine->numCheckpoints() : 0, page->neighbourCount(), window.width(), window.height(),
                qPrintable(QGuiApplication::platformName()), openSeconds);

    std::vector<double> toGrids, toImages, toAnswer;
    int timeouts = 0;
    int perGridTimeouts[InfluencePage::GridCount] = {};
    for (int i = 0; i < clicks; ++i) {
        const auto grid = InfluencePage::Grid(i % InfluencePage::GridCount);
        TileView *view = page->gridView(grid);
        const NeighbourListModel *model = page->gridModel(grid);
        // A visible tile whose example is not the current query, varied between clicks.
        int row = -1;
        for (int j = 0; j < model->rowCount() && row < 0; ++j) {
            const int r = (i / InfluencePage::GridCount + j) % model->rowCount();
            const QRect rect = view->visualRect(model->index(r));
            if (view->viewport()->rect().contains(rect.center()) && model->exampleIds()[r] != page->queryId())
                row = r;
        }
        if (row < 0)
            continue;
        const qint64 target = model->exampleIds()[row];
        const QPoint at = view->visualRect(model->index(row)).center();
        shownId = -1;
        // A person's clicks are further apart than a double click; closer ones would be one.
        QTest::qWait(QApplication::doubleClickInterval() + 50);
        QElapsedTimer t;
        watch.disarm();
        std::fill(changed.begin(), changed.end(), false);
        // Armed inside queryShown — the models were just updated and their paint is
        // still to come; arming later could miss a paint that already happened.
        onShown = [&] {
            if (shownId == target)
                watch.arm(changed);
        };
        t.start();
        QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, at);
        if (!waitFor([&] { return shownId == target; }, 10000)) {
            ++timeouts;
            ++perGridTimeouts[grid];
            continue;
        }
        toAnswer.push_back(t.nsecsElapsed() / 1e6);
        onShown = nullptr;
        if (!waitFor([&] { return watch.painted(); }, 10000)) {
            ++timeouts;
            continue;
        }
        toGrids.push_back(t.nsecsElapsed() / 1e6);
        waitFor([&] { return allImagesCached(page, cache); }, 10000);
        watch.arm();
        for (QWidget *w : viewports)
            w->update();
        waitFor([&] { return watch.painted(); }, 10000);
        toImages.push_back(t.nsecsElapsed() / 1e6);
    }
    const Stats a = stats(toAnswer), g = stats(toGrids), im = stats(toImages);
    std::printf("\nclick -> four grids (%zu clicks, %d timed out [%d/%d/%d/%d by grid]; load average %.1f)\n",
                toGrids.size(), timeouts, perGridTimeouts[0], perGridTimeouts[1], perGridTimeouts[2],
                perGridTimeouts[3], loadAverage());
    std::printf("  answer in the models  median %6.1f ms   p95 %6.1f ms   max %6.1f ms\n", a.median, a.p95, a.max);
    std::printf("  four grids painted    median %6.1f ms   p95 %6.1f ms   max %6.1f ms   (target <= 100 ms)\n",
                g.median, g.p95, g.max);
    std::printf("  with every image     median %6.1f ms   p95 %6.1f ms   max %6.1f ms\n", im.median, im.p95, im.max);
    std::printf("  resident memory %.0f MiB\n", residentMiB());
    return 0;
}

int stallBenchmark(MainWindow &window, const QString &project, double maxSeconds)
{
    JobController *jobs = window.findChild<JobController *>();
    if (!jobs) {
        std::fprintf(stderr, "bench_gui: the window has no job controller\n");
        return 1;
    }
    bool computing = false, finished = false;
    qint64 done = 0, total = 0;
    QElapsedTimer computeTime;
    QObject::connect(jobs, &JobController::started, [&](qint64, JobKind) {});
    double finishedAt = -1;
    QObject::connect(jobs, &JobController::progress, [&](qint64, const QString &stage, const QString &detail,
                                                         qint64 d, qint64 t) {
        if (stage != QLatin1String("compute") || detail != QLatin1String("TracIn factors"))
            return;
        if (!computing) {
            computing = true;
            computeTime.start();
        }
        {
            done = d;
            total = t;
        }
    });
    QObject::connect(jobs, &JobController::busyChanged, [&](bool busy) {
        if (!busy && computing) {
            finished = true;
            finishedAt = computeTime.elapsed() / 1000.0;
        }
    });
    if (!window.openProject(project)) {
        std::fprintf(stderr, "bench_gui: cannot open %s\n", qPrintable(project));
        return 1;
    }
    window.showPage(MainWindow::BrowsePage);
    if (!waitFor([&] { return computing || finished; }, 120000)) {
        std::fprintf(stderr, "bench_gui: %s: no factor computation started (does the active model lack factors?)\n",
                     qPrintable(project));
        return 1;
    }

    // Ticks of a precise 2 ms timer on the GUI thread: a gap longer than that is time the
    // event loop could not run (painting, a slot, a blocking call).
    std::vector<double> gaps, busy, when; // wall gap, the GUI thread's CPU time within it, and when it ended (s)
    QElapsedTimer since;
    since.start();
    double cpuBefore = threadCpuMs();
    QTimer tick;
    tick.setTimerType(Qt::PreciseTimer);
    tick.setInterval(2);
    QObject::connect(&tick, &QTimer::timeout, [&] {
        gaps.push_back(since.nsecsElapsed() / 1e6);
        since.restart();
        const double cpu = threadCpuMs();
        busy.push_back(cpu - cpuBefore);
        when.push_back(computeTime.elapsed() / 1000.0);
        cpuBefore = cpu;
    });
    // A person scrolling through the dataset meanwhile: thumbnails decode and paint.
    TileView *grid = window.browserPage()->view();
    QTimer scroll;
    scroll.setInterval(120);
    int direction = 1;
    QObject::connect(&scroll, &QTimer::timeout, [&] {
        QScrollBar *bar = grid->verticalScrollBar();
        if (bar->value() >= bar->maximum())
            direction = -1;
        else if (bar->value() <= bar->minimum())
            direction = 1;
        bar->setValue(bar->value() + direction * bar->pageStep() / 2);
    });
    tick.start();
    scroll.start();
    QElapsedTimer wall;
    wall.start();
    const qint64 doneAtStart = 0; // counted from the first progress of this computation
    waitFor([&] { return finished || wall.elapsed() > qint64(maxSeconds * 1000); }, int(maxSeconds * 1000) + 60000);
    tick.stop();
    scroll.stop();
    const double seconds = wall.elapsed() / 1000.0;
    const qint64 computed = done - doneAtStart;
    const bool complete = finished;
    if (!complete)
        jobs->cancelAll();

    const Stats s = stats(gaps);
    std::vector<double> sorted = gaps;
    std::sort(sorted.begin(), sorted.end());
    const double p99 = sorted.empty() ? 0 : sorted[size_t(0.99 * double(sorted.size() - 1))];
    const auto over = std::count_if(gaps.begin(), gaps.end(), [](double g) { return g > 50.0; });
    const Stats b = stats(busy);
    size_t longest = 0;
    for (size_t i = 0; i < gaps.size(); ++i)
        if (gaps[i] > gaps[longest])
            longest = i;
    std::printf("\nevent loop while the worker computes factors (%.1f s measured%s; load average %.1f)\n", seconds,
                complete ? ", whole computation" : ", then cancelled", loadAverage());
    std::printf("  worker: %lld of %lld factor vectors (example x checkpoint) in that time, %.0f vectors/s\n",
                (long long)computed,
                (long long)total, seconds > 0 ? double(computed) / seconds : 0.0);
    std::printf("  2 ms timer: %zu ticks, median gap %.1f ms, p99 %.1f ms, longest %.1f ms (target <= 50 ms), "
                "%lld gaps over 50 ms\n",
                gaps.size(), s.median, p99, s.max, (long long)over);
    std::printf("  GUI thread's own work between two ticks: longest %.1f ms, p99 %.1f ms; during the longest gap it "
                "worked %.1f ms (the rest it waited for a core)\n",
                b.max, [&] {
                    std::vector<double> v = busy;
                    std::sort(v.begin(), v.end());
                    return v.empty() ? 0.0 : v[size_t(0.99 * double(v.size() - 1))];
                }(),
                gaps.empty() ? 0.0 : busy[longest]);
    // Where the long gaps were: during the computation, or in the hand-over after it (the
    // engine arrives, the views take the new model).
    for (size_t i = 0; i < gaps.size(); ++i)
        if (gaps[i] > 30.0)
            std::printf("  gap %.1f ms (GUI thread working %.1f ms) at %.2f s%s\n", gaps[i], busy[i], when[i],
                        finishedAt >= 0 && when[i] >= finishedAt - 1.0 ? " — after the computation, as the new "
                                                                         "model's engine is taken over"
                                                                       : "");
    waitFor([&] { return !jobs->isBusy(); }, 120000);
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QCoreApplication::setOrganizationName("TracLens");
    // Its own settings, so a benchmark never changes a person's window state or k.
    QCoreApplication::setApplicationName("TracLens-bench");
    QString project, computeProject;
    int clicks = 60;
    double computeSeconds = 60;
    const QStringList args = app.arguments();
    for (int i = 1; i < args.size(); ++i) {
        if (args[i] == "--clicks" && i + 1 < args.size())
            clicks = args[++i].toInt();
        else if (args[i] == "--compute" && i + 1 < args.size())
            computeProject = args[++i];
        else if (args[i] == "--compute-seconds" && i + 1 < args.size())
            computeSeconds = args[++i].toDouble();
        else if (project.isEmpty() && !args[i].startsWith("--"))
            project = args[i];
        else {
            std::fprintf(stderr, "usage: bench_gui <project> [--clicks N] [--compute <project>] "
                                 "[--compute-seconds S]\n");
            return 2;
        }
    }
    if (project.isEmpty() && computeProject.isEmpty()) {
        std::fprintf(stderr, "usage: bench_gui <project> [--clicks N] [--compute <project>] [--compute-seconds S]\n");
        return 2;
    }
    MainWindow window;
    window.resize(1480, 920);
    window.show();
    if (!QTest::qWaitForWindowExposed(&window)) {
        std::fprintf(stderr, "bench_gui: the window was not shown\n");
        return 1;
    }
    int rc = 0;
    if (!project.isEmpty())
        rc = clickBenchmark(window, project, clicks);
    if (rc == 0 && !computeProject.isEmpty())
        rc = stallBenchmark(window, computeProject, computeSeconds);
    std::fflush(stdout);
    return rc;
}
