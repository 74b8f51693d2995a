#include "model/modeltrust.h"

#include "model/checkpointcheck.h"
#include "model/modelspec.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QMessageAuthenticationCode>
#include <QRandomGenerator>
#include <QSaveFile>
#include <QStandardPaths>

#include <filesystem>

namespace fs = std::filesystem;

namespace traclens {

namespace {

QString keyPath()
{
    return QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation) + "/traclens/trust-key";
}

// The user's key, or an empty array when there is none and `create` is false.
Result<QByteArray> trustKey(bool create)
{
    const QString path = keyPath();
    QFile f(path);
    if (f.open(QIODevice::ReadOnly)) {
        const QByteArray key = QByteArray::fromHex(f.readAll().trimmed());
        if (key.size() >= 16)
            return key;
        if (!create)
            return QByteArray();
    } else if (!create) {
        return QByteArray();
    }
    QByteArray key(32, '\0');
    QRandomGenerator::system()->generate(reinterpret_cast<quint32 *>(key.data()),
                                         reinterpret_cast<quint32 *>(key.data() + key.size()));
    if (!QDir().mkpath(QFileInfo(path).absolutePath()))
        return Status::ioError(path.toStdString() + ": cannot create the folder for the model trust key");
    QSaveFile out(path);
    if (!out.open(QIODevice::WriteOnly))
        return Status::ioError(path.toStdString() + ": cannot write the model trust key ("
                               + out.errorString().toStdString() + ")");
    out.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    out.write(key.toHex() + "\n");
    if (!out.commit())
        return Status::ioError(path.toStdString() + ": cannot write the model trust key ("
                               + out.errorString().toStdString() + ")");
    return key;
}

std::string canonical(const std::string &path)
{
    std::error_code ec;
    fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
    if (ec)
        p = fs::absolute(path, ec).lexically_normal();
    std::string s = p.string();
    while (s.size() > 1 && s.back() == '/')
        s.pop_back();
    return s;
}

std::string token(const QByteArray &key, const std::string &directory, const std::string &manifestHash)
{
    const QByteArray message = QByteArray::fromStdString(directory + "\n" + manifestHash);
    return QMessageAuthenticationCode::hash(message, key, QCryptographicHash::Sha256).toHex().toStdString();
}

Result<std::string> manifestHash(const std::string &directory)
{
    auto id = readFileIdentity((fs::path(directory) / kModelManifestName).string(), true);
    if (!id.ok())
        return id.status();
    return id->sha256;
}

} // namespace

bool isInsideDirectory(const std::string &path, const std::string &directory)
{
    const fs::path rel = fs::path(canonical(path)).lexically_relative(canonical(directory));
    return !rel.empty() && *rel.begin() != "..";
}

Result<bool> isModelDirectoryTrusted(ProjectDb &db, const std::string &modelDirectory)
{
    if (isInsideDirectory(modelDirectory, db.sideDirectory()))
        return true;
    const std::string dir = canonical(modelDirectory);
    auto record = db.trustedModelDir(dir);
    if (!record.ok())
        return record.status();
    if (!record->has_value())
        return false;
    auto hash = manifestHash(dir);
    if (!hash.ok()) // no manifest: nothing to trust; the load names the problem
        return false;
    if (*hash != (*record)->manifestHash)
        return false;
    auto key = trustKey(false);
    if (!key.ok())
        return key.status();
    return !key->isEmpty() && token(*key, dir, *hash) == (*record)->token;
}

Result<bool> isModelTrusted(ProjectDb &db, int64_t modelId)
{
    auto model = db.model(modelId);
    if (!model.ok())
        return model.status();
    return isModelDirectoryTrusted(db, model->directory);
}

Result<std::optional<std::string>> untrustedModelDirectory(ProjectDb &db, int64_t modelId)
{
    auto model = db.model(modelId);
    if (!model.ok())
        return model.status();
    auto trusted = isModelDirectoryTrusted(db, model->directory);
    if (!trusted.ok())
        return trusted.status();
    return *trusted ? std::optional<std::string>() : std::optional<std::string>(model->directory);
}

Status requireTrustedModel(ProjectDb &db, int64_t modelId)
{
    auto dir = untrustedModelDirectory(db, modelId);
    if (!dir.ok())
        return dir.status();
    if (!dir->has_value())
        return Status::ok();
    const std::string real = canonical(**dir);
    const std::string named = real == **dir ? real : **dir + " (a link to " + real + ")";
    return Status::invalid(named + ": this project runs the model in this directory, which is outside the project ("
                           + db.sideDirectory()
                           + "). TorchScript models are programs, so TracLens runs one from outside the project "
                             "only after you trust its directory; nothing was run");
}

Status trustModelDirectory(ProjectDb &db, const std::string &modelDirectory)
{
    if (isInsideDirectory(modelDirectory, db.sideDirectory()))
        return Status::ok();
    const std::string dir = canonical(modelDirectory);
    auto hash = manifestHash(dir);
    if (!hash.ok())
        return hash.status();
    auto key = trustKey(true);
    if (!key.ok())
        return key.status();
    TrustedModelDir record;
    record.directory = dir;
    record.manifestHash = *hash;
    record.token = token(*key, dir, *hash);
    return db.addTrustedModelDir(record);
}

Status trustModel(ProjectDb &db, int64_t modelId)
{
    auto model = db.model(modelId);
    if (!model.ok())
        return model.status();
    return trustModelDirectory(db, model->directory);
}

} // namespace traclens
