#include "model/modelspec.h"

#include "util/filereader.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QSaveFile>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cmath>
#include <set>

namespace traclens {

namespace {

std::string toStd(const QString &s) { return s.toStdString(); }
QString toQ(const std::string &s) { return QString::fromStdString(s); }

// Every reader error goes through here so each message starts with the manifest's path.
class ManifestErrors {
public:
    explicit ManifestErrors(std::string path) : m_path(std::move(path)) {}
    Status invalid(const std::string &what) const { return Status::invalid(m_path + ": " + what); }
    Status notFound(const std::string &what) const { return Status::notFound(m_path + ": " + what); }
    Status unsupported(const std::string &what) const { return Status::unsupported(m_path + ": " + what); }

private:
    std::string m_path;
};

// JSON numbers are doubles; an integer field must hold a whole number in int range.
bool toInt(const QJsonValue &v, int *out)
{
    if (!v.isDouble())
        return false;
    const double d = v.toDouble();
    if (!std::isfinite(d) || d != std::floor(d) || d < -2147483648.0 || d > 2147483647.0)
        return false;
    *out = int(d);
    return true;
}

Status readFloatArray(const QJsonObject &input, const char *key, int channels, const ManifestErrors &err,
                      std::vector<float> *out)
{
    const std::string field = std::string("input.") + key;
    const QJsonValue v = input.value(QLatin1String(key));
    if (v.isUndefined())
        return err.invalid(field + " is missing");
    if (!v.isArray())
        return err.invalid(field + " must be an array of " + std::to_string(channels) + " numbers");
    const QJsonArray a = v.toArray();
    if (a.size() != channels)
        return err.invalid(field + " has " + std::to_string(a.size()) + " values but input.channels is " +
                           std::to_string(channels));
    out->clear();
    for (qsizetype i = 0; i < a.size(); ++i) {
        if (!a[i].isDouble() || !std::isfinite(a[i].toDouble()))
            return err.invalid(field + "[" + std::to_string(i) + "] must be a number");
        out->push_back(float(a[i].toDouble()));
    }
    return Status::ok();
}

// Sizes in a recipe: whole numbers from 1 to this. Larger ones are typos; a 16384² image
// would already take 768 MiB.
constexpr int kMaxTransformSize = 16384;

// A JSON array of 1 or `maxCount` whole numbers in 1..kMaxTransformSize.
Status readSizeArray(const QJsonObject &o, const std::string &field, int maxCount, const ManifestErrors &err,
                     std::vector<int> *out)
{
    const QJsonValue v = o.value(QLatin1String("size"));
    const std::string what = maxCount == 2 ? "an array of 1 or 2 whole numbers ([size] or [height, width])"
                                           : "an array of 1 whole number";
    if (v.isUndefined())
        return err.invalid(field + " is missing");
    if (!v.isArray() || v.toArray().isEmpty() || v.toArray().size() > maxCount)
        return err.invalid(field + " must be " + what);
    const QJsonArray a = v.toArray();
    out->clear();
    for (qsizetype i = 0; i < a.size(); ++i) {
        int value = 0;
        if (!toInt(a[i], &value) || value <= 0 || value > kMaxTransformSize)
            return err.invalid(field + "[" + std::to_string(i) + "] must be a whole number between 1 and " +
                               std::to_string(kMaxTransformSize));
        out->push_back(value);
    }
    return Status::ok();
}

Status readTransform(const QJsonValue &v, const std::string &at, const ManifestErrors &err, ImageTransform *t)
{
    if (!v.isObject())
        return err.invalid(at + " must be an object with an \"op\"");
    const QJsonObject o = v.toObject();
    const QJsonValue op = o.value(QLatin1String("op"));
    if (op.isUndefined())
        return err.invalid(at + ".op is missing");
    if (!op.isString())
        return err.invalid(at + ".op must be a string");
    const std::string name = toStd(op.toString());
    std::vector<const char *> allowed{"op"};
    if (name == "resize") {
        t->op = ImageTransform::Op::Resize;
        allowed.insert(allowed.end(), {"size", "interpolation", "max_size"});
        TL_RETURN_IF_ERROR(readSizeArray(o, at + ".size", 2, err, &t->size));
        const QJsonValue interp = o.value(QLatin1String("interpolation"));
        if (!interp.isUndefined()) {
            const QString mode = interp.isString() ? interp.toString() : QString();
            if (mode == QLatin1String("bilinear"))
                t->interpolation = ResampleFilter::Bilinear;
            else if (mode == QLatin1String("bicubic"))
                t->interpolation = ResampleFilter::Bicubic;
            else if (mode == QLatin1String("nearest"))
                t->interpolation = ResampleFilter::Nearest;
            else
                return err.invalid(at + ".interpolation must be \"bilinear\", \"bicubic\" or \"nearest\"");
        }
        const QJsonValue maxSize = o.value(QLatin1String("max_size"));
        if (!maxSize.isUndefined() && !maxSize.isNull()) {
            // torchvision refuses these combinations when the transform is built.
            if (t->size.size() != 1)
                return err.invalid(at + ".max_size is only allowed with a one-number size (the shorter side)");
            if (!toInt(maxSize, &t->maxSize) || t->maxSize <= 0 || t->maxSize > kMaxTransformSize)
                return err.invalid(at + ".max_size must be a whole number between 1 and " +
                                   std::to_string(kMaxTransformSize));
            if (t->maxSize <= t->size[0])
                return err.invalid(at + ".max_size (" + std::to_string(t->maxSize) +
                                   ") must be greater than size[0] (" + std::to_string(t->size[0]) + ")");
        }
    } else if (name == "center_crop") {
        t->op = ImageTransform::Op::CenterCrop;
        allowed.push_back("size");
        TL_RETURN_IF_ERROR(readSizeArray(o, at + ".size", 2, err, &t->size));
        if (t->size.size() == 1)
            t->size.push_back(t->size[0]); // torchvision: a square crop
    } else if (name == "grayscale") {
        t->op = ImageTransform::Op::Grayscale;
        allowed.push_back("channels");
        const QJsonValue channels = o.value(QLatin1String("channels"));
        if (channels.isUndefined())
            return err.invalid(at + ".channels is missing");
        if (!toInt(channels, &t->channels) || (t->channels != 1 && t->channels != 3))
            return err.invalid(at + ".channels must be 1 or 3");
    } else {
        return err.unsupported(at + ".op '" + name +
                               "' is not supported (only resize, center_crop and grayscale)");
    }
    // An option TracLens does not reproduce (antialias, fill, ...) would silently change
    // the pixels, so unknown keys are refused rather than ignored.
    for (auto it = o.begin(); it != o.end(); ++it) {
        const std::string key = toStd(it.key());
        if (std::none_of(allowed.begin(), allowed.end(), [&](const char *k) { return key == k; }))
            return err.invalid(at + "." + key + " is not supported for op '" + name + "'");
    }
    return Status::ok();
}

// The channels and, when the recipe fixes it, the size it produces must be the model's;
// otherwise every image would fail later, one by one.
Status checkTransformsOutput(const InputSpec &input, const ManifestErrors &err)
{
    int channels = 3; // ImageFolder's loader converts to RGB
    int height = 0, width = 0; // 0: depends on the image
    for (const ImageTransform &t : *input.transforms) {
        if (t.op == ImageTransform::Op::Grayscale) {
            channels = t.channels;
        } else if (t.op == ImageTransform::Op::CenterCrop || t.size.size() == 2) {
            height = t.size[0];
            width = t.size[1];
        } else {
            height = width = 0;
        }
    }
    if (channels != input.channels)
        return err.invalid("input.transforms produce " + std::to_string(channels) +
                           "-channel images but input.channels is " + std::to_string(input.channels) +
                           (channels == 3 ? " (add {\"op\": \"grayscale\", \"channels\": 1})" : ""));
    if (height > 0 && (height != input.height || width != input.width))
        return err.invalid("input.transforms produce " + std::to_string(height) + "×" + std::to_string(width) +
                           " images but input.height×width is " + std::to_string(input.height) + "×" +
                           std::to_string(input.width));
    return Status::ok();
}

Status readTransforms(const QJsonObject &in, const ManifestErrors &err, InputSpec *input)
{
    const QJsonValue v = in.value(QLatin1String("transforms"));
    if (v.isUndefined() || v.isNull()) {
        input->transforms.reset();
        return Status::ok();
    }
    if (!v.isArray())
        return err.invalid("input.transforms must be an array of transform objects");
    const QJsonArray a = v.toArray();
    std::vector<ImageTransform> transforms;
    for (qsizetype i = 0; i < a.size(); ++i) {
        ImageTransform t;
        TL_RETURN_IF_ERROR(readTransform(a[i], "input.transforms[" + std::to_string(i) + "]", err, &t));
        transforms.push_back(std::move(t));
    }
    input->transforms = std::move(transforms);
    return checkTransformsOutput(*input, err);
}

Status readInput(const QJsonObject &root, const ManifestErrors &err, InputSpec *input)
{
    const QJsonValue v = root.value(QLatin1String("input"));
    if (v.isUndefined())
        return err.invalid("input is missing");
    if (!v.isObject())
        return err.invalid("input must be an object");
    const QJsonObject in = v.toObject();

    if (!toInt(in.value(QLatin1String("channels")), &input->channels) ||
        (input->channels != 1 && input->channels != 3))
        return err.invalid("input.channels must be 1 or 3");
    // The cap keeps a typo from asking for a multi-gigabyte batch; 4096² is far beyond
    // anything TracIn on CPU is practical for.
    for (auto [key, dst] : {std::pair<const char *, int *>{"height", &input->height}, {"width", &input->width}}) {
        int value = 0;
        if (!toInt(in.value(QLatin1String(key)), &value) || value <= 0 || value > 4096)
            return err.invalid(std::string("input.") + key + " must be a whole number between 1 and 4096");
        *dst = value;
    }
    TL_RETURN_IF_ERROR(readFloatArray(in, "mean", input->channels, err, &input->mean));
    TL_RETURN_IF_ERROR(readFloatArray(in, "std", input->channels, err, &input->std));
    for (size_t c = 0; c < input->std.size(); ++c) {
        if (!(input->std[c] > 0.0f))
            return err.invalid("input.std[" + std::to_string(c) + "] must be greater than 0");
    }
    return readTransforms(in, err, input);
}

Status readClasses(const QJsonObject &root, const ManifestErrors &err, std::vector<std::string> *classes)
{
    const QJsonValue v = root.value(QLatin1String("classes"));
    if (v.isUndefined())
        return err.invalid("classes is missing");
    if (!v.isArray())
        return err.invalid("classes must be an array of strings");
    const QJsonArray a = v.toArray();
    if (a.size() < 2)
        return err.invalid("classes must list at least 2 classes");
    std::set<std::string> seen;
    for (qsizetype i = 0; i < a.size(); ++i) {
        const std::string index = "classes[" + std::to_string(i) + "]";
        if (!a[i].isString())
            return err.invalid(index + " must be a string");
        std::string name = toStd(a[i].toString());
        if (name.empty())
            return err.invalid(index + " is empty");
        if (!seen.insert(name).second)
            return err.invalid(index + " repeats the class '" + name + "'");
        classes->push_back(std::move(name));
    }
    return Status::ok();
}

Status readCheckpoints(const QJsonObject &root, const QDir &dir, const ManifestErrors &err,
                       std::vector<CheckpointSpec> *checkpoints)
{
    const QJsonValue v = root.value(QLatin1String("checkpoints"));
    if (v.isUndefined())
        return err.invalid("checkpoints is missing");
    if (!v.isArray())
        return err.invalid("checkpoints must be an array");
    const QJsonArray a = v.toArray();
    if (a.isEmpty())
        return err.invalid("checkpoints is empty; TracIn needs at least one checkpoint");
    for (qsizetype i = 0; i < a.size(); ++i) {
        const std::string index = "checkpoints[" + std::to_string(i) + "]";
        if (!a[i].isObject())
            return err.invalid(index + " must be an object with file and learning_rate");
        const QJsonObject c = a[i].toObject();
        CheckpointSpec ckpt;

        const QJsonValue file = c.value(QLatin1String("file"));
        if (file.isUndefined())
            return err.invalid(index + ".file is missing");
        if (!file.isString() || file.toString().isEmpty())
            return err.invalid(index + ".file must be a non-empty string");
        // Relative paths keep a model directory movable; an absolute path would break
        // the moment the directory is copied to another machine.
        if (QDir::isAbsolutePath(file.toString()))
            return err.invalid(index + ".file must be relative to the model directory, not '" +
                               toStd(file.toString()) + "'");
        ckpt.file = toStd(file.toString());

        const QJsonValue lr = c.value(QLatin1String("learning_rate"));
        if (lr.isUndefined())
            return err.invalid(index + ".learning_rate is missing");
        if (!lr.isDouble() || !std::isfinite(lr.toDouble()) || lr.toDouble() <= 0.0)
            return err.invalid(index + ".learning_rate must be a positive number");
        ckpt.learningRate = lr.toDouble();

        const QFileInfo info(dir.filePath(file.toString()));
        if (!info.exists())
            return err.notFound(index + ".file: checkpoint '" + ckpt.file + "' does not exist");
        if (!info.isFile())
            return err.invalid(index + ".file: checkpoint '" + ckpt.file + "' is not a regular file");
        checkpoints->push_back(std::move(ckpt));
    }
    return Status::ok();
}

Status readArchitecture(const QJsonObject &root, const ManifestErrors &err, ModelSpec *spec)
{
    const QJsonValue v = root.value(QLatin1String("architecture"));
    if (v.isUndefined() || v.isNull())
        return Status::ok(); // TorchScript
    if (!v.isObject())
        return err.invalid("architecture must be an object");
    const QJsonObject a = v.toObject();
    const QJsonValue type = a.value(QLatin1String("type"));
    if (!type.isString())
        return err.invalid("architecture.type must be a string");
    if (!isBuiltinArchitecture(toStd(type.toString())))
        return err.unsupported("architecture.type '" + toStd(type.toString()) + "' is not known (only '" +
                               kBuiltinCnnArchitecture + "', '" + kBuiltinBnCnnArchitecture + "' and '" +
                               kBuiltinVggArchitecture + "')");
    spec->architecture = toStd(type.toString());
    // Defaults are TrainConfig's, so a hand-written manifest may omit them.
    const bool bn = spec->architecture != kBuiltinCnnArchitecture;
    spec->width = bn ? 32 : 16;
    spec->embeddingDim = bn ? 256 : 64;
    const QJsonValue width = a.value(QLatin1String("width"));
    if (!width.isUndefined() && (!toInt(width, &spec->width) || spec->width <= 0 || spec->width > 1024))
        return err.invalid("architecture.width must be a whole number between 1 and 1024");
    const QJsonValue dim = a.value(QLatin1String("embedding_dim"));
    if (!dim.isUndefined() &&
        (!toInt(dim, &spec->embeddingDim) || spec->embeddingDim <= 0 || spec->embeddingDim > 65536))
        return err.invalid("architecture.embedding_dim must be a whole number between 1 and 65536");
    return Status::ok();
}

// Floats such as 0.1307f widened to double print as 0.13070000708...; going through
// the float's shortest decimal form writes what the author meant.
QJsonValue floatValue(float f)
{
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, f);
    return QJsonValue(std::strtod(std::string(buf, r.ptr).c_str(), nullptr));
}

QJsonObject transformJson(const ImageTransform &t)
{
    QJsonObject o;
    QJsonArray size;
    for (int v : t.size)
        size.append(v);
    switch (t.op) {
    case ImageTransform::Op::Resize:
        o.insert(QLatin1String("op"), QLatin1String("resize"));
        o.insert(QLatin1String("size"), size);
        o.insert(QLatin1String("interpolation"),
                 QLatin1String(t.interpolation == ResampleFilter::Bicubic  ? "bicubic"
                               : t.interpolation == ResampleFilter::Nearest ? "nearest"
                                                                            : "bilinear"));
        if (t.maxSize > 0)
            o.insert(QLatin1String("max_size"), t.maxSize);
        break;
    case ImageTransform::Op::CenterCrop:
        o.insert(QLatin1String("op"), QLatin1String("center_crop"));
        o.insert(QLatin1String("size"), size);
        break;
    case ImageTransform::Op::Grayscale:
        o.insert(QLatin1String("op"), QLatin1String("grayscale"));
        o.insert(QLatin1String("channels"), t.channels);
        break;
    }
    return o;
}

} // namespace

std::string ModelSpec::checkpointPath(size_t i) const
{
    if (i >= checkpoints.size())
        return {};
    return toStd(QDir(toQ(directory)).filePath(toQ(checkpoints[i].file)));
}

Result<ModelSpec> readModelSpec(const std::string &directory)
{
    const QDir dir(QFileInfo(toQ(directory)).absoluteFilePath());
    const QString path = dir.filePath(QLatin1String(kModelManifestName));
    const ManifestErrors err(toStd(path));

    if (!QFileInfo::exists(path))
        return err.notFound(QFileInfo(toQ(directory)).isDir() ? "no such file"
                                                              : "no such file (the model directory does not exist)");
    // Manifests are a few kB; anything huge is not a manifest and must not be slurped.
    Result<std::string> bytes = readFileCapped(toStd(path), kMaxJsonFileBytes, "a model manifest");
    if (!bytes.ok())
        return bytes.status();
    return parseModelSpec(*bytes, directory);
}

Result<ModelSpec> parseModelSpec(std::string_view json, const std::string &directory)
{
    const QDir dir(QFileInfo(toQ(directory)).absoluteFilePath());
    const QString path = dir.filePath(QLatin1String(kModelManifestName));
    const ManifestErrors err(toStd(path));
    const QByteArray bytes = QByteArray::fromRawData(json.data(), qsizetype(json.size()));

    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return err.invalid("invalid JSON at offset " + std::to_string(parseError.offset) + ": " +
                           toStd(parseError.errorString()));
    if (!doc.isObject())
        return err.invalid("the top level must be a JSON object");
    const QJsonObject root = doc.object();

    const QJsonValue format = root.value(QLatin1String("format"));
    if (format.isUndefined())
        return err.invalid(std::string("format is missing (expected \"") + kModelFormat + "\")");
    if (!format.isString())
        return err.invalid("format must be a string");
    if (format.toString() != QLatin1String(kModelFormat))
        return err.unsupported("format '" + toStd(format.toString()) + "' is not supported (expected '" +
                               kModelFormat + "')");

    ModelSpec spec;
    spec.directory = toStd(dir.absolutePath());
    TL_RETURN_IF_ERROR(readClasses(root, err, &spec.classes));
    TL_RETURN_IF_ERROR(readInput(root, err, &spec.input));
    TL_RETURN_IF_ERROR(readArchitecture(root, err, &spec));
    TL_RETURN_IF_ERROR(readCheckpoints(root, dir, err, &spec.checkpoints));
    return spec;
}

Status writeModelSpec(const ModelSpec &spec)
{
    if (spec.directory.empty())
        return Status::invalid("writeModelSpec: the model directory is not set");
    const QString path = QDir(toQ(spec.directory)).filePath(QLatin1String(kModelManifestName));

    QJsonObject root;
    root.insert(QLatin1String("format"), QLatin1String(kModelFormat));
    QJsonArray classes;
    for (const std::string &c : spec.classes)
        classes.append(toQ(c));
    root.insert(QLatin1String("classes"), classes);

    QJsonObject input;
    input.insert(QLatin1String("channels"), spec.input.channels);
    input.insert(QLatin1String("height"), spec.input.height);
    input.insert(QLatin1String("width"), spec.input.width);
    QJsonArray mean, stdev;
    for (float m : spec.input.mean)
        mean.append(floatValue(m));
    for (float s : spec.input.std)
        stdev.append(floatValue(s));
    input.insert(QLatin1String("mean"), mean);
    input.insert(QLatin1String("std"), stdev);
    if (spec.input.transforms) {
        QJsonArray transforms;
        for (const ImageTransform &t : *spec.input.transforms)
            transforms.append(transformJson(t));
        input.insert(QLatin1String("transforms"), transforms);
    }
    root.insert(QLatin1String("input"), input);

    if (!spec.architecture.empty()) {
        QJsonObject arch;
        arch.insert(QLatin1String("type"), toQ(spec.architecture));
        if (spec.width > 0)
            arch.insert(QLatin1String("width"), spec.width);
        if (spec.embeddingDim > 0)
            arch.insert(QLatin1String("embedding_dim"), spec.embeddingDim);
        root.insert(QLatin1String("architecture"), arch);
    }

    QJsonArray checkpoints;
    for (const CheckpointSpec &c : spec.checkpoints) {
        QJsonObject o;
        o.insert(QLatin1String("file"), toQ(c.file));
        o.insert(QLatin1String("learning_rate"), c.learningRate);
        checkpoints.append(o);
    }
    root.insert(QLatin1String("checkpoints"), checkpoints);

    // QSaveFile writes a temporary file beside the target and renames it on commit().
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return Status::ioError(toStd(path) + ": cannot write: " + toStd(file.errorString()));
    const QByteArray bytes = QJsonDocument(root).toJson(QJsonDocument::Indented);
    if (file.write(bytes) != bytes.size()) {
        const std::string why = toStd(file.errorString());
        file.cancelWriting();
        return Status::ioError(toStd(path) + ": cannot write: " + why);
    }
    if (!file.commit())
        return Status::ioError(toStd(path) + ": cannot write: " + toStd(file.errorString()));
    return Status::ok();
}

} // namespace traclens
