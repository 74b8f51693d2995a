#pragma once
// Qt image helpers for the views; matToQImage() (the engine's cv::Mat as a QImage) is the
// core's (evaluation/imagesheet.h).
//
// Thread safety: reentrant free functions; QImage may be built on any thread (QPixmap
// must not, which is why nothing here returns one).

#include "evaluation/imagesheet.h" // matToQImage

#include <QImage>
#include <QString>

#include <string>

namespace traclens {

// Scales `image` so that its longer side is at most `maxSide` (never enlarges): the
// thumbnail cache keeps small images such as 28×28 digits at their own size and the
// painter scales them, which saves memory at 70 000 items.
QImage shrinkToFit(const QImage &image, int maxSide);

inline QString toQString(const std::string &s) { return QString::fromStdString(s); }
inline std::string toStd(const QString &s) { return s.toStdString(); }

} // namespace traclens
