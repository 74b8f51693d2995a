// The Welcome page: a recent project opens with one click or with Enter, and the page
// names the review queue's real default order.

#include "appsettings.h"
#include "influence/ranking.h"
#include "welcomepage.h"

#include <QFile>
#include <QLabel>
#include <QListWidget>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace traclens;

class TestWelcomePage : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QCoreApplication::setOrganizationName("TracLens");
        QCoreApplication::setApplicationName("test_welcomepage");
        QVERIFY(m_dir.isValid());
        for (const char *name : {"a.traclens", "b.traclens"}) {
            QFile f(m_dir.filePath(name));
            QVERIFY(f.open(QIODevice::WriteOnly));
        }
        for (const QString &p : AppSettings::recentProjects())
            AppSettings::removeRecentProject(p);
        AppSettings::addRecentProject(m_dir.filePath("a.traclens"));
        AppSettings::addRecentProject(m_dir.filePath("b.traclens"));  // first in the list
    }

    void singleClickOpens()
    {
        WelcomePage page;
        page.resize(1000, 700);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        auto *list = page.findChild<QListWidget *>();
        QVERIFY(list);
        QCOMPARE(list->count(), 2);
        QSignalSpy spy(&page, &WelcomePage::recentRequested);
        QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, list->visualItemRect(list->item(1)).center());
        QCOMPARE(spy.count(), 1);
        QCOMPARE(spy.at(0).at(0).toString(), QDir::cleanPath(m_dir.filePath("a.traclens")));
    }

    void enterOpens()
    {
        WelcomePage page;
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        auto *list = page.findChild<QListWidget *>();
        QVERIFY(list);
        list->setFocus();
        list->setCurrentRow(0);
        QSignalSpy spy(&page, &WelcomePage::recentRequested);
        QTest::keyClick(list, Qt::Key_Return);
        QCOMPARE(spy.count(), 1);
        QCOMPARE(spy.at(0).at(0).toString(), QDir::cleanPath(m_dir.filePath("b.traclens")));
    }

    void namesDefaultOrder()
    {
        WelcomePage page;
        const QString order = QString::fromStdString(defaultRanking().toString()).toHtmlEscaped();
        bool found = false;
        for (auto *label : page.findChildren<QLabel *>())
            found = found || label->text().contains(order);
        QVERIFY2(found, qPrintable(order));
        for (auto *label : page.findChildren<QLabel *>())
            QVERIFY(!label->text().contains("highest self-influence"));
    }

private:
    QTemporaryDir m_dir;
};

QTEST_MAIN(TestWelcomePage)
#include "test_welcomepage.moc"
