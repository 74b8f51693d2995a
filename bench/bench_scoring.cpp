// Which TracIn scoring explains a prediction better: raw or normalised?
//
// For N test examples (evenly spread over the test split) the influence view's query is
// asked in both scorings (the app's query path, InfluenceIndex with the serving options),
// and for the top-k proponents it measures:
//   predicted-class share   proponents whose label is the query's predicted class (the
//                           training examples that pushed the model to its answer should
//                           mostly carry that answer's label);
//   query-label share       proponents whose label is the query's own label;
//   embedding cosine        mean cosine of the proponents' embeddings to the query's (do
//                           they look like it, to the model);
//   distinct proponents     distinct ids over all N·k proponent slots (1.0: every query
//                           gets its own list; low: a few high-gradient examples top every
//                           list, the failure the TracIn authors' users reported).
// Opponents are measured the same way with the predicted-class share ("opposing" examples
// of another class are expected there). Prints one table; docs/influence-default.md
// records a run.
//
// Usage: bench_scoring <project> [--queries N] [--k K]

#include "influence/influenceindex.h"
#include "store/projectdb.h"

#include <QCoreApplication>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

using namespace traclens;

namespace {

struct Figures {
    double predictedShare = 0, queryLabelShare = 0, cosine = 0;
    double opponentPredictedShare = 0, opponentCosine = 0;
    std::set<int64_t> distinct, distinctOpponents;
    int64_t count = 0, opponentCount = 0;
};

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_scoring <project> [--queries N] [--k K]\n");
        return 2;
    }
    const std::string path = argv[1];
    int queries = 1000, k = 10;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--queries"))
            queries = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--k"))
            k = std::atoi(argv[i + 1]);
    }
    auto db = ProjectDb::open(path, ProjectDb::OpenMode::ReadOnly);
    if (!db.ok()) {
        std::fprintf(stderr, "%s\n", db.status().message().c_str());
        return 1;
    }
    auto model = (*db)->activeModel();
    if (!model.ok() || !model->has_value()) {
        std::fprintf(stderr, "%s: no model\n", path.c_str());
        return 1;
    }
    auto index = InfluenceIndex::open(**db, **model, IndexOptions::serving());
    if (!index.ok()) {
        std::fprintf(stderr, "%s\n", index.status().message().c_str());
        return 1;
    }
    const InfluenceIndex &ix = **index;
    const FactorStore &store = ix.store();
    auto test = (*db)->examples(Split::Test);
    if (!test.ok() || test->empty()) {
        std::fprintf(stderr, "%s: no test examples\n", path.c_str());
        return 1;
    }
    queries = std::min<int>(queries, int(test->size()));
    const int last = store.numCheckpoints() - 1;
    std::vector<float> e(size_t(store.numClasses())), h(size_t(store.embeddingDim()));

    Figures fig[2];
    for (int qi = 0; qi < queries; ++qi) {
        const int64_t id = (*test)[size_t(qi) * test->size() / size_t(queries)].id;
        const int64_t qrow = store.rowOf(id);
        store.factors(qrow, last, e.data(), h.data());
        double hn = 0;
        for (float v : h)
            hn += double(v) * v;
        hn = std::sqrt(hn);
        const int predicted = store.predicted(qrow);
        const int label = store.label(qrow);
        for (int s = 0; s < 2; ++s) {
            auto r = ix.query(id, k, s == 0 ? Scoring::Raw : Scoring::Normalised);
            if (!r.ok()) {
                std::fprintf(stderr, "%s\n", r.status().message().c_str());
                return 1;
            }
            Figures &f = fig[s];
            for (const Neighbour &n : r->proponents) {
                const int64_t row = store.rowOf(n.exampleId);
                f.predictedShare += store.label(row) == predicted;
                f.queryLabelShare += store.label(row) == label;
                f.cosine += store.embeddingCosine(h.data(), hn, row);
                f.distinct.insert(n.exampleId);
                ++f.count;
            }
            for (const Neighbour &n : r->opponents) {
                const int64_t row = store.rowOf(n.exampleId);
                f.opponentPredictedShare += store.label(row) == predicted;
                f.opponentCosine += store.embeddingCosine(h.data(), hn, row);
                f.distinctOpponents.insert(n.exampleId);
                ++f.opponentCount;
            }
        }
    }
    std::printf("project %s: %lld training examples, %d test queries, top %d, %d checkpoints\n", path.c_str(),
                (long long)store.trainRows(), queries, k, store.numCheckpoints());
    std::printf("| scoring | proponents: predicted class | proponents: query's label | proponents: embedding cosine "
                "| distinct proponents | opponents: predicted class | opponents: embedding cosine | distinct opponents |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    const char *names[2] = {"raw", "normalised"};
    for (int s = 0; s < 2; ++s) {
        const Figures &f = fig[s];
        const double n = double(std::max<int64_t>(1, f.count)), m = double(std::max<int64_t>(1, f.opponentCount));
        std::printf("| %s | %.1f %% | %.1f %% | %.3f | %.1f %% | %.1f %% | %.3f | %.1f %% |\n", names[s],
                    100.0 * f.predictedShare / n, 100.0 * f.queryLabelShare / n, f.cosine / n,
                    100.0 * double(f.distinct.size()) / n, 100.0 * f.opponentPredictedShare / m, f.opponentCosine / m,
                    100.0 * double(f.distinctOpponents.size()) / m);
    }
    return 0;
}
