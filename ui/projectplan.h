#pragma once
// What a project should end up holding: the dataset to import and how to get a model.
// The new-project dialog (and --demo) writes the plan into the project file (meta
// "ui.plan") so that a later start can finish whatever was left unfinished.
//
// Thread safety: a value type.

#include "trainer.h"

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

    QByteArray toJson() const;
    static ProjectPlan fromJson(const QByteArray &json);

    // Reads / writes meta "ui.plan". A project without a plan yields a default one.
    static ProjectPlan load(ProjectDb &db);
    Status save(ProjectDb &db) const;
};

} // namespace traclens

Q_DECLARE_METATYPE(traclens::ProjectPlan)
