// traclens-cli clusters: each class's training examples grouped by TracIn (or embedding) similarity.

#include "commands.h"
#include "common.h"

#include "index/clusterjob.h"
#include "store/projectdb.h"

#include <QJsonArray>
#include <QJsonObject>

#include <cstdio>
#include <memory>

namespace traclens::cli {

int cmdClusters(Context &c)
{
    if (c.positional.size() != 1)
        return usage("clusters: expected <project>");
    ClusterOptions opt;
    auto space = parseClusterSpace(c.parser.value("space").toStdString());
    if (!space)
        return usage("--space takes tracin or embedding");
    opt.space = *space;
    opt.k = c.parser.value("k").toInt();
    opt.representatives = c.parser.value("representatives").toInt();
    opt.force = c.parser.isSet("force");
    opt.threads = c.parser.value("threads").toInt();
    opt.seed = c.parser.value("seed").toULongLong();
    if (opt.k < 0 || opt.k == 1 || opt.representatives < 1)
        return usage("--k takes 0 (automatic) or at least 2; --representatives at least 1");
    auto opened = openProjectModel(c);
    if (!opened.ok())
        return fail(opened.status());
    std::unique_ptr<ProjectDb> &db = opened->db;
    const int64_t model = opened->model;
    auto classes = db->classes();
    if (!classes.ok())
        return fail(classes.status());
    if (c.parser.isSet("class")) {
        auto label = findLabel(*db, c.parser.value("class"));
        if (!label.ok())
            return fail(label.status());
        opt.classes = {*label};
    }
    auto summary = computeClusters(*db, model, opt, progressPrinter(c.quiet), &g_cancel);
    if (!summary.ok())
        return fail(summary.status());
    if (c.json) {
        QJsonArray sets;
        for (const auto &set : summary->sets) {
            QJsonArray clusters;
            for (const auto &cl : set.clusters) {
                QJsonArray medoids, members;
                for (size_t i = 0; i < cl.members.size(); ++i) {
                    if (int(i) < set.representatives)
                        medoids.append(qint64(cl.members[i].exampleId));
                    members.append(qint64(cl.members[i].exampleId));
                }
                clusters.append(QJsonObject{{"index", cl.index}, {"size", int(cl.members.size())},
                                            {"medoids", medoids}, {"members", members}});
            }
            sets.append(QJsonObject{{"class", q(className(*classes, set.classIdx))}, {"class_index", set.classIdx},
                                    {"k", int(set.clusters.size())}, {"k_requested", set.requestedK},
                                    {"silhouette", set.silhouette}, {"clusters", clusters}});
        }
        printJson({{"model", qint64(model)}, {"space", clusterSpaceName(opt.space)}, {"computed", summary->computed},
                   {"reused", summary->reused}, {"seconds", summary->seconds}, {"classes", sets}});
        return ExitOk;
    }
    std::printf("clusters in %s space (model %lld): %d computed, %d up to date, %.1f s\n", clusterSpaceName(opt.space),
                (long long)model, summary->computed, summary->reused, summary->seconds);
    for (const auto &set : summary->sets) {
        std::printf("%s: k=%zu%s, silhouette %.3f\n", className(*classes, set.classIdx).c_str(), set.clusters.size(),
                    set.requestedK > 0 ? " (given)" : " (chosen)", set.silhouette);
        for (const auto &cl : set.clusters) {
            std::printf("  cluster %d: %5zu examples; medoids", cl.index, cl.members.size());
            for (int i = 0; i < set.representatives && i < int(cl.members.size()); ++i)
                std::printf(" %lld", (long long)cl.members[size_t(i)].exampleId);
            std::printf("\n");
        }
    }
    return ExitOk;
}

void clustersOptions(CommandOptions &p)
{
    p.addOption(modelOption());
    p.addOption(threadsOption());
    p.addOption({"space", "tracin or embedding.", "space", "tracin"});
    p.addOption({"k", "Clusters per class (0 = chosen by silhouette in 2..12).", "n", "0"});
    p.addOption({"class", "Only this class (name or index). Default: every class.", "name"});
    p.addOption({"representatives", "Medoids per cluster.", "n", "8"});
    p.addOption({"seed", "Random seed.", "n", "1"});
    p.addOption({"force", "Recompute even when stored clusters are up to date."});
}

} // namespace traclens::cli
