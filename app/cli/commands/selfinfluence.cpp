// traclens-cli self-influence: examples ranked by self-influence, highest first.

#include "commands.h"
#include "common.h"

#include "store/projectdb.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QString>

#include <cstdio>
#include <memory>
#include <optional>

namespace traclens::cli {

int cmdSelfInfluence(Context &c)
{
    if (c.positional.size() != 1)
        return usage("self-influence: expected <project>");
    auto opened = openProjectModel(c, ProjectDb::OpenMode::ReadOnly);
    if (!opened.ok())
        return fail(opened.status());
    std::unique_ptr<ProjectDb> &db = opened->db;
    const int64_t model = opened->model;
    auto values = db->selfInfluence(model);
    if (!values.ok())
        return fail(values.status());
    if (values->empty())
        return fail(Status::notFound(db->path() + ": no self-influence yet; run 'compute' first"));
    auto classes = db->classes();
    if (!classes.ok())
        return fail(classes.status());
    const QString splitText = c.parser.value("split");
    std::optional<Split> split;
    if (splitText != "all") {
        split = parseSplit(splitText.toStdString());
        if (!split)
            return usage("--split takes train, test or all");
    }
    const int top = c.parser.value("top").toInt();
    QJsonArray rows;
    int rank = 0;
    for (const auto &[id, value] : *values) {
        if (top > 0 && rank >= top)
            break;
        auto e = db->example(id);
        if (!e.ok())
            return fail(e.status());
        if (split && e->split != *split)
            continue;
        ++rank;
        if (c.json)
            rows.append(QJsonObject{{"rank", rank}, {"id", qint64(id)}, {"path", q(e->source)},
                                    {"label", q(className(*classes, e->currentLabel))}, {"self_influence", value}});
        else
            std::printf("%5d  %8lld  %12.6g  %-14s %s\n", rank, (long long)id, value,
                        className(*classes, e->currentLabel).c_str(), e->source.c_str());
    }
    if (c.json)
        printJson({{"model", qint64(model)}, {"ranking", rows}});
    return ExitOk;
}

void selfInfluenceOptions(CommandOptions &p)
{
    p.addOption(modelOption());
    p.addOption({"top", "How many rows to print (0 = all).", "n", "20"});
    p.addOption({"split", "train, test or all.", "split", "train"});
}

} // namespace traclens::cli
