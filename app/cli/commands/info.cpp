// traclens-cli info: what a project holds.

#include "commands.h"
#include "common.h"
#include "trainingoptions.h"

#include "store/projectdb.h"

#include <QJsonArray>
#include <QJsonObject>

#include <cstdio>
#include <string>

namespace traclens::cli {

int cmdInfo(Context &c)
{
    if (c.positional.size() != 1)
        return usage("info: expected <project>");
    auto db = openProject(c.positional[0], ProjectDb::OpenMode::ReadOnly);
    if (!db.ok())
        return fail(db.status());
    ProjectDb &p = **db;
    auto info = p.dataset();
    auto train = p.exampleCount(Split::Train);
    auto test = p.exampleCount(Split::Test);
    auto models = p.models();
    auto history = p.labelHistory();
    auto skipped = p.skipped();
    auto active = p.activeModel();
    for (const Status *s : {&info.status(), &train.status(), &test.status(), &models.status(), &history.status(),
                            &skipped.status(), &active.status()})
        if (!s->isOk())
            return fail(*s);
    QJsonObject out{{"project", q(p.path())}, {"schema_version", p.schemaVersion()}};
    if (info->has_value()) {
        QJsonArray classes;
        for (const auto &n : (*info)->classes)
            classes.append(q(n));
        out.insert("dataset", QJsonObject{{"kind", sourceKindName((*info)->kind)}, {"root", q((*info)->root)},
                                          {"imported_from", q((*info)->importedFrom)}, {"classes", classes}});
    }
    out.insert("train", qint64(*train));
    out.insert("test", qint64(*test));
    out.insert("label_changes", int(history->size()));
    out.insert("skipped", int(skipped->size()));
    QJsonArray ms;
    for (const auto &m : *models) {
        auto cps = p.checkpoints(m.id);
        if (!cps.ok())
            return fail(cps.status());
        QJsonArray cpa;
        int64_t complete = 0;
        for (const auto &cp : *cps) {
            auto n = p.factorCount(cp.id);
            if (!n.ok())
                return fail(n.status());
            cpa.append(QJsonObject{{"file", q(cp.file)}, {"learning_rate", cp.learningRate}, {"factors", qint64(*n)}});
            complete += *n;
        }
        ms.append(QJsonObject{{"id", qint64(m.id)}, {"name", q(m.name)}, {"directory", q(m.directory)},
                              {"classes", m.numClasses}, {"embedding_dim", m.embeddingDim},
                              {"active", active->has_value() && **active == m.id}, {"checkpoints", cpa},
                              {"factors_complete", complete == (*train + *test) * qint64(cps->size())},
                              {"warnings", modelWarningsJson(p, m.id)}});
    }
    out.insert("models", ms);
    if (c.json) {
        printJson(out);
        return ExitOk;
    }
    std::printf("project   %s (schema %d)\n", p.path().c_str(), p.schemaVersion());
    if (info->has_value()) {
        std::printf("dataset   %s (%s)\n", (*info)->importedFrom.c_str(), sourceKindName((*info)->kind));
        std::string names;
        for (const auto &n : (*info)->classes)
            names += (names.empty() ? "" : ", ") + n;
        std::printf("classes   %zu: %s\n", (*info)->classes.size(), names.c_str());
    } else {
        std::printf("dataset   none (run 'import')\n");
    }
    std::printf("examples  %lld train, %lld test, %zu skipped, %zu label changes\n", (long long)*train,
                (long long)*test, skipped->size(), history->size());
    for (const auto &v : ms) {
        const QJsonObject m = v.toObject();
        std::printf("model %lld%s  %s  %d classes, embedding %d, %lld checkpoints, factors %s\n",
                    (long long)m.value("id").toInteger(), m.value("active").toBool() ? " (active)" : "",
                    qPrintable(m.value("name").toString()), m.value("classes").toInt(),
                    m.value("embedding_dim").toInt(), (long long)m.value("checkpoints").toArray().size(),
                    m.value("factors_complete").toBool() ? "complete" : "incomplete (run 'compute')");
        printModelWarnings(m.value("warnings").toArray(), stdout);
    }
    return ExitOk;
}

} // namespace traclens::cli
