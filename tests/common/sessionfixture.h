#pragma once
// For UI tests: opens a ProjectSession on a computed TestProject and gives it its
// InfluenceIndex, loaded synchronously (the application loads it on the worker); or builds
// the TestProject first.
// Header-only because it needs the ui library, which engine tests do not link.

#include "influence/influenceindex.h"
#include "projectsession.h"
#include "testproject.h"

#include <QString>

#include <memory>

namespace traclens::testing {

inline std::unique_ptr<ProjectSession> openSessionWithEngine(const std::string &projectPath, std::string *error)
{
    auto session = ProjectSession::open(QString::fromStdString(projectPath));
    if (!session.ok()) {
        *error = session.status().message();
        return nullptr;
    }
    auto model = session.value()->modelId();
    if (!model) {
        *error = "no active model";
        return nullptr;
    }
    auto engine = InfluenceIndex::open(session.value()->db(), *model, IndexOptions::serving());
    if (!engine.ok()) {
        *error = engine.status().message();
        return nullptr;
    }
    session.value()->setEngine(std::shared_ptr<InfluenceIndex>(std::move(engine).value()));
    return std::move(session).value();
}

// Builds `fixture` (TestProject::build()) and opens a session on it as above; null, with
// `error` naming what failed, when either fails.
inline std::unique_ptr<ProjectSession> buildAndOpenSession(TestProject &fixture, std::string *error)
{
    const Status built = fixture.build();
    if (!built.isOk()) {
        *error = built.message();
        return nullptr;
    }
    return openSessionWithEngine(fixture.projectPath(), error);
}

} // namespace traclens::testing
