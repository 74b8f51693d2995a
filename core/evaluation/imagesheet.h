#pragma once
// Example images as Qt images, and a contact sheet of them with captions: the picture of
// the examples an evaluation report lists (evaluation.h, "unflipped at the top of the
// queue"), and the app's thumbnails (ui/imageconvert.h).
//
// Thread safety: reentrant free functions; QImage may be built and painted on any thread
// (QPixmap must not, which is why nothing here returns one).

#include <QImage>
#include <QString>

#include <vector>

namespace cv { class Mat; }

namespace traclens {

// A deep copy of an 8-bit 1-, 3- (BGR) or 4-channel (BGRA) image; null for other types.
QImage matToQImage(const cv::Mat &mat);

struct SheetTile {
    QImage image;   // drawn scaled to the tile (kept square, nearest pixels for small images)
    QString title;  // first caption line
    QString detail; // second caption line
};

// The tiles in rows of `columns`, each image in a `side`×`side` square with its two caption
// lines below. A tile without an image gets an empty frame. Null when there are no tiles
// or text cannot be drawn (no QGuiApplication, see canRenderCharts() in chartimage.h).
QImage renderImageSheet(const std::vector<SheetTile> &tiles, int columns = 8, int side = 112);

} // namespace traclens
