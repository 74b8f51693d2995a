#include "evaluation/imagesheet.h"

#include "evaluation/chartimage.h"

#include <QFontMetrics>
#include <QPainter>

#include <opencv2/core/mat.hpp>

#include <algorithm>

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

QImage renderImageSheet(const std::vector<SheetTile> &tiles, int columns, int side)
{
    if (tiles.empty() || !canRenderCharts() || columns < 1 || side < 16)
        return {};
    QFont font;
    font.setPixelSize(std::max(9, side / 9));
    const QFontMetrics fm(font);
    const int gap = 8, lines = 2 * fm.height() + 4;
    const int cols = std::min<int>(columns, int(tiles.size()));
    const int rows = int((tiles.size() + size_t(cols) - 1) / size_t(cols));
    const int cellW = side + gap, cellH = side + lines + gap;
    QImage sheet(cols * cellW + gap, rows * cellH + gap, QImage::Format_RGB32);
    sheet.fill(Qt::white);
    QPainter p(&sheet);
    p.setFont(font);
    for (size_t t = 0; t < tiles.size(); ++t) {
        const int x = gap + int(t % size_t(cols)) * cellW, y = gap + int(t / size_t(cols)) * cellH;
        const QRect box(x, y, side, side);
        p.fillRect(box, QColor(240, 240, 240));
        const QImage &image = tiles[t].image;
        if (!image.isNull()) {
            // Small images (28×28 digits and clothes) are enlarged pixel for pixel, so what
            // the model saw stays visible; photos are smoothed.
            const bool small = image.width() <= side / 2 && image.height() <= side / 2;
            const QImage scaled = image.scaled(side, side, Qt::KeepAspectRatio,
                                               small ? Qt::FastTransformation : Qt::SmoothTransformation);
            p.drawImage(x + (side - scaled.width()) / 2, y + (side - scaled.height()) / 2, scaled);
        }
        p.setPen(QColor(160, 160, 160));
        p.drawRect(box.adjusted(0, 0, -1, -1));
        p.setPen(Qt::black);
        const int textY = y + side + 2;
        p.drawText(QRect(x, textY, side, fm.height()), Qt::AlignLeft | Qt::AlignVCenter,
                   fm.elidedText(tiles[t].title, Qt::ElideRight, side));
        p.setPen(QColor(80, 80, 80));
        p.drawText(QRect(x, textY + fm.height(), side, fm.height()), Qt::AlignLeft | Qt::AlignVCenter,
                   fm.elidedText(tiles[t].detail, Qt::ElideRight, side));
    }
    p.end();
    return sheet;
}

} // namespace traclens
