// libFuzzer target: a project file (SQLite) as written to disk by anyone. The input bytes
// become "<tmp>/fuzz.traclens", which is opened read-only and read-write, and every read
// path the app and the command line take runs on it: dataset, classes, examples, label
// history, models, checkpoints, factors, the factor store, the influence engine with a
// query, self-influence and the four rankings. A damaged file must give Status errors,
// never a crash, an out-of-bounds read or undefined behaviour (ASan + UBSan).
//
// Seed: tests/fuzz/corpus/project/, made by make-project-seed.sh (a synthetic project of
// 12 training and 4 test examples, 3 classes, embedding 4, 2 checkpoints, 512-byte pages).
#include "store/factorstore.h"
#include "influenceengine.h"
#include "store/projectdb.h"
#include "influence/ranking.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

using namespace traclens;
namespace fs = std::filesystem;

namespace {

const std::string &workDir()
{
    static const std::string dir = [] {
        char tmpl[] = "/tmp/traclens-fuzz-project-XXXXXX";
        const char *made = mkdtemp(tmpl);
        if (!made)
            std::abort();
        return std::string(made);
    }();
    return dir;
}

// Every Status a read returns must say what is wrong.
template <typename R>
bool ok(const R &r)
{
    if (!r.ok() && r.status().message().empty())
        std::abort();
    return r.ok();
}

void readEverything(ProjectDb &db)
{
    ok(db.dataset());
    ok(db.classes());
    ok(db.skipped());
    ok(db.exampleCount());
    ok(db.labelHistory());
    ok(db.exampleLabels(Split::Train));
    ok(db.activeModel());
    auto examples = db.examples();
    if (ok(examples) && !examples->empty())
        ok(db.example(examples->front().id));
    auto models = db.models();
    if (!ok(models))
        return;
    int modelsRead = 0;
    for (const ModelRow &m : *models) {
        if (++modelsRead > 2)
            break;
        ok(db.model(m.id));
        ok(db.epochs(m.id));
        ok(db.selfInfluence(m.id));
        auto cps = db.checkpoints(m.id);
        if (ok(cps)) {
            for (const CheckpointRow &cp : *cps) {
                ok(db.factorCount(cp.id));
                Status s = db.forEachFactor(cp.id, [](const FactorRow &) {});
                if (!s.isOk() && s.message().empty())
                    std::abort();
                if (examples.ok() && !examples->empty())
                    ok(db.factor(cp.id, examples->front().id));
            }
        }
        ok(FactorStore::load(db, m.id, FactorPrecision::Float16));
        auto engine = InfluenceEngine::load(db, m.id);
        if (ok(engine) && !(*engine)->trainIds().empty()) {
            const int64_t id = (*engine)->trainIds().front();
            ok((*engine)->query(id, 3, Scoring::Raw));
            ok((*engine)->query(id, 3, Scoring::Normalised));
            (void)(*engine)->selfInfluence(id);
            RankingSpec loss;
            loss.kind = RankingKind::Loss;
            (void)rankFromEngine(**engine, loss);
        }
        for (RankingKind kind : allRankingKinds()) {
            RankingSpec spec;
            spec.kind = kind;
            ok(rankTrainingExamples(db, m.id, spec));
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string path = workDir() + "/fuzz.traclens";
    std::error_code ec;
    for (const char *suffix : {"", "-wal", "-shm", "-journal"})
        fs::remove(path + suffix, ec);
    fs::remove_all(path + ".d", ec);
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char *>(data), std::streamsize(size));
    }
    for (ProjectDb::OpenMode mode : {ProjectDb::OpenMode::ReadOnly, ProjectDb::OpenMode::ReadWrite}) {
        auto db = ProjectDb::open(path, mode);
        if (ok(db))
            readEverything(**db);
    }
    return 0;
}
