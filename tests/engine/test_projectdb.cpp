// The project file: schema versioning, refusal of newer files, label history,
// transactions and error messages that name the file.

#include "store/projectdb.h"

#include <QCryptographicHash>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <sqlite3.h>

using namespace traclens;

namespace {

QByteArray fileHash(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
}

void rawExec(const QString &path, const char *sql)
{
    sqlite3 *db = nullptr;
    QCOMPARE(sqlite3_open(path.toUtf8().constData(), &db), SQLITE_OK);
    char *err = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    QVERIFY2(rc == SQLITE_OK, err ? err : "");
    sqlite3_close(db);
}

std::unique_ptr<ProjectDb> makeProject(const QString &path, int examples)
{
    auto db = ProjectDb::open(path.toStdString(), ProjectDb::OpenMode::Create);
    if (!db.ok())
        return nullptr;
    DatasetInfo info{SourceKind::ImageFolder, "/data", "/data", {"cat", "dog", "bird"}};
    if (!(*db)->setDataset(info).isOk())
        return nullptr;
    for (int i = 0; i < examples; ++i) {
        ScannedExample ex;
        ex.source = "train/x" + std::to_string(i) + ".png";
        ex.label = i % 3;
        if (!(*db)->upsertExample(ex, "h" + std::to_string(i)).ok())
            return nullptr;
    }
    return std::move(db).value();
}

} // namespace

class TestProjectDb : public QObject {
    Q_OBJECT
private slots:
    void createsVersionedWalProject();
    void refusesNonProjects_data();
    void refusesNonProjects();
    void refusesNewerSchemaUntouched();
    void relabelKeepsHistory();
    void relabelRejectsUnknownClass();
    void transactionRollsBackOnScopeExit();
    void reimportKeepsCorrectedLabel();
    void readOnlyOpenReads();
};

void TestProjectDb::createsVersionedWalProject()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("p.traclens");
    auto db = makeProject(path, 3);
    QVERIFY(db);
    QCOMPARE(db->schemaVersion(), kSchemaVersion);
    auto v = db->meta("schema_version");
    QVERIFY(v.ok() && v->has_value());
    QCOMPARE(QString::fromStdString(**v), QString::number(kSchemaVersion));
    sqlite3_stmt *st = nullptr;
    QCOMPARE(sqlite3_prepare_v2(db->handle(), "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
    QCOMPARE(sqlite3_step(st), SQLITE_ROW);
    QCOMPARE(QString(reinterpret_cast<const char *>(sqlite3_column_text(st, 0))), QString("wal"));
    sqlite3_finalize(st);
    QVERIFY(db->integrityCheck().isOk());
    auto count = db->exampleCount();
    QVERIFY(count.ok());
    QCOMPARE(*count, int64_t(3));
}

void TestProjectDb::refusesNonProjects_data()
{
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("expected");
    QTest::newRow("text file") << QByteArray("hello, this is not sqlite\n") << "not a TracLens project";
    QTest::newRow("empty file") << QByteArray() << "not a TracLens project";
}

void TestProjectDb::refusesNonProjects()
{
    QFETCH(QByteArray, content);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const QString path = dir.filePath("notes.traclens");
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(content);
    f.close();
    auto db = ProjectDb::open(path.toStdString());
    QVERIFY(!db.ok());
    const QString msg = QString::fromStdString(db.status().message());
    QVERIFY2(msg.contains(path), qPrintable(msg));
    QVERIFY2(msg.contains(expected), qPrintable(msg));
}

void TestProjectDb::refusesNewerSchemaUntouched()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("p.traclens");
    { QVERIFY(makeProject(path, 2)); }
    rawExec(path, "PRAGMA journal_mode=DELETE; UPDATE meta SET value='99' WHERE key='schema_version';");
    const QByteArray before = fileHash(path);
    auto db = ProjectDb::open(path.toStdString());
    QVERIFY(!db.ok());
    QCOMPARE(db.status().code(), Status::Code::Unsupported);
    const QString msg = QString::fromStdString(db.status().message());
    QVERIFY2(msg.contains("newer TracLens") && msg.contains(path), qPrintable(msg));
    QCOMPARE(fileHash(path), before);
    QVERIFY(!QFile::exists(path + "-wal") || QFile(path + "-wal").size() == 0);
}

void TestProjectDb::relabelKeepsHistory()
{
    QTemporaryDir dir;
    auto db = makeProject(dir.filePath("p.traclens"), 3);
    QVERIFY(db);
    auto first = db->relabel(1, 2);
    QVERIFY(first.ok());
    QCOMPARE(first->oldLabel, 0);
    QCOMPARE(first->newLabel, 2);
    QVERIFY(first->id > 0);
    auto undo = db->relabel(1, 0, "undo");
    QVERIFY(undo.ok());
    auto same = db->relabel(1, 0);
    QVERIFY(same.ok());
    QCOMPARE(same->id, int64_t(0)); // no-op writes nothing
    auto history = db->labelHistory(1);
    QVERIFY(history.ok());
    QCOMPARE(history->size(), size_t(2));
    QCOMPARE((*history)[1].origin, std::string("undo"));
    auto ex = db->example(1);
    QVERIFY(ex.ok());
    QCOMPARE(ex->currentLabel, 0);
    QCOMPARE(ex->givenLabel, 0);
}

void TestProjectDb::relabelRejectsUnknownClass()
{
    QTemporaryDir dir;
    auto db = makeProject(dir.filePath("p.traclens"), 1);
    QVERIFY(db);
    auto r = db->relabel(1, 7);
    QVERIFY(!r.ok());
    QVERIFY(QString::fromStdString(r.status().message()).contains("not a class"));
    auto missing = db->relabel(42, 1);
    QVERIFY(!missing.ok());
    QCOMPARE(missing.status().code(), Status::Code::NotFound);
}

void TestProjectDb::transactionRollsBackOnScopeExit()
{
    QTemporaryDir dir;
    auto db = makeProject(dir.filePath("p.traclens"), 0);
    QVERIFY(db);
    {
        ProjectDb::Transaction tx(*db);
        QVERIFY(tx.status().isOk());
        ScannedExample ex;
        ex.source = "lost.png";
        QVERIFY(db->upsertExample(ex, "h").ok());
        {
            ProjectDb::Transaction inner(*db);
            QVERIFY(inner.commit().isOk()); // counted: commits nothing yet
        }
    } // no commit: rolled back
    auto count = db->exampleCount();
    QVERIFY(count.ok());
    QCOMPARE(*count, int64_t(0));
    {
        ProjectDb::Transaction tx(*db);
        ScannedExample ex;
        ex.source = "kept.png";
        QVERIFY(db->upsertExample(ex, "h").ok());
        QVERIFY(tx.commit().isOk());
    }
    count = db->exampleCount();
    QCOMPARE(*count, int64_t(1));
}

void TestProjectDb::reimportKeepsCorrectedLabel()
{
    QTemporaryDir dir;
    auto db = makeProject(dir.filePath("p.traclens"), 2);
    QVERIFY(db);
    QVERIFY(db->relabel(2, 0).ok());
    ScannedExample ex;
    ex.source = "train/x1.png";
    ex.label = 1;
    QVERIFY(db->upsertExample(ex, "h1").ok());
    auto row = db->example(2);
    QVERIFY(row.ok());
    QCOMPARE(row->currentLabel, 0); // the correction survives
    QCOMPARE(row->givenLabel, 1);
}

void TestProjectDb::readOnlyOpenReads()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("p.traclens");
    { QVERIFY(makeProject(path, 4)); }
    auto db = ProjectDb::open(path.toStdString(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY2(db.ok(), db.ok() ? "" : db.status().message().c_str());
    auto count = (*db)->exampleCount();
    QVERIFY(count.ok());
    QCOMPARE(*count, int64_t(4));
    QVERIFY(!(*db)->relabel(1, 2).ok());
}

QTEST_GUILESS_MAIN(TestProjectDb)
#include "test_projectdb.moc"
