// Process-wide settings made by ModelRunner::setThreads: LibTorch's pool size, a
// single-threaded OpenBLAS beside it, and batch buffers kept in the heap.

// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include <ATen/Parallel.h>

#include "model/modelrunner.h"

#include <QTest>

#include <malloc.h>

#include <cstdlib>
#include <thread>

extern "C" __attribute__((weak)) int openblas_get_num_threads(void);
extern "C" __attribute__((weak)) void openblas_set_num_threads(int);

using namespace traclens;

class TestThreadPolicy : public QObject
{
    Q_OBJECT

private slots:
    void poolSizes_data();
    void poolSizes();
    void userBlasThreadsKept();
    void batchBuffersStayInHeap();
};

void TestThreadPolicy::poolSizes_data()
{
    QTest::addColumn<int>("requested");
    QTest::addColumn<int>("expected");
    const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    QTest::newRow("one") << 1 << 1;
    QTest::newRow("two") << 2 << 2;
    QTest::newRow("all cores") << 0 << cores;
}

void TestThreadPolicy::poolSizes()
{
    QFETCH(int, requested);
    QFETCH(int, expected);
    qunsetenv("OPENBLAS_NUM_THREADS");
    if (openblas_set_num_threads)
        openblas_set_num_threads(2);
    ModelRunner::setThreads(requested);
    QCOMPARE(int(at::get_num_threads()), expected);
    if (!openblas_get_num_threads)
        QSKIP("the BLAS in use is not OpenBLAS");
    // LibTorch's pool already runs BLAS calls in parallel; OpenBLAS stays at one thread.
    QCOMPARE(openblas_get_num_threads(), 1);
}

void TestThreadPolicy::userBlasThreadsKept()
{
    if (!openblas_get_num_threads || !openblas_set_num_threads)
        QSKIP("the BLAS in use is not OpenBLAS");
    qputenv("OPENBLAS_NUM_THREADS", "2");
    openblas_set_num_threads(2);
    ModelRunner::setThreads(2);
    QCOMPARE(openblas_get_num_threads(), 2);
    qunsetenv("OPENBLAS_NUM_THREADS");
}

void TestThreadPolicy::batchBuffersStayInHeap()
{
    ModelRunner::setThreads(1);
    // 20 MB is above glibc's default mmap threshold (128 KiB, growing to at most 32 MiB
    // only after such blocks are freed); with the raised threshold it comes from the heap.
    const size_t mappedBefore = mallinfo2().hblkhd;
    void *block = std::malloc(20u << 20);
    QVERIFY(block);
    const size_t mappedDuring = mallinfo2().hblkhd;
    std::free(block);
    QCOMPARE(mappedDuring, mappedBefore);
}

QTEST_GUILESS_MAIN(TestThreadPolicy)
#include "test_threadpolicy.moc"
