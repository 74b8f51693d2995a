#include "networkchoice.h"

#include <QComboBox>
#include <QObject>

namespace traclens {

QComboBox *makeNetworkBox()
{
    auto *box = new QComboBox;
    box->setObjectName(QStringLiteral("trainNetwork"));
    // The times are docs/benchmarks-models.md §7's: an epoch of 60,000 28×28 images on 2 cores
    // takes 9 s, 29 s and 60 s.
    box->addItem(QObject::tr("Small CNN (fast)"), int(BuiltinNetwork::Cnn));
    box->addItem(QObject::tr("Batch-norm CNN (stronger, about 3× the time)"), int(BuiltinNetwork::BnCnn));
    box->addItem(QObject::tr("VGG-style CNN (strongest, about 7× the time)"), int(BuiltinNetwork::Vgg));
    box->setToolTip(QObject::tr(
        "The small CNN trains in minutes and suits most data sets. The batch-norm CNN (three convolution blocks, "
        "momentum, shifted training images) is stronger on large data sets and finds more wrong labels there; the "
        "VGG-style CNN has two convolutions per block and is stronger still, at the most training time."));
    return box;
}

QComboBox *makeAugmentationBox()
{
    auto *box = new QComboBox;
    box->setObjectName(QStringLiteral("trainAugmentation"));
    box->addItem(QObject::tr("None"), int(Augmentation::None));
    box->addItem(QObject::tr("Shift by up to 2 pixels"), int(Augmentation::Shift));
    box->addItem(QObject::tr("Shift and mirror left–right"), int(Augmentation::ShiftFlip));
    box->setToolTip(QObject::tr("Random changes to the training images. Mirror only when a mirrored image keeps its "
                                "class (clothes, animals; not digits or text)."));
    return box;
}

void followNetworkDefaults(QComboBox *network, QComboBox *augmentation)
{
    QObject::connect(network, &QComboBox::currentIndexChanged, augmentation, [network, augmentation] {
        TrainConfig c;
        c.useNetwork(BuiltinNetwork(network->currentData().toInt()));
        selectItemData(augmentation, int(c.augmentation));
    });
}

void selectItemData(QComboBox *box, int value)
{
    const int index = box->findData(value);
    if (index >= 0)
        box->setCurrentIndex(index);
}

} // namespace traclens
