#pragma once
// Image decoding and conversion to model input. OpenCV does the decoding; every
// OpenCV exception is caught here and returned as a Status.
//
// Thread safety: free functions are reentrant. ImageStore is thread-safe.

#include "data/dataset.h"
#include "data/imagetransforms.h"
#include "util/status.h"

#include <memory>
#include <mutex>
#include <map>
#include <optional>
#include <opencv2/core/mat.hpp>

namespace traclens {

struct InputSpec {
    int channels = 1;   // 1 (grey) or 3 (RGB)
    int height = 28;
    int width = 28;
    std::vector<float> mean{0.0f}; // one per channel, applied after scaling to [0,1]
    std::vector<float> std{1.0f};
    // The torchvision recipe the model was trained with (manifest input.transforms).
    // nullopt: TracLens' own preparation (toModelInput). A list, even an empty one: the
    // ImageFolder pipeline reproduced exactly (imagetransforms.h, docs/preprocessing.md).
    std::optional<std::vector<ImageTransform>> transforms;
    size_t floatsPerImage() const { return size_t(channels) * height * width; }
};

// How a file's bytes become the 8-bit image that is prepared for a model.
enum class DecodeStyle {
    // TracLens' own: EXIF orientation applied, grey kept grey, 16-bit scaled by
    // 255/65535, alpha dropped. Thumbnails and models without input.transforms.
    Native,
    // torchvision ImageFolder's loader, PIL's Image.open(f).convert("RGB"): EXIF
    // orientation ignored (ImageFolder does not apply it), always 3 channels (handed out
    // in BGR order like every decoded image), grey replicated, alpha dropped (not
    // composited), 16-bit colour PNG samples keep their high byte and 16-bit grey PNG
    // samples are clipped at 255, as Pillow 9.4 does.
    PilRgb,
};
// PilRgb when the spec carries transforms, else Native.
DecodeStyle decodeStyleFor(const InputSpec &spec);

// The EXIF orientation a JPEG's APP1 segment states (1–8; 1 = upright), or 1 when the
// bytes are not a JPEG, carry no orientation or a malformed one. Only the header is
// looked at; the Native style applies this orientation, PilRgb ignores it.
int exifOrientation(const uint8_t *data, size_t size);

// Largest image accepted, in pixels; larger files are refused before full decoding
// so a 20000×20000 PNG cannot exhaust memory. The size is read from the header for PNG,
// JPEG, BMP, PGM/PPM, WebP and TIFF; other formats are checked after decoding.
constexpr int64_t kMaxImagePixels = 64ll * 1024 * 1024;

// Decodes PNG/JPEG/BMP/... from a file into an 8-bit image with 1 (grey) or 3 (BGR)
// channels: 16-bit is scaled to 8-bit (×255/65535), floating point taken as [0,1],
// palettes expanded to BGR, alpha dropped (not composited), grey+alpha PNGs kept grey, EXIF
// orientation applied. Errors start with the file name: "zero-byte file", "not an image
// or corrupt", "too large"; a missing file gives NotFound.
Result<cv::Mat> decodeImageFile(const std::string &path);
// Same, from bytes in memory; `nameForErrors` goes into messages. Files are read with
// readFileCapped() (filereader.h) and refused above kMaxImageFileBytes.
Result<cv::Mat> decodeImageBytes(const std::vector<uint8_t> &bytes, const std::string &nameForErrors);
Result<cv::Mat> decodeImageBytes(const uint8_t *data, size_t size, const std::string &nameForErrors);
// The same in the given style (DecodeStyle::Native is the functions above).
Result<cv::Mat> decodeImageFile(const std::string &path, DecodeStyle style);
Result<cv::Mat> decodeImageBytes(const uint8_t *data, size_t size, const std::string &nameForErrors,
                                 DecodeStyle style);

// Converts an 8-bit image (any size, 1/3/4 channels, BGR order) to the model's input:
// channel-converted (BGR→grey by luminance, grey→RGB by copying), resized to
// spec.height×spec.width with INTER_AREA when the size differs, scaled to [0,1],
// normalised by mean/std, written CHW into `out` (spec.floatsPerImage() floats). A
// mean/std with one value applies to every channel. An empty image gives zeros.
// When spec.transforms is set this is prepareModelInput() with zeros on failure; callers
// that can report errors call prepareModelInput.
void toModelInput(const cv::Mat &image, const InputSpec &spec, float *out);

// The model's input for `image` (8-bit, 1/3/4 channels, BGR order), CHW into `out`
// (spec.floatsPerImage() floats). Without spec.transforms: toModelInput, never fails.
// With them: the torchvision pipeline (grey replicated to RGB, alpha dropped, the
// transforms in order, then ToTensor and Normalize in float32 as torch computes them);
// a result that is not spec.channels×height×width, or an empty image, is an
// InvalidArgument naming `nameForErrors` and both sizes. For pixels identical to
// torchvision's, decode the file with decodeStyleFor(spec) (or ImageStore::loadModelInput).
Status prepareModelInput(const cv::Mat &image, const InputSpec &spec, float *out, const std::string &nameForErrors);

// Loads example images by their source string (see ScannedExample::source) from a
// dataset root. IDX files are read once and kept in memory for the store's lifetime
// (about 47 MB for Fashion-MNIST's training set); a failed read is remembered too, so a
// corrupt file costs one read, not one per image (a new store tries again). After that,
// a load is a lookup and a 784-byte copy. Sources that leave the
// root ("../x.png", "/etc/x", "dir/file#3" for IDX) are refused with InvalidArgument;
// an IDX index past the end gives NotFound.
class ImageStore {
public:
    ImageStore(SourceKind kind, std::string root);
    // 8-bit, 1 or 3 channels. Errors name the file.
    Result<cv::Mat> load(const std::string &source) const;
    // Decoded in the given style; IDX images (already pixels) become 3 channels for PilRgb.
    Result<cv::Mat> load(const std::string &source, DecodeStyle style) const;
    // load(source, decodeStyleFor(spec)) then prepareModelInput: the model's input for one
    // example, spec.floatsPerImage() floats into `out`. Errors name the file.
    Status loadModelInput(const std::string &source, const InputSpec &spec, float *out) const;
    // exifOrientation() of the source's file, read from its first 128 KiB; 1 for IDX
    // images, files that cannot be read and sources outside the root.
    int exifOrientation(const std::string &source) const;
    SourceKind kind() const { return m_kind; }
    const std::string &root() const { return m_root; }

private:
    SourceKind m_kind;
    std::string m_root;
    mutable std::mutex m_mutex;
    mutable std::map<std::string, std::shared_ptr<const class IdxFile>> m_idx; // GUARDED_BY(m_mutex)
    mutable std::map<std::string, Status> m_idxErrors;                          // GUARDED_BY(m_mutex)
};

} // namespace traclens
