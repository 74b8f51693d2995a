#pragma once
// May TracLens run a model's files? TorchScript checkpoints are programs: loading one runs
// code its author wrote, with the user's rights. A project file can name any directory as
// a model, so opening a project from someone else must not run a model from elsewhere on
// the disk without the user's say.
//
// The rule: a model whose directory lies inside the project's side directory
// ("<project>.d", where TracLens trains its own models) is trusted with the project. Any
// other directory needs a trust record in the project: the directory's canonical path,
// the SHA-256 of its traclens-model.json at the time, and a token, HMAC-SHA-256 over both
// with a key kept in the user's configuration folder ($XDG_CONFIG_HOME/traclens/trust-key,
// created on first use, readable by the user only). A record whose token does not verify
// (written for another user, copied from another project's sender, or for a manifest that
// has changed since) does not count, so a shared project cannot declare its own trust.
// Paths are compared after resolving symbolic links, so a link inside the project that
// points elsewhere is "elsewhere".
//
// Who records trust: the user importing a model directory (they chose it), the command
// line's --trust-model, the app's "Trust and run" answer.
//
// Thread safety: call from the thread that owns `db`. The key file is created atomically.
// Failure: values. requireTrustedModel's message names the directory.

#include "store/projectdb.h"

#include <optional>
#include <string>

namespace traclens {

// Whether `path` is `directory` or lies below it, after resolving symbolic links.
bool isInsideDirectory(const std::string &path, const std::string &directory);

// Whether the model directory may run for this project (see above). Reads the manifest.
Result<bool> isModelDirectoryTrusted(ProjectDb &db, const std::string &modelDirectory);
Result<bool> isModelTrusted(ProjectDb &db, int64_t modelId);

// Ok when the model is trusted; else InvalidArgument: "<dir>: the model is outside the
// project; TorchScript models are programs …; trust the directory to run it".
Status requireTrustedModel(ProjectDb &db, int64_t modelId);

// Records trust for the directory (no-op inside the project). Needs a writable project;
// creates the user's key when there is none.
Status trustModelDirectory(ProjectDb &db, const std::string &modelDirectory);
Status trustModel(ProjectDb &db, int64_t modelId);

// The directory of the model when it is not trusted, else nullopt.
Result<std::optional<std::string>> untrustedModelDirectory(ProjectDb &db, int64_t modelId);

} // namespace traclens
