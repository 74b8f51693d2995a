// traclens-cli import-model: register a traclens-model/1 directory (TorchScript checkpoints).

#include "commands.h"
#include "common.h"

#include "model/trainjob.h"

#include <cstdio>

namespace traclens::cli {

int cmdImportModel(Context &c)
{
    if (c.positional.size() != 2)
        return usage("import-model: expected <project> <model directory>");
    auto db = openProject(c.positional[0]);
    if (!db.ok())
        return fail(db.status());
    ModelImportOptions options;
    options.copyIntoProject = c.parser.isSet("copy");
    auto id = importModel(**db, c.positional[1].toStdString(), progressPrinter(c.quiet), options);
    if (!id.ok())
        return fail(id.status());
    auto row = (*db)->model(*id);
    if (!row.ok())
        return fail(row.status());
    if (c.json)
        printJson({{"model", qint64(*id)}, {"directory", q(row->directory)}, {"copied", options.copyIntoProject}});
    else
        std::printf("model %lld imported and active%s: %s\n", (long long)*id,
                    options.copyIntoProject ? ", copied into the project" : "", row->directory.c_str());
    return ExitOk;
}

void importModelOptions(CommandOptions &p)
{
    p.addOption({"copy", "Copy the model (its traclens-model.json and the checkpoint files it lists) into "
                         "<project>.d/models, so the project keeps working when the original folder is "
                         "moved or deleted. Without it the project refers to the folder where it is."});
}

} // namespace traclens::cli
