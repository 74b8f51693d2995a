// A damaged project file — a factor blob of the wrong length, a label outside the
// classes, a split of -1 or 2^40, NULL where text is expected — gives a clear error that
// names the table and the row, through every command that reads it (info, query,
// self-influence, rank, export), never a crash or a read past an array. Each row copies
// a small synthetic project (10 classes, embedding 4, 2 checkpoints), damages it with
// SQL, and runs traclens-cli.

#include "store/synthproject.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <sqlite3.h>

#include <filesystem>

#ifndef TRACLENS_CLI
#error "define TRACLENS_CLI (the traclens-cli path) for this test target"
#endif

using namespace traclens;
namespace fs = std::filesystem;

class TestDamagedProject : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void damaged_data();
    void damaged();

private:
    QTemporaryDir m_dir;
    QString m_template;
};

namespace {

// Runs `sql` on the file; "" on success, else SQLite's message.
QString exec(const QString &path, const QString &sql)
{
    sqlite3 *db = nullptr;
    if (sqlite3_open(path.toUtf8().constData(), &db) != SQLITE_OK) {
        sqlite3_close(db);
        return "cannot open";
    }
    char *err = nullptr;
    const int rc = sqlite3_exec(db, sql.toUtf8().constData(), nullptr, nullptr, &err);
    const QString message = rc == SQLITE_OK ? QString() : QString::fromUtf8(err ? err : "error");
    sqlite3_free(err);
    sqlite3_close(db);
    return message;
}

// Drops a NOT NULL from the stored schema, so that a later UPDATE can write the NULL a
// damaged or hand-edited file may hold.
QString allowNull(const QString &table, const QString &column)
{
    return QString("PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = replace(sql, '%2 NOT NULL', '%2') "
                   "WHERE type = 'table' AND name = '%1'; PRAGMA writable_schema = OFF;")
        .arg(table, column);
}

} // namespace

void TestDamagedProject::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_template = m_dir.filePath("template.traclens");
    SynthOptions o;
    o.train = 40;
    o.test = 10;
    o.classes = 10;
    o.dim = 4;
    o.checkpoints = 2;
    o.clustersPerClass = 1;
    auto made = writeSyntheticProject(m_template.toStdString(), o);
    QVERIFY2(made.ok(), made.status().message().c_str());
    // The rows below name checkpoint 1 and example 17: they exist (an UPDATE of a missing
    // row would leave the project intact and the row's command would succeed). abs() of the
    // smallest integer fails the statement when they do not.
    QCOMPARE(exec(m_template, "SELECT CASE WHEN (SELECT MIN(id) FROM checkpoints) = 1 AND "
                              "EXISTS(SELECT 1 FROM factors WHERE example_id = 17) THEN 1 "
                              "ELSE abs(-9223372036854775807 - 1) END"),
             QString());
}

void TestDamagedProject::damaged_data()
{
    QTest::addColumn<QString>("schema"); // run first, on its own connection ("" = none)
    QTest::addColumn<QString>("sql");
    QTest::addColumn<QStringList>("command"); // "%p" is the damaged project
    QTest::addColumn<QString>("expected");    // in stderr

    const QString cp1 = "checkpoint_id = (SELECT MIN(id) FROM checkpoints)";
    const QString f17 = "UPDATE factors SET %1 WHERE " + cp1 + " AND example_id = 17";
    const QStringList query{"query", "%p", "--example", "1"};
    const QStringList rank{"rank", "%p"};
    const QStringList info{"info", "%p"};
    const QStringList selfInfluence{"self-influence", "%p", "--top", "0"};
    const QString eShort = "factors row (checkpoint 1, example 17): e has 12 bytes, expected 40";

    QTest::newRow("factor e too short, query") << "" << f17.arg("e = zeroblob(12)") << query << eShort;
    QTest::newRow("factor e too short, rank") << "" << f17.arg("e = zeroblob(12)") << rank << eShort;
    QTest::newRow("factor e too short, index query")
        << "" << f17.arg("e = zeroblob(12)") << QStringList{"index", "%p", "--query", "1"} << eShort;
    QTest::newRow("factor h too long, query")
        << "" << f17.arg("h = zeroblob(20)") << query
        << "factors row (checkpoint 1, example 17): h has 20 bytes, expected 16";
    QTest::newRow("factor probs of 3 bytes, rank")
        << "" << f17.arg("probs = x'010203'") << rank
        << "factors row (checkpoint 1, example 17): probs has 3 bytes, expected 40";
    QTest::newRow("factor e NULL, rank") << allowNull("factors", "e BLOB") << f17.arg("e = NULL") << rank
                                         << "factors row (checkpoint 1, example 17): e is NULL";
    QTest::newRow("factor e as text, query") << "" << f17.arg("e = 'abc'") << query
                                             << "factors row (checkpoint 1, example 17): e has 3 bytes, expected 40";
    QTest::newRow("factor label_used out of range, rank")
        << "" << f17.arg("label_used = 10") << rank
        << "factors row (checkpoint 1, example 17): label_used is 10, expected 0 to 9";
    QTest::newRow("factor predicted negative, query")
        << "" << f17.arg("predicted = -1") << query
        << "factors row (checkpoint 1, example 17): predicted is -1, expected 0 to 9";
    QTest::newRow("example label out of range, query")
        << "" << "UPDATE examples SET current_label = 10 WHERE id = 17" << query
        << "examples row 17: current_label is 10, expected 0 to 9";
    QTest::newRow("example label out of range, rank")
        << "" << "UPDATE examples SET current_label = 10 WHERE id = 17" << rank
        << "examples row 17: current_label is 10, expected 0 to 9";
    QTest::newRow("example label out of range, self-influence")
        << "" << "UPDATE examples SET current_label = 10 WHERE id = 17" << selfInfluence
        << "examples row 17: current_label is 10, expected 0 to 9";
    QTest::newRow("example label 2^32+1, rank")
        << "" << "UPDATE examples SET given_label = 4294967297 WHERE id = 17" << rank
        << "examples row 17: given_label is 4294967297, expected 0 to 9";
    QTest::newRow("split -1, self-influence") << "" << "UPDATE examples SET split = -1 WHERE id = 17"
                                              << selfInfluence << "examples row 17: split is -1, expected 0 to 1";
    QTest::newRow("split 2^40, query")
        << "" << "UPDATE examples SET split = 1099511627776 WHERE id = 17"
        << QStringList{"query", "%p", "--example", "17"} << "examples row 17: split is 1099511627776, expected 0 to 1";
    QTest::newRow("source NULL, query") << allowNull("examples", "source TEXT")
                                        << "UPDATE examples SET source = NULL WHERE id = 17"
                                        << QStringList{"query", "%p", "--example", "17"}
                                        << "examples row 17: source is NULL";
    QTest::newRow("source NULL, export")
        << allowNull("examples", "source TEXT") << "UPDATE examples SET source = NULL WHERE id = 17"
        << QStringList{"export", "%p", "--csv", "%p.csv"} << "examples row 17: source is NULL";
    QTest::newRow("class name NULL, info") << allowNull("classes", "name TEXT")
                                           << "UPDATE classes SET name = NULL WHERE idx = 3" << info
                                           << "classes row 3: name is NULL";
    QTest::newRow("class index gap, info") << "" << "UPDATE classes SET idx = 12 WHERE idx = 5" << info
                                           << "classes row 6: idx is 6, expected 5";
    QTest::newRow("model num_classes 0, info") << "" << "UPDATE models SET num_classes = 0" << info
                                               << "models row 1: num_classes is 0, expected 1 to 1048576";
    QTest::newRow("model num_classes larger than the factors, query")
        << "" << "UPDATE models SET num_classes = 100000" << query
        << "factors row (checkpoint 1, example 1): e has 40 bytes, expected 400000";
    QTest::newRow("self-influence NULL") << allowNull("self_influence", "value REAL")
                                         << "UPDATE self_influence SET value = NULL WHERE example_id = 17"
                                         << selfInfluence << "self_influence row (model 1, example 17): value is NULL";
    QTest::newRow("label history label out of range, info")
        << "" << "INSERT INTO label_history(example_id, old_label, new_label, time_ms, origin) VALUES(17, 0, 99, 0, 'x')"
        << info << "label_history row 1: new_label is 99, expected 0 to 9";
    // Found by fuzz_project: std::stoll threw through activeModel() (std::terminate).
    QTest::newRow("active model not a number, query")
        << "" << "INSERT OR REPLACE INTO meta(key, value) VALUES('active_model', 'x1')" << query
        << "meta row 'active_model': 'x1' is not a model id";
    QTest::newRow("active model not a number, self-influence")
        << "" << "INSERT OR REPLACE INTO meta(key, value) VALUES('active_model', '99999999999999999999')"
        << selfInfluence << "meta row 'active_model': '99999999999999999999' is not a model id";
    // atoi() of a NULL schema version would read address 0.
    QTest::newRow("schema version NULL, info") << allowNull("meta", "value TEXT")
                                               << "UPDATE meta SET value = NULL WHERE key = 'schema_version'" << info
                                               << "meta row 'schema_version': '' is not a schema version";
    QTest::newRow("schema version text, info") << "" << "UPDATE meta SET value = 'two' WHERE key = 'schema_version'"
                                               << info << "meta row 'schema_version': 'two' is not a schema version";
    QTest::newRow("dataset kind 7, info") << "" << "UPDATE dataset SET kind = 7" << info
                                          << "dataset row: kind is 7, expected 0 to 2";
}

void TestDamagedProject::damaged()
{
    QFETCH(QString, schema);
    QFETCH(QString, sql);
    QFETCH(QStringList, command);
    QFETCH(QString, expected);

    const QString project = m_dir.filePath(QString("damaged-%1.traclens").arg(QTest::currentDataTag()).replace(' ', '-').replace(',', ""));
    fs::remove(project.toStdString());
    fs::copy_file(m_template.toStdString(), project.toStdString());
    if (!schema.isEmpty())
        QCOMPARE(exec(project, schema), QString());
    QCOMPARE(exec(project, sql), QString());

    for (QString &arg : command)
        arg.replace("%p", project);
    QProcess p;
    p.start(QStringLiteral(TRACLENS_CLI), command);
    QVERIFY(p.waitForFinished(120000));
    const QString err = QString::fromUtf8(p.readAllStandardError());
    QVERIFY2(p.exitStatus() == QProcess::NormalExit, qPrintable("crashed: " + err));
    QVERIFY2(p.exitCode() != 0, qPrintable("succeeded on a damaged project: " + QString::fromUtf8(p.readAllStandardOutput())));
    QVERIFY2(err.contains(project + ": " + expected), qPrintable(err));
}

QTEST_GUILESS_MAIN(TestDamagedProject)
#include "test_damagedproject.moc"
