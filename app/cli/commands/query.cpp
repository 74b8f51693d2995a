// traclens-cli query: proponents, opponents and embedding neighbours of examples or of an image file.

#include "commands.h"
#include "common.h"

#include "influence/computejob.h"
#include "influence/influenceindex.h"
#include "store/projectdb.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace traclens::cli {

// One example to query and where it was named: "" for --example, "FILE:LINE" for a line
// of --examples-from, so an error points at the line.
struct QueryInput {
    QString text;
    QString origin;
};

// The lines of --examples-from: one id or path per line; blank lines and lines starting
// with '#' are skipped; "-" reads stdin. Errors name the file.
Result<std::vector<QueryInput>> readExampleList(const QString &file)
{
    QFile f;
    const bool stdinput = file == "-";
    const bool opened = stdinput ? f.open(stdin, QIODevice::ReadOnly | QIODevice::Text)
                                 : (f.setFileName(file), f.open(QIODevice::ReadOnly | QIODevice::Text));
    const QString name = stdinput ? QString("<stdin>") : file;
    if (!opened)
        return Status::notFound(name.toStdString() + ": cannot read the list of examples: "
                                + f.errorString().toStdString());
    std::vector<QueryInput> out;
    int line = 0;
    while (!f.atEnd()) {
        ++line;
        const QString text = QString::fromUtf8(f.readLine()).trimmed();
        if (text.isEmpty() || text.startsWith('#'))
            continue;
        out.push_back({text, QString("%1:%2").arg(name).arg(line)});
    }
    return out;
}

int cmdQuery(Context &c)
{
    if (c.positional.size() != 1)
        return usage("query: expected <project> and --example, --examples-from, --split or --image");
    const bool image = c.parser.isSet("image");
    const bool byExample = c.parser.isSet("example") || c.parser.isSet("examples-from") || c.parser.isSet("split");
    if (image == byExample)
        return usage("query: give --example <id|path> (repeatable), --examples-from <file>, --split <train|test>, "
                     "or --image <file> alone");
    if (c.parser.isSet("label") && !image)
        return usage("query: --label goes with --image (an example is queried with its own label)");
    std::optional<Split> split;
    if (c.parser.isSet("split")) {
        split = parseSplit(c.parser.value("split").toStdString());
        if (!split)
            return usage("--split takes train or test");
    }
    const int k = c.parser.value("k").toInt();
    if (k < 1)
        return usage("--k must be at least 1");
    if (c.parser.value("precision") != "f16" && c.parser.value("precision") != "f32")
        return usage("--precision is f32 or f16");
    const SelfMatch self = c.parser.isSet("include-self") ? SelfMatch::Include : SelfMatch::Exclude;
    // Read-only: a query answers while the desktop app has the project open.
    auto opened = openProjectModel(c, ProjectDb::OpenMode::ReadOnly);
    if (!opened.ok())
        return fail(opened.status());
    std::unique_ptr<ProjectDb> &db = opened->db;
    const int64_t model = opened->model;

    // Every example is named before anything is answered, so a bad line fails the
    // command before any output and names its file and line.
    std::vector<int64_t> ids;
    if (byExample) {
        std::vector<QueryInput> inputs;
        for (const QString &text : c.parser.values("example"))
            inputs.push_back({text, QString()});
        if (c.parser.isSet("examples-from")) {
            auto listed = readExampleList(c.parser.value("examples-from"));
            if (!listed.ok())
                return fail(listed.status());
            inputs.insert(inputs.end(), listed->begin(), listed->end());
        }
        ExampleResolver resolver(*db);
        for (const QueryInput &in : inputs) {
            auto id = resolver.find(in.text);
            if (!id.ok())
                return fail(in.origin.isEmpty() ? id.status() : id.status().withContext(in.origin.toStdString()));
            ids.push_back(*id);
        }
        if (split) {
            auto rows = db->examples(*split);
            if (!rows.ok())
                return fail(rows.status());
            for (const auto &e : *rows)
                ids.push_back(e.id);
        }
        if (ids.empty())
            return fail(Status::notFound(db->path() + ": no examples to query (the list or the split is empty)"));
    }
    // One JSON object for one --example or --image (as before); JSON lines, one per query,
    // whenever a command names several or a list (a script reads them as they come).
    const bool jsonLines = c.parser.isSet("examples-from") || c.parser.isSet("split")
                           || c.parser.values("example").size() > 1;

    const Scoring scoring = c.parser.isSet("normalised") ? Scoring::Normalised : Scoring::Raw;
    const auto t0 = std::chrono::steady_clock::now();
    // The desktop app's query path (IndexOptions::serving()): from kExactSearchBelow
    // training examples a saved, fresh index (`traclens-cli index`) answers; without one,
    // or below that size, the search is exact. A query never waits for an index build.
    IndexOptions serving = IndexOptions::serving();
    if (c.parser.value("precision") == "f16")
        serving.params.precision = IndexParams::Precision::Float16;
    auto index = InfluenceIndex::open(*db, model, serving);
    if (!index.ok())
        return fail(index.status());
    const std::string &indexProblem = (*index)->info().staleReason;
    if (!indexProblem.empty() && !c.quiet)
        std::fprintf(stderr, "traclens-cli: %s; searching exactly (run 'traclens-cli index %s' to rebuild it)\n",
                     indexProblem.c_str(), qPrintable(c.positional[0]));
    const double loadSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto info = db->dataset();
    if (!info.ok())
        return fail(info.status());
    const auto &classes = (*info)->classes;
    // Scores are formed with each example's current label; where the model was trained
    // with another, the answer says so.
    auto changed = db->labelsChangedSince(model);
    if (!changed.ok())
        return fail(changed.status());
    const std::map<int64_t, int> trainedWith(changed->begin(), changed->end());
    auto addTrainedLabel = [&](QJsonObject *o, int64_t id) {
        if (auto it = trainedWith.find(id); it != trainedWith.end())
            o->insert("trained_label", q(className(classes, it->second)));
    };
    // Paths as every command prints them: relative to the dataset root.
    auto describe = [&](const std::vector<Neighbour> &list) -> Result<QJsonArray> {
        QJsonArray a;
        for (const auto &n : list) {
            auto e = db->example(n.exampleId);
            if (!e.ok())
                return e.status();
            QJsonObject o{{"id", qint64(n.exampleId)}, {"score", n.score}, {"path", q(e->source)},
                          {"label", q(className(classes, e->currentLabel))}};
            addTrainedLabel(&o, n.exampleId);
            a.append(o);
        }
        return a;
    };
    const std::pair<const char *, std::vector<Neighbour> QueryResult::*> lists[] = {
        {"proponents", &QueryResult::proponents},
        {"opponents", &QueryResult::opponents},
        {"nearest", &QueryResult::nearest},
        {"farthest", &QueryResult::farthest}};
    // One answer, written and flushed at once so a script reading a pipe sees it.
    auto answer = [&](const QueryResult &r, double queryMs) -> int {
        QJsonObject out{{"model", qint64(model)},
                        {"query", qint64(r.queryId)},
                        {"label", q(className(classes, r.labelUsed))},
                        {"label_is_prediction", r.labelPredicted},
                        {"predicted", q(className(classes, r.predicted))},
                        {"self_influence", r.selfInfluence},
                        {"self_excluded", r.selfExcluded},
                        {"scoring", scoring == Scoring::Raw ? "raw" : "normalised"},
                        {"search", searchKindName(r)},
                        {"precision", precisionName(r)},
                        {"relabelled_since_index", qint64((*index)->info().relabelledRows)},
                        {"index_problem", q(indexProblem)},
                        {"load_seconds", loadSeconds},
                        {"query_ms", queryMs}};
        QString queryName = c.parser.value("image");
        if (r.queryId >= 0) {
            addTrainedLabel(&out, r.queryId);
            auto e = db->example(r.queryId);
            if (!e.ok())
                return fail(e.status());
            out.insert("path", q(e->source));
            out.insert("split", splitName(e->split));
            queryName = QString("%1 (%2)").arg(r.queryId).arg(q(e->source));
        }
        for (const auto &[name, member] : lists) {
            auto a = describe(r.*member);
            if (!a.ok())
                return fail(a.status());
            out.insert(name, *a);
        }
        if (c.json) {
            if (jsonLines)
                std::printf("%s\n", QJsonDocument(out).toJson(QJsonDocument::Compact).constData());
            else
                printJson(out);
            std::fflush(stdout);
            return ExitOk;
        }
        const QString trainedNote = out.contains("trained_label")
                                        ? QString(" (the model was trained with %1)").arg(out.value("trained_label").toString())
                                        : QString();
        QString selfNote;
        if (r.selfExcluded)
            selfNote = "; the example itself is left out of its lists (--include-self keeps it)";
        else if (r.queryId >= 0 && self == SelfMatch::Include && out.value("split").toString() == "train")
            selfNote = "; the example itself may appear in its lists (--include-self)";
        std::printf("query %s, label %s%s%s, predicted %s, self-influence %.6g (%s scores, %s search, %s factors, "
                    "%.1f ms)%s\n",
                    qPrintable(queryName), className(classes, r.labelUsed).c_str(),
                    r.labelPredicted ? " (predicted: the image has no label)" : "", qPrintable(trainedNote),
                    className(classes, r.predicted).c_str(), r.selfInfluence,
                    scoring == Scoring::Raw ? "raw" : "normalised", searchKindName(r), precisionName(r), queryMs,
                    qPrintable(selfNote));
        for (const auto &[name, member] : lists) {
            std::printf("%s:\n", name);
            for (const auto &v : out.value(name).toArray()) {
                const QJsonObject o = v.toObject();
                std::printf("  %8lld  %+12.6g  %-14s %s\n", (long long)o.value("id").toInteger(),
                            o.value("score").toDouble(), qPrintable(o.value("label").toString()),
                            qPrintable(o.value("path").toString()));
            }
        }
        std::fflush(stdout);
        return ExitOk;
    };

    if (byExample) {
        // Every example is answered, in the order given, by the one loaded index.
        for (int64_t id : ids) {
            if (g_cancel.load())
                return fail(Status::cancelled());
            const auto q0 = std::chrono::steady_clock::now();
            auto result = (*index)->query(id, k, scoring, SearchMode::Auto, self);
            if (!result.ok())
                return fail(result.status());
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - q0).count();
            if (int rc = answer(*result, ms); rc != ExitOk)
                return rc;
        }
        return ExitOk;
    }
    const QString file = c.parser.value("image");
    int label = -1;
    if (c.parser.isSet("label")) {
        auto l = findLabel(*db, c.parser.value("label"));
        if (!l.ok())
            return fail(l.status());
        label = *l;
    }
    if (Status s = prepareModelRun(*db, model, c.parser.isSet("trust-model"), false, c.quiet, c.positional[0]); !s)
        return fail(s);
    const auto q0 = std::chrono::steady_clock::now();
    auto factors = computeImageFileFactors(*db, model, file.toStdString(), label);
    if (!factors.ok())
        return fail(factors.status());
    auto result = (*index)->query(*factors, k, scoring);
    if (!result.ok())
        return fail(result.status());
    return answer(*result, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - q0).count());
}

void queryOptions(CommandOptions &p)
{
    p.addOption(modelOption());
    p.addRepeatable({"example", "An example to query (id or path). With --json, several give a JSON line each.",
                     "id|path"});
    p.addOption({"examples-from",
                 "Query every example listed in this file, one id or path per line (blank lines and lines "
                 "starting with # are skipped; - reads stdin). With --json, a JSON line each.",
                 "file"});
    p.addOption({"split", "Query every example of this split: train or test. With --json, a JSON line each.",
                 "split"});
    p.addOption({"image", "An image file outside the project.", "file"});
    p.addOption({"label", "Label for --image. Default: its predicted class.", "label"});
    p.addOption({"include-self",
                 "Let a training example appear in its own lists (by default it is left out of them, "
                 "and the answer says so)."});
    p.addOption(trustModelOption());
    p.addOption({"k", "How many of each list.", "n", "10"});
    p.addOption({"normalised", "Normalised TracIn (cosine of gradients)."});
    p.addOption(precisionOption());
}

} // namespace traclens::cli
