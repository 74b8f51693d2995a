#include "imageconvert.h"

#include <opencv2/core/mat.hpp>

namespace traclens {

QImage matToQImage(const cv::Mat &mat)
{
    if (mat.empty() || mat.depth() != CV_8U)
        return {};
    const int w = mat.cols, h = mat.rows;
    switch (mat.channels()) {
    case 1: {
        QImage img(mat.data, w, h, int(mat.step), QImage::Format_Grayscale8);
        return img.copy();
    }
    case 3: {
        // OpenCV stores BGR; rgbSwapped() makes the deep copy at the same time.
        QImage img(mat.data, w, h, int(mat.step), QImage::Format_RGB888);
        return img.rgbSwapped();
    }
    case 4: {
        QImage img(mat.data, w, h, int(mat.step), QImage::Format_ARGB32);
        return img.copy();
    }
    default:
        return {};
    }
}

QImage shrinkToFit(const QImage &image, int maxSide)
{
    if (image.isNull() || (image.width() <= maxSide && image.height() <= maxSide))
        return image;
    return image.scaled(maxSide, maxSide, Qt::KeepAspectRatio, Qt::SmoothTransformation);
}

} // namespace traclens
