// Engine benchmark on a trained project (e.g. the Fashion-MNIST demo):
//   1. bare inference rate of the model's checkpoints (ModelRunner on decoded inputs);
//   2. factor computation rate (computeFactors on a copy of the project with its
//      factors cleared: decoding, inference, factors, SQLite writes), and its ratio to 1;
//   3. exact query latency over the whole training split × all checkpoints;
//   4. peak resident memory.
// Usage: bench_engine <project> [--queries N] [--threads N] [--skip-compute]

#include "influence/computejob.h"
#include "influence/influenceindex.h"
#include "model/modelrunner.h"
#include "store/projectdb.h"

#include <sqlite3.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

using namespace traclens;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point a, Clock::time_point b)
{
    return std::chrono::duration<double>(b - a).count();
}

double peakRssMiB()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_maxrss) / 1024.0;
}

int die(const Status &s)
{
    std::fprintf(stderr, "bench_engine: %s\n", s.message().c_str());
    return 1;
}

double percentile(std::vector<double> v, double p)
{
    std::sort(v.begin(), v.end());
    return v[size_t(std::min(double(v.size() - 1), p * double(v.size() - 1) + 0.5))];
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_engine <project> [--queries N] [--threads N] [--skip-compute]\n");
        return 2;
    }
    const std::string project = argv[1];
    int queries = 200, threads = 0;
    bool skipCompute = false;
    for (int i = 2; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--queries") && i + 1 < argc)
            queries = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--skip-compute"))
            skipCompute = true;
    }
    ModelRunner::setThreads(threads);
    auto db = ProjectDb::open(project);
    if (!db.ok())
        return die(db.status());
    auto active = (*db)->activeModel();
    if (!active.ok() || !active->has_value())
        return die(Status::notFound(project + ": no model"));
    const int64_t modelId = **active;
    auto model = (*db)->model(modelId);
    auto spec = readModelSpec(model->directory);
    if (!spec.ok())
        return die(spec.status());
    auto examples = (*db)->examples();
    auto info = (*db)->dataset();
    const int64_t n = int64_t(examples->size());
    std::printf("project: %s\nexamples: %lld (train %lld), checkpoints: %zu, classes: %zu\n", project.c_str(),
                (long long)n, (long long)*(*db)->exampleCount(Split::Train), spec->checkpoints.size(),
                spec->classes.size());

    // 1. Bare inference: decoded, normalised inputs in memory, batches of 256, every checkpoint.
    double inferenceRate = 0;
    {
        ImageStore store((*info)->kind, (*info)->root);
        const size_t per = spec->input.floatsPerImage();
        const int64_t sample = std::min<int64_t>(n, 20000);
        std::vector<float> pixels(size_t(sample) * per);
        for (int64_t i = 0; i < sample; ++i) {
            auto img = store.load((*examples)[size_t(i)].source);
            if (!img.ok())
                return die(img.status());
            toModelInput(*img, spec->input, pixels.data() + size_t(i) * per);
        }
        BatchOutput out;
        double total = 0;
        int64_t images = 0;
        for (size_t c = 0; c < spec->checkpoints.size(); ++c) {
            auto runner = ModelRunner::load(*spec, c);
            if (!runner.ok())
                return die(runner.status());
            (*runner)->run(pixels.data(), 256, &out); // warm-up
            const auto t0 = Clock::now();
            for (int64_t b = 0; b < sample; b += 256) {
                const int m = int(std::min<int64_t>(256, sample - b));
                Status s = (*runner)->run(pixels.data() + size_t(b) * per, m, &out);
                if (!s.isOk())
                    return die(s);
            }
            total += seconds(t0, Clock::now());
            images += sample;
        }
        inferenceRate = double(images) / total;
        std::printf("bare inference:      %10.0f images/s (%lld images × checkpoints, batch 256)\n", inferenceRate,
                    (long long)images);
    }

    // 2. Factor computation on a copy with the factors cleared.
    if (!skipCompute) {
        const std::string copy = project + ".bench-copy";
        db = Status::internal("closed"); // fold the WAL so the copy is complete
        std::error_code ec;
        std::filesystem::remove(copy, ec);
        std::filesystem::copy_file(project, copy, ec);
        if (ec)
            return die(Status::ioError(copy + ": " + ec.message()));
        sqlite3 *raw = nullptr;
        sqlite3_open(copy.c_str(), &raw);
        sqlite3_exec(raw, "DELETE FROM factors; DELETE FROM self_influence; VACUUM;", nullptr, nullptr, nullptr);
        sqlite3_close(raw);
        auto cdb = ProjectDb::open(copy);
        if (!cdb.ok())
            return die(cdb.status());
        ComputeOptions opt;
        opt.threads = threads;
        auto s = computeFactors(**cdb, modelId, opt);
        if (!s.ok())
            return die(s.status());
        std::printf("compute factors:     %10.0f vectors/s (%lld vectors in %.1f s, incl. decoding and SQLite)\n",
                    s->vectorsPerSecond, (long long)s->computed, s->seconds);
        std::printf("compute / inference: %10.1f %%   (target >= 90 %%)\n", 100.0 * s->vectorsPerSecond / inferenceRate);
        cdb = Status::internal("closed");
        std::filesystem::remove(copy, ec);
        std::filesystem::remove(copy + "-wal", ec);
        std::filesystem::remove(copy + "-shm", ec);
        db = ProjectDb::open(project);
        if (!db.ok())
            return die(db.status());
    }

    // 3. Exact queries.
    const auto l0 = Clock::now();
    auto engine = InfluenceIndex::open(**db, modelId, IndexOptions::serving());
    if (!engine.ok())
        return die(engine.status());
    std::printf("engine load:         %10.2f s\n", seconds(l0, Clock::now()));
    auto tests = (*db)->examples(Split::Test);
    std::mt19937 rng(3);
    for (Scoring scoring : {Scoring::Raw, Scoring::Normalised}) {
        std::vector<double> ms;
        for (int i = 0; i < queries; ++i) {
            const int64_t id = (*tests)[rng() % tests->size()].id;
            const auto t0 = Clock::now();
            auto r = (*engine)->query(id, 10, scoring);
            ms.push_back(1000.0 * seconds(t0, Clock::now()));
            if (!r.ok())
                return die(r.status());
        }
        std::printf("query (%s, k=10, %zu train × %d checkpoints, + embedding): median %.2f ms, p95 %.2f ms "
                    "(target <= 10 ms)\n",
                    scoring == Scoring::Raw ? "raw" : "normalised", (*engine)->trainIds().size(),
                    (*engine)->numCheckpoints(), percentile(ms, 0.5), percentile(ms, 0.95));
    }
    std::printf("peak memory (RSS):   %10.0f MiB\n", peakRssMiB());
    return 0;
}
