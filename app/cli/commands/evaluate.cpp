// traclens-cli evaluate: measure mislabel detection (inject label noise, train, rank, retrain after review).

#include "commands.h"
#include "common.h"
#include "trainingoptions.h"

#include "evaluation/calibration.h"
#include "evaluation/evaluation.h"
#include "store/projectdb.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QString>
#include <QStringList>

#include <chrono>
#include <cmath>
#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace traclens::cli {

// "1,5,10" (percent) → {0.01, 0.05, 0.10}; "none" → {}.
std::optional<std::vector<double>> parsePercents(const QString &text)
{
    std::vector<double> out;
    if (text == "none" || text.isEmpty())
        return out;
    for (const QString &part : text.split(',')) {
        bool ok = false;
        const double v = part.trimmed().toDouble(&ok);
        if (!ok || !(v > 0.0 && v <= 100.0))
            return std::nullopt;
        out.push_back(v / 100.0);
    }
    return out;
}

int cmdEvaluate(Context &c)
{
    if (!c.positional.isEmpty())
        return usage("evaluate: takes options only (see --help)");
    if (!c.parser.isSet("out"))
        return usage("evaluate: --out <directory> is required (e.g. docs/evaluation)");
    EvaluationConfig cfg;
    cfg.dataset = c.parser.value("dataset").toStdString();
    // --calibrate: the project is checked now (not after an hour of training) and lends its
    // dataset unless --dataset names another. Read-only here: the app may have it open.
    const QString calibrate = c.parser.value("calibrate");
    if (!calibrate.isEmpty()) {
        auto db = ProjectDb::open(calibrate.toStdString(), ProjectDb::OpenMode::ReadOnly);
        if (!db.ok())
            return fail(db.status());
        if (!c.parser.isSet("dataset")) {
            auto info = (*db)->dataset();
            if (!info.ok())
                return fail(info.status());
            if (!info->has_value())
                return usage("evaluate --calibrate: the project has no dataset; give --dataset");
            cfg.dataset = (*info)->importedFrom.empty() ? (*info)->root : (*info)->importedFrom;
        }
    }
    cfg.workDirectory = c.parser.isSet("work") ? c.parser.value("work").toStdString()
                                               : (QDir::tempPath() + "/traclens-evaluation").toStdString();
    cfg.truthFile = c.parser.value("truth").toStdString();
    bool rateOk = false;
    // Known errors are scored without injected noise: --truth alone means --noise 0.
    cfg.noiseRate = !cfg.truthFile.empty() && !c.parser.isSet("noise") ? 0.0 : c.parser.value("noise").toDouble(&rateOk);
    if (cfg.truthFile.empty() || c.parser.isSet("noise")) {
        if (!rateOk || !(cfg.noiseRate >= 0.0 && cfg.noiseRate < 1.0))
            return usage("--noise takes a fraction between 0 and 1, e.g. 0.1 (0 only with --truth)");
        if (cfg.truthFile.empty() && cfg.noiseRate == 0.0)
            return usage("evaluate: --noise 0 leaves nothing to find: give --truth FILE with the errors you know, "
                         "or a noise rate such as 0.1");
        if (!cfg.truthFile.empty() && cfg.noiseRate != 0.0)
            return usage("evaluate: --truth scores the errors you know without injected noise: use --noise 0 (or "
                         "leave --noise out)");
    }
    const auto noiseType = parseNoiseType(c.parser.value("noise-type").toStdString());
    if (!noiseType)
        return usage("--noise-type takes uniform, pair or confusion");
    cfg.noiseType = *noiseType;
    cfg.confusionFile = c.parser.value("confusion").toStdString();
    if (!cfg.confusionFile.empty() && cfg.noiseType != NoiseType::Confusion)
        return usage("--confusion FILE is the matrix of --noise-type confusion");
    if (!cfg.truthFile.empty() && c.parser.isSet("noise-type"))
        return usage("evaluate: --noise-type describes injected noise; --truth injects none");
    cfg.noiseSeed = c.parser.value("noise-seed").toULongLong();
    cfg.trainLimit = c.parser.value("train-limit").toLongLong();
    cfg.testLimit = c.parser.value("test-limit").toLongLong();
    if (!applyTrainOptions(c.parser, &cfg.train))
        return usage("evaluate: epochs, width, embedding-dim, batch and checkpoint-every must be positive, lr > 0, --lr-schedule cosine or step");
    cfg.compute.threads = c.parser.value("threads").toInt();
    auto budgets = parsePercents(c.parser.value("budgets"));
    auto cleaning = parsePercents(c.parser.value("cleaning"));
    if (!budgets || budgets->empty() || !cleaning)
        return usage("--budgets and --cleaning take percentages, e.g. 1,5,10 (--cleaning none skips the loop)");
    cfg.budgets = *budgets;
    cfg.cleaningBudgets = *cleaning;
    cfg.cleaningUpperBound = !c.parser.isSet("no-upper-bound");
    cfg.seedReplicates = c.parser.value("seed-replicates").toInt();
    if (cfg.seedReplicates < 0)
        return usage("--seed-replicates takes a count, 0 or more");
    bool foldsOk = false;
    cfg.folds = c.parser.value("folds").toInt(&foldsOk);
    if (!foldsOk || cfg.folds == 1 || cfg.folds < 0)
        return usage("--folds takes 0 (no cross-validation) or a count of 2 or more");
    if (!parseCvViews(c.parser.value("cv-views"), &cfg.mirroredViews))
        return usage("--cv-views takes auto, plain or mirrored");
    const QString cleaningRankings = c.parser.value("cleaning-rankings");
    if (!calibrate.isEmpty() && !c.parser.isSet("cleaning-rankings") && cfg.folds >= 2 && !cfg.cleaningBudgets.empty()) {
        // As the app's Calibrate…: the loop reviews both orders the default chooses between,
        // and the one that gains more becomes the project's default.
        cfg.cleaningRankings = calibrationCleaningRankings();
    } else if (cleaningRankings != "none") {
        for (const QString &name : cleaningRankings.split(',', Qt::SkipEmptyParts)) {
            const auto kind = parseRankingKind(name.trimmed().toStdString());
            if (!kind)
                return usage("evaluate: --cleaning-rankings: unknown ranking '" + name + "' (see rank --help)");
            cfg.cleaningRankings.push_back(defaultRankingFor(*kind));
        }
    }
    bool seedsOk = false;
    cfg.cleaningSeeds = c.parser.value("cleaning-seeds").toInt(&seedsOk);
    if (!seedsOk || cfg.cleaningSeeds < 1)
        return usage("--cleaning-seeds takes a count, 1 or more");
    QStringList words = QCoreApplication::arguments().mid(1);
    words.prepend("traclens-cli");
    cfg.command = words.join(' ').toStdString();

    const auto t0 = std::chrono::steady_clock::now();
    auto report = runEvaluation(cfg, progressPrinter(c.quiet), &g_cancel);
    if (!report.ok())
        return fail(report.status());
    const std::string out = c.parser.value("out").toStdString();
    const Status written = writeEvaluationReport(*report, out);
    if (!written.isOk())
        return fail(written);
    if (!calibrate.isEmpty()) {
        auto db = ProjectDb::open(calibrate.toStdString(), ProjectDb::OpenMode::ReadWrite);
        if (!db.ok())
            return fail(db.status());
        const std::string reportFile = QFileInfo(QDir(q(out)).filePath("report.json")).absoluteFilePath().toStdString();
        const Status recorded = recordCalibration(**db, *report, reportFile);
        if (!recorded.isOk())
            return fail(recorded);
        std::optional<CleaningEvidence> cleaning;
        const RankingEvaluation *best = bestCalibrationRanking(*report, &cleaning);
        // The headline budget is 10 %; a run without it quotes its largest budget.
        size_t at = cfg.budgets.size() - 1;
        for (size_t i = 0; i < cfg.budgets.size(); ++i)
            if (std::abs(cfg.budgets[i] - 0.10) < 1e-9)
                at = i;
        // Beside --json the report is stdout's only content.
        std::fprintf(c.json ? stderr : stdout, "default review queue of %s: %s (measured: %.1f%% of the %s in the top %.3g%%)\n",
                     calibrate.toStdString().c_str(), best->name.c_str(),
                     at < best->recall.size() ? 100.0 * best->recall[at] : 0.0,
                     cfg.truthFile.empty() ? "flips" : "known errors", 100.0 * cfg.budgets[at]);
        if (cleaning) {
            std::fprintf(c.json ? stderr : stdout,
                         "  chosen by the cleaning loop: reviewing its top %.3g%% gained %+.2f points of test accuracy "
                         "(mean of %d seeds), %s %+.2f",
                         100.0 * cleaning->budget, 100.0 * cleaning->gain, cleaning->seeds, cleaning->runnerUp.c_str(),
                         100.0 * cleaning->runnerUpGain);
            if (cleaning->randomGain)
                std::fprintf(c.json ? stderr : stdout, ", a random review %+.2f", 100.0 * *cleaning->randomGain);
            std::fputc('\n', c.json ? stderr : stdout);
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (c.json) {
        QFile f(QDir(q(out)).filePath("report.json"));
        f.open(QIODevice::ReadOnly);
        std::fputs(f.readAll().constData(), stdout);
        return ExitOk;
    }
    const EvaluationReport &r = *report;
    if (cfg.truthFile.empty())
        std::printf("%zu of %lld training labels flipped (%s noise); model test accuracy %.2f%%\n\n", r.flips.size(),
                    (long long)r.trainCount, noiseTypeName(cfg.noiseType), 100.0 * r.testAccuracyBefore);
    else
        std::printf("%zu known errors (%s) among %lld training labels, no injected noise; model test accuracy "
                    "%.2f%%\n\n",
                    r.flips.size(), cfg.truthFile.c_str(), (long long)r.trainCount, 100.0 * r.testAccuracyBefore);
    std::printf("%-44s", cfg.truthFile.empty() ? "flips found in the top" : "known errors found in the top");
    for (double b : cfg.budgets)
        std::printf(" %6.3g%%", 100.0 * b);
    std::printf("     AUC\n");
    for (const auto &e : r.rankings) {
        std::printf("%-44s", (e.name + (e.name == r.defaultSpec.toString() ? " *" : "")).c_str());
        for (double v : e.recall)
            std::printf(" %6.1f%%", 100.0 * v);
        std::printf("  %.4f\n", e.auc);
    }
    std::printf("(* the default queue; best checkpoint policy measured: %s)\n", r.bestPolicy.c_str());
    if (r.labelNoise.covered > 0)
        std::printf("confident learning estimates %lld of %lld labels wrong (%.1f%%); at %.0f%% or more the default "
                    "queue is cv-boundary, else the ensemble\n",
                    (long long)r.labelNoise.pruned, (long long)r.labelNoise.covered, 100.0 * r.labelNoise.share(),
                    100.0 * kBoundaryReviewNoiseShare);
    if (!r.unflippedAtTop.empty()) {
        std::printf("the default queue's first %s labels (often the dataset's own errors; listed with their picture "
                    "in the report) are at ranks",
                    cfg.truthFile.empty() ? "unflipped" : "unlisted");
        for (size_t i = 0; i < r.unflippedAtTop.size() && i < 8; ++i)
            std::printf("%s %lld", i ? "," : "", (long long)r.unflippedAtTop[i].rank);
        std::printf("%s\n", r.unflippedAtTop.size() > 8 ? ", …" : "");
    }
    if (!r.cleaning.empty()) {
        // Each run against the noisy-label model of its own seed, as the report pairs them.
        std::printf("\ncleaning loop (gain over the noisy-label model of the same seed; first seed %.2f%%)\n",
                    100.0 * r.testAccuracyBefore);
        for (const CleaningRow &row : cleaningRows(r)) {
            std::printf("  %-36s %5.1f%% reviewed: %6lld flips fixed, gain", row.title.c_str(), 100.0 * row.budget,
                        (long long)std::max<int64_t>(row.fixedMin, 0));
            for (double g : row.gains)
                std::printf(" %+.2f", 100.0 * g);
            if (!row.gains.empty())
                std::printf("; mean %+.2f", 100.0 * row.meanGain());
            if (row.strategy != "random" && !std::isnan(row.ratioToRandom))
                std::printf(" (%.1f× random)", row.ratioToRandom);
            std::printf("\n");
        }
        for (const auto &run : r.cleaning)
            if (run.strategy == "all flips fixed")
                std::printf("  every flip fixed: test accuracy %.2f%% (%+.2f)\n", 100.0 * run.testAccuracy,
                            100.0 * (run.testAccuracy - r.testAccuracyBefore));
    }
    for (const auto &run : r.seedRuns)
        std::printf("  noisy labels, seed %llu: test accuracy %.2f%% (%+.2f over seed %llu)\n",
                    (unsigned long long)run.seed, 100.0 * run.testAccuracy,
                    100.0 * (run.testAccuracy - r.testAccuracyBefore), (unsigned long long)cfg.train.seed);
    if (!r.cleaningSkipped.empty())
        std::printf("\ncleaning loop not run: %s\n", r.cleaningSkipped.c_str());
    std::printf("\nmeasured on %s\n", describeMachine(r.machine).c_str());
    std::printf("\nreport: %s/report.md (%.0f s this run, %.0f s of work in total)\n", out.c_str(), seconds,
                r.totalSeconds);
    return ExitOk;
}

void evaluateOptions(CommandOptions &p)
{
    p.addOption({"dataset", "Dataset to import.", "path", "/usr/share/datasets/fashion-mnist"});
    p.addOption({"out", "Report directory (report.md, report.json, PNG plots); required.", "dir"});
    p.addOption({"calibrate",
                 "Afterwards make the best measured ranking this project's default review queue (its "
                 "dataset is evaluated when --dataset is not given): the review that gained the most test "
                 "accuracy when the cleaning loop compared two or more (--cleaning-rankings, 3 seeds or more), "
                 "else the ranking that found the most flips. Default: none.",
                 "project"});
    p.addOption({"work", "Work directory for the project and models (reused by a rerun). Default: "
                         "traclens-evaluation in the temporary folder.",
                 "dir"});
    p.addOption({"noise", "Fraction of training labels to flip (0, the default with --truth, injects none).",
                 "rate", "0.1"});
    p.addOption({"noise-type",
                 "uniform (to any other class), pair (class c to class c+1 mod K) or confusion (drawn from a "
                 "confusion matrix).",
                 "type", "uniform"});
    p.addOption({"confusion",
                 "Matrix for --noise-type confusion: K rows of K numbers (row = true class). Without it, "
                 "the built-in CNN is trained on the clean labels and its test-split confusion is used. Default: none.",
                 "file"});
    p.addOption({"truth",
                 "Score against known wrong labels instead of injected noise: one example per line (its "
                 "path relative to the dataset root, or its id), optionally ',<correct label>'. Default: none (inject noise).",
                 "file"});
    p.addOption({"noise-seed", "Seed of the label noise.", "n", "1"});
    p.addOption({"train-limit", "Use a seeded subset of this many training images (0 = all).", "n", "0"});
    p.addOption({"test-limit", "Use a seeded subset of this many test images (0 = all).", "n", "0"});
    p.addOption({"budgets", "Review budgets for recall, percent.", "list", "1,5,10,20,30"});
    p.addOption({"cleaning", "Review budgets of the cleaning loop, percent (none = skip).", "list", "10"});
    p.addOption({"no-upper-bound", "Skip the retraining with every flip fixed."});
    p.addOption({"seed-replicates", "Extra trainings on the noisy labels with other seeds (the spread).", "n",
                 "2"});
    p.addOption({"folds",
                 "Cross-validation folds for the out-of-sample rankings and the confident-learning "
                 "baseline (0 = none).",
                 "n", QString::number(EvaluationConfig{}.folds)});
    p.addOption(cvViewsOption());
    p.addOption({"cleaning-rankings",
                 "Rankings also reviewed in the cleaning loop, beside the default queue and a random review "
                 "(comma-separated names as in rank --ranking; none = only those two). With --calibrate "
                 "and folds the default is cv-boundary,ensemble.",
                 "list", "none"});
    p.addOption({"cleaning-seeds",
                 "Trainings per cleaning-loop cell, each compared with the noisy-label model of its seed.",
                 "n", "3"});
    addTrainOptions(p, EvaluationConfig{}.train);
    p.addOption(threadsOption());
}

} // namespace traclens::cli
