// The Python helper for importable PyTorch checkpoints: its path is found (from the build
// directory, the source tree's copy), and the model-import error hint and Help ▸ Import a
// PyTorch Model both show that path and the lines a training loop needs — names that the
// helper really defines.

#include "errorhints.h"
#include "helpdialog.h"
#include "pythonhelper.h"

#include <QFile>
#include <QFileInfo>
#include <QTextBrowser>
#include <QtTest>

using namespace traclens;

class TestPythonHelper : public QObject {
    Q_OBJECT
private slots:
    void pathExistsAndIsTheHelper();
    void snippetUsesTheHelpersApi();
    void importErrorShowsPathAndSnippet();
    void helpDialogShowsPathAndSnippet();
};

void TestPythonHelper::pathExistsAndIsTheHelper()
{
    const QString path = pythonHelperPath();
    QVERIFY2(QFileInfo::exists(path), qPrintable(path));
    QCOMPARE(QFileInfo(path).fileName(), QStringLiteral("traclens_model.py"));
    QVERIFY(QFileInfo(path).isAbsolute());
}

void TestPythonHelper::snippetUsesTheHelpersApi()
{
    QFile f(pythonHelperPath());
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QString source = QString::fromUtf8(f.readAll());
    QVERIFY(source.contains("class CheckpointWriter"));
    QVERIFY(source.contains("def save(self, model, learning_rate"));
    const QString snippet = pythonHelperSnippet();
    QVERIFY(snippet.contains(QFileInfo(pythonHelperPath()).absolutePath()));
    QVERIFY(snippet.contains("from traclens_model import CheckpointWriter"));
    QVERIFY(snippet.contains("writer.save(model, learning_rate=lr)"));
}

void TestPythonHelper::importErrorShowsPathAndSnippet()
{
    const FailureText t = describeFailure(FailureContext::ImportModel, Status::invalid("no manifest"));
    QVERIFY2(t.advice.contains(pythonHelperPath()), qPrintable(t.advice));
    QVERIFY(t.advice.contains("CheckpointWriter"));
    QVERIFY(t.advice.contains("Help ▸ Import a PyTorch Model"));
}

void TestPythonHelper::helpDialogShowsPathAndSnippet()
{
    HelpDialog dialog(HelpDialog::Topic::PythonModel);
    QCOMPARE(dialog.objectName(), QStringLiteral("pythonModelDialog"));
    const QString text = dialog.browser()->toPlainText();
    QVERIFY2(text.contains(pythonHelperPath()), qPrintable(text));
    QVERIFY(text.contains("from traclens_model import CheckpointWriter"));
    QVERIFY(text.contains("@torch.jit.export"));
}

QTEST_MAIN(TestPythonHelper)
#include "test_pythonhelper.moc"
