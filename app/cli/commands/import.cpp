// traclens-cli import: a dataset into a project (created when missing); a re-import updates it.

#include "commands.h"
#include "common.h"

#include "store/importer.h"
#include "store/projectdb.h"

#include <QJsonArray>
#include <QJsonObject>

#include <cstdio>

namespace traclens::cli {

int cmdImport(Context &c)
{
    if (c.positional.size() != 2)
        return usage("import: expected <project> <dataset>");
    auto db = openProject(c.positional[0], ProjectDb::OpenMode::Create);
    if (!db.ok())
        return fail(db.status());
    auto summary = importDataset(**db, c.positional[1].toStdString(), progressPrinter(c.quiet), &g_cancel);
    if (!summary.ok())
        return fail(summary.status());
    if (c.json) {
        QJsonArray skipped;
        for (const auto &s : summary->skipped)
            skipped.append(QJsonObject{{"path", q(s.path)}, {"reason", q(s.reason)}});
        QJsonArray classes;
        for (const auto &n : summary->classes)
            classes.append(q(n));
        printJson({{"added", qint64(summary->added)}, {"updated", qint64(summary->updated)},
                   {"unchanged", qint64(summary->unchanged)}, {"removed", qint64(summary->removed)},
                   {"train", qint64(summary->train)}, {"test", qint64(summary->test)}, {"classes", classes},
                   {"skipped", skipped}});
    } else {
        std::printf("%s", summary->toString().c_str());
    }
    return ExitOk;
}

} // namespace traclens::cli
