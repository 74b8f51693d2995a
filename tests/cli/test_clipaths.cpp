// One path form everywhere: every command prints example paths relative to the dataset
// root, and every command that takes an example accepts its id, that relative path, or
// the absolute path under the root; a path outside the root is refused, naming the root.

#include "clirun.h"
#include "store/projectdb.h"
#include "testproject.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

namespace {

using Run = traclens::testing::CliRun;

Run cli(const QStringList &args) { return traclens::testing::runCli(args, 120000); }

} // namespace

class TestCliPaths : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void acceptsEveryForm_data();
    void acceptsEveryForm();
    void refusesPathsOutsideTheRoot_data();
    void refusesPathsOutsideTheRoot();
    void printsRelativePaths_data();
    void printsRelativePaths();

private:
    // The id a command's JSON answer names (query: "query", index: result.query, relabel: "id").
    static qint64 answeredId(const QString &command, const QJsonObject &o);
    QStringList commandFor(const QString &command, const QString &example) const;

    QTemporaryDir m_dir;
    QString m_project, m_root;
    traclens::ExampleRow m_example; // a training example
    QString m_label;                // its class name
};

void TestCliPaths::initTestCase()
{
    QVERIFY(m_dir.isValid());
    traclens::testing::TestProject project(m_dir.path().toStdString());
    const traclens::Status built = project.build();
    QVERIFY2(built.isOk(), built.message().c_str());
    m_project = QString::fromStdString(project.projectPath());
    m_root = QString::fromStdString(project.datasetPath());
    auto db = traclens::ProjectDb::open(project.projectPath(), traclens::ProjectDb::OpenMode::ReadOnly);
    QVERIFY(db.ok());
    auto train = db.value()->examples(traclens::Split::Train);
    auto classes = db.value()->classes();
    QVERIFY(train.ok() && classes.ok() && train->size() > 5);
    m_example = (*train)[5];
    m_label = QString::fromStdString((*classes)[size_t(m_example.currentLabel)]);
}

QStringList TestCliPaths::commandFor(const QString &command, const QString &example) const
{
    if (command == "query")
        return {"query", m_project, "--example", example, "--k", "2", "--json"};
    if (command == "index")
        return {"index", m_project, "--query", example, "--k", "2", "--exact", "--json", "--quiet"};
    // Relabelling to its own label changes nothing and answers with the id.
    return {"relabel", m_project, example, m_label, "--json"};
}

qint64 TestCliPaths::answeredId(const QString &command, const QJsonObject &o)
{
    if (command == "query")
        return o.value("query").toInteger();
    if (command == "index")
        return o.value("result").toObject().value("query").toInteger();
    return o.value("id").toInteger();
}

void TestCliPaths::acceptsEveryForm_data()
{
    QTest::addColumn<QString>("command");
    QTest::addColumn<QString>("form");
    for (const char *command : {"query", "index", "relabel"})
        for (const char *form : {"id", "relative", "absolute", "absolute, not normalised", "relative with ./"})
            QTest::newRow(qPrintable(QString("%1: %2").arg(command, form))) << command << form;
}

void TestCliPaths::acceptsEveryForm()
{
    QFETCH(QString, command);
    QFETCH(QString, form);
    const QString relative = QString::fromStdString(m_example.source);
    QString example = form == "id"                         ? QString::number(m_example.id)
                      : form == "relative"                 ? relative
                      : form == "absolute"                 ? m_root + "/" + relative
                      : form == "absolute, not normalised" ? m_root + "/train/../" + relative
                                                           : "./" + relative;
    const Run r = cli(commandFor(command, example));
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(answeredId(command, r.json()), qint64(m_example.id));
}

void TestCliPaths::refusesPathsOutsideTheRoot_data()
{
    QTest::addColumn<QString>("command");
    QTest::addColumn<QString>("example");
    for (const char *command : {"query", "index", "relabel"}) {
        QTest::newRow(qPrintable(QString("%1: absolute, elsewhere").arg(command))) << command << "@dir/elsewhere.png";
        QTest::newRow(qPrintable(QString("%1: relative, leaving the root").arg(command)))
            << command << "../project.traclens";
    }
}

void TestCliPaths::refusesPathsOutsideTheRoot()
{
    QFETCH(QString, command);
    QFETCH(QString, example);
    example.replace("@dir", m_dir.path());
    const Run r = cli(commandFor(command, example));
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains(example.toUtf8()), r.err.constData());
    QVERIFY2(r.err.contains(("is outside the dataset root " + m_root).toUtf8()), r.err.constData());
}

void TestCliPaths::printsRelativePaths_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("where"); // how to find the paths in the JSON answer
    QTest::newRow("query: the query and its lists") << QStringList{"query", "@project", "--example", "@id", "--k", "3"}
                                                   << "query";
    QTest::newRow("self-influence") << QStringList{"self-influence", "@project", "--top", "5"} << "ranking";
    QTest::newRow("rank") << QStringList{"rank", "@project", "--top", "5"} << "examples";
    QTest::newRow("relabel") << QStringList{"relabel", "@project", "@id", "@label"} << "path";
}

void TestCliPaths::printsRelativePaths()
{
    QFETCH(QStringList, args);
    QFETCH(QString, where);
    args.replaceInStrings("@project", m_project);
    args.replaceInStrings("@id", QString::number(m_example.id));
    args.replaceInStrings("@label", m_label);
    const Run r = cli(args + QStringList{"--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject o = r.json();
    QList<QPair<qint64, QString>> printed; // id and path
    if (where == "query") {
        printed << qMakePair(o.value("query").toInteger(), o.value("path").toString());
        for (const char *list : {"proponents", "opponents", "nearest", "farthest"})
            for (const auto &v : o.value(list).toArray())
                printed << qMakePair(v.toObject().value("id").toInteger(), v.toObject().value("path").toString());
    } else if (where == "path") {
        printed << qMakePair(o.value("id").toInteger(), o.value("path").toString());
    } else {
        for (const auto &v : o.value(where).toArray())
            printed << qMakePair(v.toObject().value("id").toInteger(), v.toObject().value("path").toString());
    }
    QVERIFY(printed.size() >= 1);
    for (const auto &[id, path] : printed) {
        QVERIFY2(!path.isEmpty() && !QDir::isAbsolutePath(path), qPrintable(path));
        QVERIFY2(QFile::exists(m_root + "/" + path), qPrintable(path));
    }
    // What one command prints, another takes back: the first path names the same example.
    const Run back = cli({"query", m_project, "--example", printed.first().second, "--k", "1", "--json"});
    QVERIFY2(back.exitCode == 0, back.err.constData());
    QCOMPARE(back.json().value("query").toInteger(), printed.first().first);
    // The text answer prints the same relative path.
    const Run text = cli(args);
    QVERIFY2(text.exitCode == 0, text.err.constData());
    QVERIFY2(text.out.contains(printed.first().second.toUtf8()), text.out.constData());
    QVERIFY2(!text.out.contains(m_root.toUtf8()), text.out.constData());
}

QTEST_GUILESS_MAIN(TestCliPaths)
#include "test_clipaths.moc"
