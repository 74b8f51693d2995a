// traclens-cli demo: import Fashion-MNIST, train, compute and show what TracIn finds.

#include "commands.h"
#include "common.h"
#include "trainingoptions.h"

#include "influence/computejob.h"
#include "influence/pipeline.h"
#include "influence/influenceindex.h"
#include "model/modelrunner.h"
#include "model/trainer.h"
#include "store/projectdb.h"

#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>
#include <QString>

#include <cstdio>
#include <vector>

namespace traclens::cli {

// The whole pipeline on Fashion-MNIST from the Debian package, resuming whatever an
// earlier run left unfinished.
int cmdDemo(Context &c)
{
    const QString dataset = c.parser.value("dataset");
    QString project = c.parser.value("project");
    if (project.isEmpty())
        project = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/demo/fashion-mnist.traclens";
    QDir().mkpath(QFileInfo(project).absolutePath());
    std::printf("TracLens demo: %s\nproject: %s\n", qPrintable(dataset), qPrintable(project));
    auto db = openProject(project, ProjectDb::OpenMode::Create);
    if (!db.ok())
        return fail(db.status());
    ProjectDb &p = **db;
    const ProgressFn progress = progressPrinter(c.quiet);
    // The pipeline (core/influence/pipeline.h) that the app's project plan runs too; here
    // it always computes, so the factors line below is printed on every run.
    PipelineRequest request;
    request.datasetPath = dataset.toStdString();
    request.modelSource = PipelineRequest::ModelSource::TrainBuiltin;
    request.train = TrainConfig::adaptiveDefault();
    if (!applyEpochOptions(c.parser, &request.train))
        return usage("demo: --epochs, --max-epochs and --patience must be positive, --time-budget 0 or more");
    request.modelName = "builtin-cnn";
    request.computeWhenComplete = true;
    PipelineObserver observer;
    observer.imported = [](const ImportSummary &summary) {
        std::printf("imported: %lld train, %lld test, %zu classes\n", (long long)summary.train,
                    (long long)summary.test, summary.classes.size());
    };
    observer.trained = [&p](int64_t model) {
        printTrainingRecord(p, model);
        auto epochs = p.epochs(model);
        if (epochs.ok())
            for (const auto &e : *epochs)
                std::printf("epoch %d: lr %.3g, train acc %.3f, test acc %.3f\n", e.epoch, e.learningRate,
                            e.trainAccuracy, e.testAccuracy);
        printModelWarnings(modelWarningsJson(p, model), stdout);
    };
    observer.computed = [](const ComputeSummary &computed) {
        std::printf("factors: %lld computed, %lld reused (%.0f vectors/s)\n", (long long)computed.computed,
                    (long long)computed.reused, computed.vectorsPerSecond);
    };
    ModelRunner::setThreads(0);
    auto outcome = runPipeline(p, request, observer, progress, &g_cancel);
    if (!outcome.ok())
        return fail(outcome.status());
    const int64_t model = *outcome->model;
    auto engine = InfluenceIndex::open(p, model, IndexOptions::serving());
    if (!engine.ok())
        return fail(engine.status());
    auto classes = p.classes();
    auto values = p.selfInfluence(model);
    if (!classes.ok() || !values.ok())
        return fail(classes.ok() ? values.status() : classes.status());
    std::printf("\nhighest self-influence (likely mislabelled or unusual):\n");
    int shown = 0;
    for (const auto &[id, v] : *values) {
        auto e = p.example(id);
        if (!e.ok() || e->split != Split::Train)
            continue;
        std::printf("  %6lld  %10.4g  labelled %-12s predicted %-12s (p=%.2f)\n", (long long)id, v,
                    className(*classes, e->currentLabel).c_str(), className(*classes, (*engine)->predicted(id)).c_str(),
                    (*engine)->predictedProbability(id));
        if (++shown == 10)
            break;
    }
    auto tests = p.examples(Split::Test);
    if (!tests.ok() || tests->empty())
        return fail(tests.ok() ? Status::notFound("no test examples") : tests.status());
    const int64_t queryId = tests->front().id;
    auto r = (*engine)->query(queryId, 5, Scoring::Raw);
    if (!r.ok())
        return fail(r.status());
    std::printf("\nquery: test example %lld (%s), predicted %s\n", (long long)queryId,
                className(*classes, r->labelUsed).c_str(), className(*classes, r->predicted).c_str());
    auto line = [&](const char *name, const std::vector<Neighbour> &list) {
        std::printf("  %-10s", name);
        for (const auto &n : list) {
            auto e = p.example(n.exampleId);
            std::printf("  %lld:%s(%.3g)", (long long)n.exampleId,
                        e.ok() ? className(*classes, e->currentLabel).c_str() : "?", n.score);
        }
        std::printf("\n");
    };
    line("proponents", r->proponents);
    line("opponents", r->opponents);
    line("nearest", r->nearest);
    line("farthest", r->farthest);
    std::printf("\nexplore it: traclens-cli query %s --example <id>, or open it in the app\n", qPrintable(project));
    return ExitOk;
}

void demoOptions(CommandOptions &p)
{
    p.addOption({"project", "Project file. Default: the app's demo project.", "file"});
    p.addOption({"dataset", "Dataset to use.", "path", "/usr/share/datasets/fashion-mnist"});
    addEpochOptions(p);
}

} // namespace traclens::cli
