#pragma once
// What a project should end up holding: the dataset to import and how to get a model.
// The new-project dialog (and --demo) writes the plan into the project file (meta
// "ui.plan") so that a later start can finish whatever was left unfinished.
//
// Thread safety: a value type.

#include "model/trainer.h"

#include <QMetaType>
#include <QString>

namespace traclens {

class ProjectDb;

struct ProjectPlan {
    enum class ModelSource { None, TrainBuiltin, ImportDirectory };

    QString datasetPath;               // empty: never import
    ModelSource modelSource = ModelSource::None;
    TrainConfig train;                 // for TrainBuiltin
    QString modelName = QStringLiteral("builtin-cnn");
    QString modelDirectory;            // for ImportDirectory
    // For ImportDirectory: copy the model into "<project>.d/models/<name>" and register
    // the copy (ModelImportOptions::copyIntoProject, core/model/trainjob.h). The New Project
    // dialog ticks it by default; plans saved before the option existed import by
    // reference, as they did.
    bool copyModelIntoProject = false;

    QByteArray toJson() const;
    static ProjectPlan fromJson(const QByteArray &json);

    // Reads / writes meta "ui.plan". A project without a plan yields a default one.
    static ProjectPlan load(ProjectDb &db);
    Status save(ProjectDb &db) const;
};

} // namespace traclens

Q_DECLARE_METATYPE(traclens::ProjectPlan)
