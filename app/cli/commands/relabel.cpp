// traclens-cli relabel: change an example's label (kept in the label history).

#include "commands.h"
#include "common.h"

#include <cstdio>

namespace traclens::cli {

int cmdRelabel(Context &c)
{
    if (c.positional.size() != 3)
        return usage("relabel: expected <project> <example id or path> <label>");
    auto db = openProject(c.positional[0]);
    if (!db.ok())
        return fail(db.status());
    ExampleResolver resolver(**db);
    auto id = resolver.find(c.positional[1]);
    if (!id.ok())
        return fail(id.status());
    auto example = (*db)->example(*id);
    if (!example.ok())
        return fail(example.status());
    auto label = findLabel(**db, c.positional[2]);
    if (!label.ok())
        return fail(label.status());
    auto change = (*db)->relabel(*id, *label, "cli");
    if (!change.ok())
        return fail(change.status());
    auto classes = (*db)->classes();
    if (!classes.ok())
        return fail(classes.status());
    if (c.json)
        printJson({{"id", qint64(*id)}, {"path", q(example->source)},
                   {"old_label", q(className(*classes, change->oldLabel))},
                   {"new_label", q(className(*classes, change->newLabel))}, {"changed", change->id != 0}});
    else if (change->id == 0)
        std::printf("example %lld (%s) already has label %s\n", (long long)*id, example->source.c_str(),
                    className(*classes, change->newLabel).c_str());
    else
        std::printf("example %lld (%s): %s -> %s\n", (long long)*id, example->source.c_str(),
                    className(*classes, change->oldLabel).c_str(), className(*classes, change->newLabel).c_str());
    return ExitOk;
}

} // namespace traclens::cli
