#include "imageconvert.h"

namespace traclens {

QImage shrinkToFit(const QImage &image, int maxSide)
{
    if (image.isNull() || (image.width() <= maxSide && image.height() <= maxSide))
        return image;
    return image.scaled(maxSide, maxSide, Qt::KeepAspectRatio, Qt::SmoothTransformation);
}

} // namespace traclens
