#include "model/checkpointcheck.h"

#include <QCryptographicHash>
#include <QFile>

#include <chrono>
#include <filesystem>

namespace fs = std::filesystem;

namespace traclens {

Result<FileIdentity> readFileIdentity(const std::string &path, bool withHash)
{
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status))
        return Status::notFound(path + ": no such file");
    if (!fs::is_regular_file(status))
        return Status::invalid(path + ": not a regular file");
    FileIdentity id;
    id.size = int64_t(fs::file_size(path, ec));
    if (ec)
        return Status::ioError(path + ": cannot read its size (" + ec.message() + ")");
    const auto time = fs::last_write_time(path, ec);
    if (ec)
        return Status::ioError(path + ": cannot read its modification time (" + ec.message() + ")");
    id.mtime = int64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count());
    if (!withHash)
        return id;
    QFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::ReadOnly))
        return Status::ioError(path + ": cannot read (" + f.errorString().toStdString() + ")");
    QCryptographicHash hash(QCryptographicHash::Sha256);
    if (!hash.addData(&f))
        return Status::ioError(path + ": read error (" + f.errorString().toStdString() + ")");
    id.sha256 = hash.result().toHex().toStdString();
    return id;
}

Result<std::vector<CheckpointChange>> findChangedCheckpoints(ProjectDb &db, int64_t modelId)
{
    auto cps = db.checkpoints(modelId);
    if (!cps.ok())
        return cps.status();
    std::vector<CheckpointChange> changes;
    for (const auto &cp : *cps) {
        auto stat = readFileIdentity(cp.file, false);
        if (!stat.ok()) {
            CheckpointChange c;
            c.checkpoint = cp;
            c.vanished = stat.status().code() == Status::Code::NotFound;
            c.description = c.vanished ? cp.file + ": is missing" : stat.status().message();
            changes.push_back(std::move(c));
            continue;
        }
        if (!cp.contentHash.empty() && stat->size == cp.fileSize && stat->mtime == cp.fileMtime)
            continue;
        auto now = readFileIdentity(cp.file, true);
        if (!now.ok())
            return now.status();
        if (cp.contentHash.empty() || now->sha256 == cp.contentHash) {
            // Registered before identities were kept, or touched/copied with the same
            // content: remember what the file looks like now (a read-only open cannot).
            if (!db.isReadOnly())
                TL_RETURN_IF_ERROR(db.setCheckpointIdentity(cp.id, now->size, now->mtime, now->sha256));
            continue;
        }
        CheckpointChange c;
        c.checkpoint = cp;
        c.now = *now;
        c.description = cp.file + ": changed since it was registered (";
        if (now->size != cp.fileSize)
            c.description += "size " + std::to_string(cp.fileSize) + " → " + std::to_string(now->size) + " bytes, ";
        else
            c.description += "same size, ";
        if (now->mtime != cp.fileMtime)
            c.description += "modification time changed, ";
        c.description += "SHA-256 " + cp.contentHash.substr(0, 12) + "… → " + now->sha256.substr(0, 12) + "…)";
        changes.push_back(std::move(c));
    }
    return changes;
}

Status requireUnchangedCheckpoints(ProjectDb &db, int64_t modelId)
{
    auto changes = findChangedCheckpoints(db, modelId);
    if (!changes.ok())
        return changes.status();
    if (changes->empty())
        return Status::ok();
    std::string msg;
    bool missing = false;
    for (const auto &c : *changes) {
        msg += (msg.empty() ? "" : "; ") + c.description;
        missing = missing || c.vanished;
    }
    msg += ". The factors computed with the registered file";
    msg += changes->size() > 1 ? "s are kept" : " are kept";
    msg += missing ? "; restore the missing file to continue" : "";
    return missing ? Status::notFound(msg) : Status::invalid(msg);
}

Result<std::vector<CheckpointChange>> acceptChangedCheckpoints(ProjectDb &db, int64_t modelId)
{
    auto changes = findChangedCheckpoints(db, modelId);
    if (!changes.ok())
        return changes.status();
    for (const auto &c : *changes)
        if (c.vanished)
            return Status::notFound(c.description + "; restore it (its stored factors are kept)");
    ProjectDb::Transaction tx(db);
    TL_RETURN_IF_ERROR(tx.status());
    for (const auto &c : *changes) {
        if (c.now.sha256.empty()) // an unreadable file: nothing to accept
            return Status::ioError(c.description);
        TL_RETURN_IF_ERROR(db.dropCheckpointFactors(c.checkpoint.id));
        TL_RETURN_IF_ERROR(db.setCheckpointIdentity(c.checkpoint.id, c.now.size, c.now.mtime, c.now.sha256));
    }
    TL_RETURN_IF_ERROR(tx.commit());
    return std::move(changes).value();
}

} // namespace traclens
