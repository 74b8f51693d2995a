#pragma once
// The weak-model warning (core/influence/flagging.h) for the session's model, as HTML-escaped lines
// for the Report page and the review queue's header. Empty without a model or when the
// project cannot be read (the pages show their own errors).

#include "influence/flagging.h"
#include "projectsession.h"

#include <QStringList>

namespace traclens {

inline QStringList modelWarnings(ProjectSession &session)
{
    QStringList out;
    if (!session.modelId())
        return out;
    auto fitness = modelFitness(session.db(), *session.modelId());
    if (!fitness.ok())
        return out;
    for (const std::string &problem : modelWeaknesses(*fitness))
        out << QString::fromStdString(problem).toHtmlEscaped();
    return out;
}

} // namespace traclens
