#pragma once
// Turns an engine failure into text for a dialog: what went wrong (the engine's message,
// which names the file) and what the person can do about it.
//
// Thread safety: reentrant free functions.

#include "util/status.h"

#include <QString>

namespace traclens {

// Where the failure happened; chooses the advice.
enum class FailureContext { OpenProject, CreateProject, Import, Train, ImportModel, Compute, LoadEngine, Export, Edit };

struct FailureText {
    QString title;   // short: "Could not open the project"
    QString what;    // the engine's message
    QString advice;  // what to do; says that finished work is kept where that is true
};

FailureText describeFailure(FailureContext context, const Status &status);

} // namespace traclens
