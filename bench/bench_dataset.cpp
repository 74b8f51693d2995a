// Dataset reading speed on an IDX data set (Fashion-MNIST by default): the scan an import
// starts with, and loading every training image once through ImageStore, as a grid
// scrolled from top to bottom does (item() must be O(1) per image). The unit test
// tests/data/test_fashionmnist checks the same calls for correctness; the figures are here.
// Usage: bench_dataset [dataset-dir] [--max-scan-ms N] [--max-load-ms N]
// With a --max-* limit the exit code is 1 when the figure is above it (for a CI job that
// watches for slowdowns on known hardware).

#include "data/dataset.h"
#include "data/imagedecoder.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace traclens;
using Clock = std::chrono::steady_clock;

namespace {
double ms(Clock::time_point a, Clock::time_point b)
{
    return std::chrono::duration<double, std::milli>(b - a).count();
}
} // namespace

int main(int argc, char **argv)
{
    std::string dir = "/usr/share/datasets/fashion-mnist";
    double maxScanMs = 0, maxLoadMs = 0;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--max-scan-ms") && i + 1 < argc)
            maxScanMs = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--max-load-ms") && i + 1 < argc)
            maxLoadMs = std::atof(argv[++i]);
        else
            dir = argv[i];
    }

    const auto t0 = Clock::now();
    Result<ScanResult> scan = scanDataset(dir);
    const auto t1 = Clock::now();
    if (!scan.ok()) {
        std::fprintf(stderr, "bench_dataset: %s\n", scan.status().message().c_str());
        return 1;
    }
    const double scanMs = ms(t0, t1);
    std::printf("scan: %zu examples in %.0f ms\n", scan->examples.size(), scanMs);

    ImageStore store(scan->kind, scan->root);
    size_t loaded = 0;
    const auto t2 = Clock::now();
    for (const ScannedExample &e : scan->examples) {
        if (e.split != Split::Train)
            continue;
        Result<cv::Mat> image = store.load(e.source);
        if (!image.ok()) {
            std::fprintf(stderr, "bench_dataset: %s\n", image.status().message().c_str());
            return 1;
        }
        ++loaded;
    }
    const double loadMs = ms(t2, Clock::now());
    std::printf("load: %zu training images in %.0f ms (%.2f µs each)\n", loaded, loadMs,
                loaded ? 1000.0 * loadMs / double(loaded) : 0.0);

    int rc = 0;
    if (maxScanMs > 0 && scanMs > maxScanMs) {
        std::printf("scan above the limit of %.0f ms\n", maxScanMs);
        rc = 1;
    }
    if (maxLoadMs > 0 && loadMs > maxLoadMs) {
        std::printf("load above the limit of %.0f ms\n", maxLoadMs);
        rc = 1;
    }
    return rc;
}
