// The main window asks before it runs a model it may not run silently, and does what the
// answer says: a model outside the project runs only after "Trust and Run" (remembered for
// the project: a second window does not ask again); a checkpoint file that changed is
// recomputed only after "Recompute with the New File", and otherwise its stored factors
// stay. The question is injected (MainWindow::setQuestionHandler), so no person is needed.

#include "rawsql.h"
#include "jobcontroller.h"
#include "mainwindow.h"
#include "store/projectdb.h"
#include "testproject.h"

#include <QDir>
#include <QFile>
#include <QMessageBox>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <sqlite3.h>

using namespace traclens;
using traclens::testing::TestProject;

using traclens::testing::rawExec;
using traclens::testing::rawText;

namespace {


int64_t rawCount(const QString &path, const char *sql)
{
    sqlite3 *db = nullptr;
    sqlite3_open(path.toUtf8().constData(), &db);
    sqlite3_stmt *st = nullptr;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

struct Asked {
    QString title, text, acceptLabel;
};

} // namespace

class TestModelTrustDialog : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void asksBeforeRunning_data();
    void asksBeforeRunning();

private:
    QTemporaryDir m_dir;
    int m_row = 0;
};

void TestModelTrustDialog::initTestCase()
{
    QVERIFY(m_dir.isValid());
    // The user's trust key and settings live in this test's folder.
    qputenv("XDG_CONFIG_HOME", m_dir.filePath("config").toUtf8());
    QCoreApplication::setOrganizationName("TracLensTest");
    QCoreApplication::setApplicationName("TracLensTrustTest");
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath("settings"));
    QSettings().clear();
}

void TestModelTrustDialog::asksBeforeRunning_data()
{
    QTest::addColumn<QString>("setup"); // outside: model directory moved out; changed: ckpt-1 replaced
    QTest::addColumn<bool>("answer");
    QTest::newRow("outside model, trusted") << "outside" << true;
    QTest::newRow("outside model, cancelled") << "outside" << false;
    QTest::newRow("changed checkpoint, recomputed") << "changed" << true;
    QTest::newRow("changed checkpoint, cancelled") << "changed" << false;
}

void TestModelTrustDialog::asksBeforeRunning()
{
    QFETCH(QString, setup);
    QFETCH(bool, answer);
    const QString root = m_dir.filePath(QStringLiteral("row-%1").arg(++m_row));
    TestProject fixture(root.toStdString());
    QVERIFY(fixture.build(TestProject::Stage::Computed).isOk());
    const QString project = QString::fromStdString(fixture.projectPath());
    const auto &spec = fixture.spec();
    const int64_t examples = spec.classes * (spec.trainPerClass + spec.testPerClass);

    QString named; // what the question must name
    if (setup == "outside") {
        // The model's directory moved out of the project and the project pointed at it,
        // as a project from someone else could; its factors deleted so opening computes.
        auto db = ProjectDb::open(project.toStdString(), ProjectDb::OpenMode::ReadOnly);
        QVERIFY(db.ok());
        const QString inside = QString::fromStdString((*db)->model(fixture.modelId())->directory);
        db = Status::internal("closed");
        named = root + "/elsewhere";
        QVERIFY(QDir().rename(inside, named));
        QVERIFY(rawExec(project, "UPDATE models SET directory = '" + named.toStdString() + "'; DELETE FROM factors;"));
    } else {
        // The first checkpoint replaced by the second; the second's factors deleted, so
        // opening computes (and meets the changed first one).
        auto db = ProjectDb::open(project.toStdString(), ProjectDb::OpenMode::ReadOnly);
        QVERIFY(db.ok());
        auto cps = (*db)->checkpoints(fixture.modelId());
        QVERIFY(cps.ok() && cps->size() == 2);
        db = Status::internal("closed");
        named = QString::fromStdString(cps->at(0).file);
        QVERIFY(QFile::remove(named));
        QVERIFY(QFile::copy(QString::fromStdString(cps->at(1).file), named));
        QVERIFY(rawExec(project, "DELETE FROM factors WHERE checkpoint_id = " + std::to_string(cps->at(1).id)));
    }
    const int64_t factorsBefore = rawCount(project, "SELECT count(*) FROM factors");

    QVector<Asked> asked;
    auto handler = [&](const QString &title, const QString &text, const QString &acceptLabel) {
        asked.push_back({title, text, acceptLabel});
        return answer;
    };
    {
        MainWindow w;
        w.setQuestionHandler(handler);
        QSignalSpy ready(&w, &MainWindow::engineReady);
        QVERIFY(w.openProject(project));
        if (answer) {
            QVERIFY(ready.wait(240000));
        } else {
            QTRY_VERIFY_WITH_TIMEOUT(!asked.isEmpty(), 60000);
            QTRY_VERIFY_WITH_TIMEOUT(!w.jobs()->isBusy(), 60000);
        }
        QCOMPARE(asked.size(), 1);
        QVERIFY2(asked[0].text.contains(QDir::toNativeSeparators(named)), qPrintable(asked[0].text));
        QVERIFY(!w.findChild<QMessageBox *>("failureDialog")); // the question replaced it
        if (setup == "outside") {
            QCOMPARE(asked[0].acceptLabel, QStringLiteral("Trust and Run"));
            QVERIFY(asked[0].text.contains("TorchScript models are programs"));
        } else {
            QCOMPARE(asked[0].acceptLabel, QStringLiteral("Recompute with the New File"));
        }
    }

    const int64_t factorsAfter = rawCount(project, "SELECT count(*) FROM factors");
    const int64_t trusted = rawCount(project, "SELECT count(*) FROM trusted_model_dirs");
    if (!answer) {
        // Nothing ran and nothing was recorded.
        QCOMPARE(factorsAfter, factorsBefore);
        QCOMPARE(trusted, int64_t(0));
        return;
    }
    QCOMPARE(factorsAfter, examples * 2);
    QCOMPARE(trusted, int64_t(setup == "outside" ? 1 : 0));
    if (setup == "changed") {
        // Both checkpoints now hold the same weights, so their recomputed factors agree.
        QCOMPARE(rawCount(project, "SELECT count(*) FROM factors a JOIN factors b ON a.example_id = b.example_id "
                                   "AND a.checkpoint_id < b.checkpoint_id WHERE a.e = b.e AND a.h = b.h"),
                 examples);
        return;
    }
    // Trust is remembered for the project: another window computes without asking.
    QVERIFY(rawExec(project, "DELETE FROM factors"));
    asked.clear();
    MainWindow again;
    again.setQuestionHandler(handler);
    QSignalSpy ready(&again, &MainWindow::engineReady);
    QVERIFY(again.openProject(project));
    QVERIFY(ready.wait(240000));
    QVERIFY(asked.isEmpty());
    QCOMPARE(rawCount(project, "SELECT count(*) FROM factors"), examples * 2);
}

QTEST_MAIN(TestModelTrustDialog)
#include "test_modeltrustdialog.moc"
