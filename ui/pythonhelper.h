#pragma once
// Where the Python helper for writing importable PyTorch checkpoints (traclens_model.py,
// format traclens-model/1) is on this machine, and the few lines a training loop needs.
// The one place the model-import error hint and Help ▸ Import a PyTorch Model read it from.
//
// Thread safety: plain functions, any thread.

#include <QString>

namespace traclens {

// The installed traclens_model.py: beside the program (<bin>/../share/traclens/python),
// then the install prefix it was built for, then — running from the build directory —
// the source tree's resources/python. The installed path when none exists.
QString pythonHelperPath();

// The lines to add to a PyTorch training loop, as plain text.
QString pythonHelperSnippet();

// The Help page: where the helper is, the model contract in short, and the snippet.
QString pythonHelperHtml();

} // namespace traclens
