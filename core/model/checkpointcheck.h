#pragma once
// Is a checkpoint file still the one its factors were computed with?
//
// Every checkpoint is registered with its file's size, modification time and SHA-256.
// Before a model runs, its files are compared with that identity: size and time first
// (a stat, so an unchanged project costs no reading), the hash only when they differ
// (a copy or a touch keeps the content, and then only the stored time is refreshed).
// A file whose content differs, or that is gone, is refused: factors computed with the
// old file would otherwise be mixed with new ones. The stored factors are kept until the
// person confirms that the new file is meant (acceptChangedCheckpoints).
//
// Why SHA-256 rather than a 64-bit hash: it is read only at registration and when size
// or time changed (about a second per 100 MB on one core), and unlike a fast 64-bit hash
// it cannot be steered to a collision, which matters for files that are programs
// (see modeltrust.h).
//
// Thread safety: call from the thread that owns `db`.
// Failure: values; messages name the checkpoint file and what changed.

#include "store/projectdb.h"

#include <string>
#include <vector>

namespace traclens {

struct FileIdentity {
    int64_t size = -1;
    int64_t mtime = -1;      // file-clock ticks; compared only for equality
    std::string sha256;      // lowercase hex; empty when not read
};

// Size and time of `path`, and its SHA-256 when `withHash`. NotFound when missing.
Result<FileIdentity> readFileIdentity(const std::string &path, bool withHash = true);

struct CheckpointChange {
    CheckpointRow checkpoint; // as registered
    bool vanished = false;
    FileIdentity now;         // the file as it is (not read when vanished)
    std::string description;  // "<file>: is missing" / "<file>: changed (size 10 → 12 bytes, …)"
};

// The checkpoints of a model whose file is gone or holds other content than registered.
// Side effects on a writable project: registers the identity of checkpoints that have
// none yet (projects from before schema 3) and refreshes the stored size and time of a
// file whose content is unchanged.
Result<std::vector<CheckpointChange>> findChangedCheckpoints(ProjectDb &db, int64_t modelId);

// Ok when no checkpoint of the model changed; else InvalidArgument naming every changed
// or missing file and saying that the stored factors were kept.
Status requireUnchangedCheckpoints(ProjectDb &db, int64_t modelId);

// The person confirmed the new files: for every changed checkpoint, drop its factors (and
// the model's self-influence) and register the new file's identity, so compute recomputes
// exactly those. Factors of unchanged checkpoints stay. A missing file cannot be
// accepted: NotFound naming it, and nothing is changed. Returns the checkpoints accepted.
Result<std::vector<CheckpointChange>> acceptChangedCheckpoints(ProjectDb &db, int64_t modelId);

} // namespace traclens
