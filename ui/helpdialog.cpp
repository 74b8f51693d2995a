#include "helpdialog.h"

#include "pythonhelper.h"

#include <QDialogButtonBox>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace traclens {

HelpDialog::HelpDialog(Topic topic, QWidget *parent) : QDialog(parent)
{
    const bool guide = topic == Topic::Guide;
    const bool python = topic == Topic::PythonModel;
    setObjectName(guide ? "guideDialog" : python ? "pythonModelDialog" : "keyboardDialog");
    setWindowTitle(guide ? tr("TracLens Guide") : python ? tr("Import a PyTorch Model") : tr("Keyboard Shortcuts"));
    m_browser = new QTextBrowser;
    m_browser->setObjectName("helpText");
    m_browser->setOpenExternalLinks(true);
    m_browser->setHtml(guide ? guideHtml() : python ? pythonHelperHtml() : keyboardHtml());
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(m_browser, 1);
    layout->addWidget(buttons);
    resize(guide || python ? QSize(720, 640) : QSize(560, 560));
}

QString HelpDialog::guideHtml()
{
    return tr(
        "<h2>What TracLens does</h2>"
        "<p>TracLens finds training images that are probably mislabelled and shows <i>why</i> the model "
        "predicts what it does. It uses <b>TracIn</b>: how much training on one example changed the "
        "model's loss on another, summed over the saved checkpoints.</p>"

        "<h3>The pages</h3>"
        "<dl>"
        "<dt><b>Browse</b> (Ctrl+1)</dt><dd>Every example as a thumbnail, with filters and sort orders. "
        "Select one to see its details, relabel it or open its influence. Edit ▸ Find Example (Ctrl+F) "
        "goes to an example by id or file name.</dd>"
        "<dt><b>Influence</b> (Ctrl+2)</dt><dd>For one query image: <b>proponents</b>, the training "
        "examples that pushed the model towards the query's prediction; <b>opponents</b>, those that "
        "pushed against it; and the <b>nearest</b> and <b>farthest</b> examples by the model's own "
        "features. Click any tile to make it the query; Alt+Left / Alt+Right walk back and forth.</dd>"
        "<dt><b>Review queue</b> (Ctrl+3)</dt><dd>Training examples, most suspicious first. For each, "
        "keep the label, relabel it or skip it; the strips show what supports and what opposes it.</dd>"
        "<dt><b>Charts</b> (Ctrl+4)</dt><dd>Training curves, and how self-influence is spread over the "
        "dataset.</dd>"
        "<dt><b>Clusters</b> (Ctrl+5)</dt><dd>The training examples of one class grouped by what the "
        "model sees in them; a small cluster far from the rest often holds mislabelled or odd images.</dd>"
        "<dt><b>Report</b> (Ctrl+6)</dt><dd>A summary of the label quality and your corrections, and an "
        "evaluation's recall curves when there is one.</dd>"
        "</dl>"

        "<h3>Raw or normalised influence</h3>"
        "<p><b>Raw</b> is TracIn as published. It shows the <i>strongest pushes</i>, and those are led by "
        "<i>high-loss</i> examples — hard or mislabelled images with large gradients — so the same few "
        "examples top many lists. <b>Normalised</b> (the default) divides by the size of both gradients, "
        "like a cosine: it shows the <i>lookalikes that explain a prediction</i>, different for each "
        "query. Use raw to hunt for examples with outsized effect, normalised to understand one "
        "prediction.</p>"

        "<h3>Scores</h3>"
        "<dl>"
        "<dt><b>Self-influence</b></dt><dd>How much an example's training step lowered its own loss: "
        "high when the model had to bend to fit it. Mislabelled examples score high.</dd>"
        "<dt><b>Loss</b></dt><dd>How wrong the model is about an example's label (low is confident and "
        "right). The review queue is ordered by the loss at the last checkpoint unless you choose "
        "another order.</dd>"
        "<dt><b>Margin</b></dt><dd>The model's confidence in the label minus its confidence in the best "
        "other class. Negative means the model prefers another class.</dd>"
        "</dl>"

        "<h3>Clusters</h3>"
        "<dl>"
        "<dt><b>k chosen by silhouette</b></dt><dd>TracLens tried several numbers of clusters (k) and "
        "kept the one whose clusters are most clearly separated. The <b>silhouette</b> runs from −1 to "
        "1: near 1, each example is much closer to its own cluster than to the next one; near 0, the "
        "clusters overlap.</dd>"
        "<dt><b>Cluster scores</b></dt><dd>Each cluster's share of the class, and for each tile its "
        "similarity (cosine, 1 = identical direction) to the cluster's centre; the first tiles, the "
        "<b>representatives</b>, are the closest to it.</dd>"
        "<dt><b>Similarity: TracIn or Embedding</b></dt><dd>Group by the training gradients (what the "
        "examples teach the model) or by the model's features (what the images look like to it).</dd>"
        "</dl>"

        "<h3>Other words</h3>"
        "<dl>"
        "<dt><b>Width</b></dt><dd>In a new project's built-in model: the number of filters in its first "
        "layer. Wider learns more and trains slower.</dd>"
        "<dt><b>Checkpoint</b></dt><dd>The model saved after an epoch; TracIn sums over them.</dd>"
        "<dt><b>Edited</b></dt><dd>The current label differs from the label as imported.</dd>"
        "<dt><b>Skipped files</b></dt><dd>Files or CSV rows the import could not use, with the reason: "
        "Project ▸ Skipped Files.</dd>"
        "</dl>"
        "<p>See Help ▸ Keyboard Shortcuts for every key.</p>");
}

QString HelpDialog::keyboardHtml()
{
    struct Key {
        const char *keys;
        const char *what;
    };
    const QList<QPair<QString, QList<Key>>> sections{
        {tr("Anywhere"),
         {{"Ctrl+1 … Ctrl+6", QT_TR_NOOP("Browse, Influence, Review queue, Charts, Clusters, Report")},
          {"Ctrl+F", QT_TR_NOOP("Find an example by id or file name (in Browse)")},
          {"Ctrl+Z / Ctrl+Shift+Z", QT_TR_NOOP("Undo / redo a label decision")},
          {"Ctrl+N / Ctrl+O / Ctrl+W", QT_TR_NOOP("New, open, close project")},
          {"Ctrl+E", QT_TR_NOOP("Export labels")},
          {"Esc", QT_TR_NOOP("Cancel background work")},
          {"F1", QT_TR_NOOP("This guide")}}},
        {tr("On any tile (browse, influence, review strips, clusters)"),
         {{"0 … 9", QT_TR_NOOP("Relabel the current tile as that class (in the review queue, digits relabel the "
                                     "example under review)")},
          {"R", QT_TR_NOOP("Mark the current tile reviewed, or not reviewed")},
          {"I", QT_TR_NOOP("Open the current tile in the influence view")},
          {"Menu, Shift+F10, right click", QT_TR_NOOP("The tile's menu: relabel, open, mark reviewed, copy path")},
          {"Enter, double click", QT_TR_NOOP("Open (influence view) or make it the query")}}},
        {tr("Review queue"),
         {{"0 … 9", QT_TR_NOOP("Relabel the current example as that class and go on")},
          {"K, Enter", QT_TR_NOOP("Keep the label and go on")},
          {"S", QT_TR_NOOP("Skip for now")}}},
        {tr("Influence view"), {{"Alt+Left / Alt+Right", QT_TR_NOOP("Previous / next query")}}},
    };
    QString html = QStringLiteral("<h2>%1</h2>").arg(tr("Keyboard shortcuts"));
    for (const auto &[title, keys] : sections) {
        html += QStringLiteral("<h3>%1</h3><table cellspacing=4>").arg(title.toHtmlEscaped());
        for (const Key &k : keys)
            html += QStringLiteral("<tr><td><b>%1</b>&nbsp;&nbsp;</td><td>%2</td></tr>")
                        .arg(QString::fromUtf8(k.keys).toHtmlEscaped(), tr(k.what).toHtmlEscaped());
        html += QStringLiteral("</table>");
    }
    return html;
}

} // namespace traclens
