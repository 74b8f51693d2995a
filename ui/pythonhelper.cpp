#include "pythonhelper.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QStringList>

namespace traclens {

namespace {
const char *const kFile = "traclens_model.py";
}

QString pythonHelperPath()
{
    QStringList candidates;
    if (QCoreApplication::instance())
        candidates << QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("../share/traclens/python"));
    candidates << QStringLiteral(TRACLENS_PYTHON_INSTALL_DIR) << QStringLiteral(TRACLENS_PYTHON_SOURCE_DIR);
    for (const QString &dir : candidates) {
        const QString file = QDir(dir).filePath(QLatin1String(kFile));
        if (QFileInfo::exists(file))
            return QDir::cleanPath(QFileInfo(file).absoluteFilePath());
    }
    return QDir(QStringLiteral(TRACLENS_PYTHON_INSTALL_DIR)).filePath(QLatin1String(kFile));
}

QString pythonHelperSnippet()
{
    return QStringLiteral(
        "import sys; sys.path.insert(0, \"%1\")  # only if python3 does not find it\n"
        "from traclens_model import CheckpointWriter\n"
        "\n"
        "writer = CheckpointWriter(\"my-model\", classes=train_set.classes, transform=eval_transform)\n"
        "for epoch in range(epochs):\n"
        "    ...                                       # train with plain SGD\n"
        "    writer.save(model, learning_rate=lr)      # my-model/ckpt-<epoch>.pt\n")
        .arg(QFileInfo(pythonHelperPath()).absolutePath());
}

QString pythonHelperHtml()
{
    const QString path = pythonHelperPath();
    return QCoreApplication::translate("traclens::PythonHelper",
               "<h2>Import a PyTorch model</h2>"
               "<p>TracLens can compute influence with your own PyTorch model. Write its checkpoints with the "
               "Python helper installed with TracLens (it needs only <code>torch</code>):</p>"
               "<p><code>%1</code>%2</p>"
               "<h3>The model</h3>"
               "<p>Any classifier whose logits come from a last <code>torch.nn.Linear</code> with a bias "
               "(torchvision's ResNet, MobileNet, EfficientNet, VGG, ConvNeXt, ViT, …): the helper finds that "
               "layer, checks it and saves the model as TracLens needs it. <code>transform</code> is your "
               "evaluation transform (Resize, CenterCrop, ToTensor, Normalize), recorded so TracLens prepares "
               "images the same way. A module of your own may instead meet the contract itself:</p>"
               "<ul><li><code>forward(x)</code> returns the logits <code>[N, K]</code> of a normalised batch "
               "<code>[N, C, H, W]</code>;</li>"
               "<li><code>embed(x)</code>, marked <code>@torch.jit.export</code>, returns the penultimate features "
               "<code>[N, D]</code>;</li>"
               "<li><code>self.fc</code> is a <code>torch.nn.Linear(D, K)</code> and "
               "<code>forward(x) == self.fc(self.embed(x))</code>.</li></ul>"
               "<p>Train with plain SGD if you can, and save a checkpoint every epoch or so with the learning "
               "rate in force.</p>"
               "<h3>In your training loop</h3><pre>%3</pre>"
               "<p>Then choose the <code>my-model</code> directory with Project ▸ Import Model…. The helper's "
               "own documentation (the top of the file) has a complete example; "
               "<code>check_model(model, channels, height, width)</code> checks the contract before you "
               "train.</p>")
        .arg(path.toHtmlEscaped(),
             QFileInfo::exists(path)
                 ? QString()
                 : QCoreApplication::translate("traclens::PythonHelper",
                                               " (not found on this machine: it is resources/python/"
                                               "traclens_model.py in the TracLens sources)"),
             pythonHelperSnippet().toHtmlEscaped());
}

} // namespace traclens
