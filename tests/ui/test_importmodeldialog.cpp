// Project ▸ Import Model…: copying the model into the project is the default, Import is
// enabled once a directory is named, and the dialog answers an absolute directory.

#include "importmodeldialog.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QLineEdit>
#include <QPushButton>
#include <QtTest>

using traclens::ImportModelDialog;

class TestImportModelDialog : public QObject {
    Q_OBJECT
private slots:
    void choices_data();
    void choices();
};

void TestImportModelDialog::choices_data()
{
    QTest::addColumn<QString>("typed");
    QTest::addColumn<bool>("untickCopy");
    QTest::addColumn<bool>("importEnabled");
    QTest::addColumn<bool>("copy");
    QTest::newRow("nothing chosen yet: Import disabled, copy on") << "" << false << false << true;
    QTest::newRow("a directory: copied by default") << "/models/run-7" << false << true << true;
    QTest::newRow("copy unticked: imported by reference") << "/models/run-7" << true << true << false;
    QTest::newRow("a relative directory becomes absolute") << "run-7" << false << true << true;
}

void TestImportModelDialog::choices()
{
    QFETCH(QString, typed);
    QFETCH(bool, untickCopy);
    QFETCH(bool, importEnabled);
    QFETCH(bool, copy);
    ImportModelDialog dialog(QDir::tempPath());
    QCheckBox *box = dialog.copyCheckBox();
    QCOMPARE(box->text().remove(QLatin1Char('&')), QString("Copy the model into the project"));
    QVERIFY(box->isChecked());
    dialog.directoryEdit()->setText(typed);
    if (untickCopy)
        box->setChecked(false);
    auto *buttons = dialog.findChild<QDialogButtonBox *>();
    QVERIFY(buttons);
    QCOMPARE(buttons->button(QDialogButtonBox::Ok)->isEnabled(), importEnabled);
    QCOMPARE(dialog.copyIntoProject(), copy);
    if (!typed.isEmpty()) {
        QVERIFY(QDir::isAbsolutePath(dialog.directory()));
        QVERIFY(dialog.directory().endsWith(typed.section('/', -1)));
    } else {
        QVERIFY(dialog.directory().isEmpty());
    }
}

QTEST_MAIN(TestImportModelDialog)
#include "test_importmodeldialog.moc"
