#pragma once
// The built-in network and augmentation choices, with the same names, order, tooltips and
// defaults wherever a built-in model is trained: New Project, Project ▸ Train Model… and the
// Report page's evaluation and calibration.
//
// Ownership: the boxes are returned without a parent; a layout or the caller owns them.
// Thread safety: GUI thread only.

#include "model/trainer.h"

class QComboBox;

namespace traclens {

// Item data: int(BuiltinNetwork). Object name "trainNetwork".
QComboBox *makeNetworkBox();
// Item data: int(Augmentation). Object name "trainAugmentation".
QComboBox *makeAugmentationBox();
// Whenever `network` changes, `augmentation` shows that network's own default
// (TrainConfig::useNetwork(): none for the small CNN, shifts for the others).
void followNetworkDefaults(QComboBox *network, QComboBox *augmentation);
// Selects the item whose data is `value`; leaves the box as it is when none has it.
void selectItemData(QComboBox *box, int value);

} // namespace traclens
