#pragma once
// Item-data roles shared by the example models (browser grid, influence grids, review
// strips) and ThumbnailDelegate, so one delegate can paint tiles from any of them.

#include <Qt>

namespace traclens {

enum ItemRole : int {
    ExampleIdRole = Qt::UserRole + 1, // qint64
    SubtitleRole,                     // QString: second caption line (score, prediction)
    EditedRole,                       // bool: current label differs from the given one
    ReviewRole,                       // int: ReviewState
    MismatchRole,                     // bool: the model predicts another class than the label
    SplitRole,                        // int: Split
    ScoreRole,                        // double: score of the tile (influence, similarity)
    SortValueRole,                    // double: the value the browser sorts by
    BadgeRole,                        // QString: drawn as a pill over the image (a score)
};

} // namespace traclens
