// traclens-cli export: corrected labels (CSV), the change log and/or an ImageFolder tree.

#include "commands.h"
#include "common.h"

#include "store/exporter.h"
#include "store/projectdb.h"

#include <cstdio>

namespace traclens::cli {

int cmdExport(Context &c)
{
    if (c.positional.size() != 1)
        return usage("export: expected <project> and at least one of --csv, --log, --tree");
    if (!c.parser.isSet("csv") && !c.parser.isSet("log") && !c.parser.isSet("tree"))
        return usage("export: give --csv FILE, --log FILE and/or --tree DIR");
    auto db = openProject(c.positional[0], ProjectDb::OpenMode::ReadOnly);
    if (!db.ok())
        return fail(db.status());
    const bool overwrite = c.parser.isSet("overwrite");
    auto counts = countExport(**db);
    if (!counts.ok())
        return fail(counts.status());
    if (c.parser.isSet("csv")) {
        Status s = exportLabelsCsv(**db, c.parser.value("csv").toStdString(), overwrite);
        if (!s.isOk())
            return fail(s);
    }
    if (c.parser.isSet("log")) {
        Status s = exportChangeLog(**db, c.parser.value("log").toStdString(), overwrite);
        if (!s.isOk())
            return fail(s);
    }
    if (c.parser.isSet("tree")) {
        Status s = exportImageFolder(**db, c.parser.value("tree").toStdString(),
                                     c.parser.isSet("hardlink") ? TreeMode::HardLink : TreeMode::Copy, overwrite,
                                     progressPrinter(c.quiet), &g_cancel);
        if (!s.isOk())
            return fail(s);
    }
    if (c.json)
        printJson({{"examples", qint64(counts->examples)}, {"changed", qint64(counts->changed)},
                   {"train", qint64(counts->train)}, {"test", qint64(counts->test)}});
    else
        std::printf("exported %lld examples (%lld train, %lld test), %lld with a changed label\n",
                    (long long)counts->examples, (long long)counts->train, (long long)counts->test,
                    (long long)counts->changed);
    return ExitOk;
}

void exportOptions(CommandOptions &p)
{
    p.addOption({"csv", "Write labels to this CSV: id,path,label,original_label,changed.", "file"});
    p.addOption({"log", "Write the change log to this CSV.", "file"});
    p.addOption({"tree", "Write an ImageFolder tree with the current labels into this folder.", "dir"});
    p.addOption({"hardlink", "Hard-link files into the tree instead of copying."});
    p.addOption({"overwrite", "Replace existing CSV files and files in the tree."});
}

} // namespace traclens::cli
