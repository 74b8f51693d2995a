// The app's "%n file(s)" strings read as English once EnglishPlurals is installed: "(s)"
// goes for one and becomes "s" for any other count, the number is put in, and strings
// without a count or without "(s)" are left to their source text.

#include "englishplurals.h"

#include <QCoreApplication>
#include <QtTest>

using namespace traclens;

class TestEnglishPlurals : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void plural_data();
    void plural();
    void withoutTranslatorTheSourceShows();

private:
    EnglishPlurals m_plurals;
};

void TestEnglishPlurals::initTestCase()
{
    QVERIFY(QCoreApplication::installTranslator(&m_plurals));
}

void TestEnglishPlurals::plural_data()
{
    QTest::addColumn<QString>("source");
    QTest::addColumn<int>("n");
    QTest::addColumn<QString>("expected");
    const QString skipped = QStringLiteral("Import: %n file(s) or row(s) skipped.");
    QTest::newRow("none") << skipped << 0 << "Import: 0 files or rows skipped.";
    QTest::newRow("one") << skipped << 1 << "Import: 1 file or row skipped.";
    QTest::newRow("many") << skipped << 12 << "Import: 12 files or rows skipped.";
    QTest::newRow("a count without (s)") << QStringLiteral("%n skipped — Show…") << 3 << "3 skipped — Show…";
    QTest::newRow("no count: (s) kept") << QStringLiteral("Choose the file(s)") << -1 << "Choose the file(s)";
}

void TestEnglishPlurals::plural()
{
    QFETCH(QString, source);
    QFETCH(int, n);
    QFETCH(QString, expected);
    const QByteArray utf8 = source.toUtf8();
    QCOMPARE(QCoreApplication::translate("TestEnglishPlurals", utf8.constData(), nullptr, n), expected);
}

void TestEnglishPlurals::withoutTranslatorTheSourceShows()
{
    // What the app showed before: Qt alone leaves "(s)" in.
    QVERIFY(QCoreApplication::removeTranslator(&m_plurals));
    QCOMPARE(QCoreApplication::translate("TestEnglishPlurals", "%n label change(s)", nullptr, 2),
             QStringLiteral("2 label change(s)"));
    QVERIFY(QCoreApplication::installTranslator(&m_plurals));
    QCOMPARE(QCoreApplication::translate("TestEnglishPlurals", "%n label change(s)", nullptr, 2),
             QStringLiteral("2 label changes"));
}

QTEST_GUILESS_MAIN(TestEnglishPlurals)
#include "test_englishplurals.moc"
