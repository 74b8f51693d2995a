#include "errorhints.h"

#include "pythonhelper.h"

#include <QCoreApplication>

namespace traclens {

namespace {
QString tr(const char *s) { return QCoreApplication::translate("traclens::ErrorHints", s); }
} // namespace

FailureText describeFailure(FailureContext context, const Status &status)
{
    FailureText t;
    t.what = QString::fromStdString(status.message());
    using C = Status::Code;
    const C code = status.code();

    switch (context) {
    case FailureContext::OpenProject:
    case FailureContext::CreateProject:
        t.title = context == FailureContext::OpenProject ? tr("Could not open the project")
                                                         : tr("Could not create the project");
        if (code == C::Unsupported)
            t.advice = tr("The project was written by a newer version of TracLens. Install that version "
                          "to open it; the file has not been changed.");
        else if (code == C::Busy)
            t.advice = tr("Another TracLens is writing the project. Open it read-only to browse it and ask "
                          "influence questions, or close it there and try again.");
        else if (code == C::NotFound)
            t.advice = tr("Check that the file still exists, or choose another one.");
        else if (code == C::Corruption || code == C::InvalidArgument)
            t.advice = tr("The file is not a TracLens project (or it is damaged). Choose a .traclens file "
                          "created by TracLens; the file has not been changed.");
        else
            t.advice = tr("Check that the folder is writable and that there is free disk space.");
        break;
    case FailureContext::Import:
        t.title = tr("Could not import the dataset");
        t.advice = tr("Choose a folder with one sub-folder per class (optionally inside train/ and test/), "
                      "a CSV manifest with path,label[,split] columns, or a folder holding IDX files. "
                      "Examples already imported are kept.");
        break;
    case FailureContext::Train:
        t.title = tr("Training stopped");
        t.advice = code == C::Cancelled
            ? tr("Training was cancelled. Start it again with Project ▸ Train Model.")
            : tr("Check the dataset and the free disk space, then start training again with "
                 "Project ▸ Train Model. Your labels and reviews are kept.");
        break;
    case FailureContext::ImportModel:
        t.title = tr("Could not use the model");
        t.advice = tr("A model directory must hold traclens-model.json in the traclens-model/1 format "
                      "and every checkpoint it lists, with the project's classes. Write it from your PyTorch "
                      "training loop with the Python helper installed at %1:\n\n%2\n"
                      "Help ▸ Import a PyTorch Model says more. Or train the built-in CNN instead.")
                       .arg(pythonHelperPath(), pythonHelperSnippet());
        break;
    case FailureContext::Compute:
        t.title = tr("Computing influence stopped");
        t.advice = code == C::NotFound
            ? tr("A file the model needs is missing. Restore it, then run Project ▸ Compute Influence again; "
                 "the influence data computed so far is kept.")
            : tr("Finished parts are saved. Run Project ▸ Compute Influence again to continue "
                 "where it stopped.");
        break;
    case FailureContext::LoadEngine:
        t.title = tr("Could not load influence data");
        t.advice = tr("Run Project ▸ Compute Influence to finish the missing factors.");
        break;
    case FailureContext::Export:
        t.title = tr("Export failed");
        t.advice = code == C::InvalidArgument || code == C::IoError
            ? tr("Choose another destination, or allow overwriting existing files. Nothing was half-written.")
            : tr("Nothing was half-written; try again.");
        break;
    case FailureContext::Edit:
        t.title = tr("Could not save the change");
        t.advice = code == C::Busy          ? tr("The project is busy with background work; try again in a moment.")
                   : code == C::Unsupported ? tr("The project is open read-only. To edit it, close it in the other "
                                                 "TracLens and open it here again; the project is unchanged.")
                                            : tr("The change was not saved; the project is unchanged.");
        break;
    }
    return t;
}

} // namespace traclens
