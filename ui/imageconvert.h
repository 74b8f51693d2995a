#pragma once
// Conversions between the engine's images (cv::Mat, 8-bit grey or BGR) and Qt images.
//
// Thread safety: reentrant free functions; QImage may be built on any thread (QPixmap
// must not, which is why nothing here returns one).

#include <QImage>
#include <QString>

#include <string>

namespace cv { class Mat; }

namespace traclens {

// A deep copy of an 8-bit 1-, 3- (BGR) or 4-channel (BGRA) image; null for other types.
QImage matToQImage(const cv::Mat &mat);

// Scales `image` so that its longer side is at most `maxSide` (never enlarges): the
// thumbnail cache keeps small images such as 28×28 digits at their own size and the
// painter scales them, which saves memory at 70 000 items.
QImage shrinkToFit(const QImage &image, int maxSide);

inline QString toQString(const std::string &s) { return QString::fromStdString(s); }
inline std::string toStd(const QString &s) { return s.toStdString(); }

} // namespace traclens
