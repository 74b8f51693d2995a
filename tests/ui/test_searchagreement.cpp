// One query path: the desktop app's session and `traclens-cli query --json` give the
// same ids in the same order, with the same scores, for 50 queries on a 60,000-example
// project, raw and normalised. (Before, the app ranked with float32 scores and the CLI
// rescored in double, so near-ties could come out in another order.)

#include "clirun.h"
#include "influence/influenceindex.h"
#include "projectsession.h"
#include "sessionfixture.h"

#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest>

using namespace traclens;
using namespace traclens::testing;

class TestSearchAgreement : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void sameListsAsCli_data();
    void sameListsAsCli();

private:
    QTemporaryDir m_dir;
    QString m_project;
    std::unique_ptr<ProjectSession> m_session;
    QStringList m_queries;
};

void TestSearchAgreement::initTestCase()
{
    // TRACLENS_AGREEMENT_PROJECT names a computed project to check instead (the
    // Fashion-MNIST demo project: bench/run-search-agreement.sh); it is only read.
    m_project = qEnvironmentVariable("TRACLENS_AGREEMENT_PROJECT");
    if (m_project.isEmpty()) {
        m_project = m_dir.filePath("synth.traclens");
        // Planted near-duplicate crowds: many near-ties, where float and double orders differ.
        auto synth = runCli({"synth", m_project, "--train", "60000", "--test", "500", "--quiet"}, 600000);
        QVERIFY2(synth.exitCode == 0, synth.err.constData());
    }
    std::string error;
    m_session = openSessionWithEngine(m_project.toStdString(), &error);
    QVERIFY2(m_session, error.c_str());
    QVERIFY(m_session->engine()->trainIds().size() >= 25);
    if (qEnvironmentVariableIsEmpty("TRACLENS_AGREEMENT_PROJECT"))
        QCOMPARE(int(m_session->engine()->trainIds().size()), 60000);
    // 25 training and 25 test examples spread over the project.
    const auto &train = m_session->engine()->trainIds();
    const size_t stride = train.size() / 25;
    for (size_t i = 0; i < 25; ++i)
        m_queries << QString::number(train[i * stride]);
    std::vector<qint64> tests;
    for (const ExampleRow &row : m_session->examples())
        if (row.split == Split::Test)
            tests.push_back(row.id);
    QVERIFY(tests.size() >= 25);
    for (size_t i = 0; i < 25; ++i)
        m_queries << QString::number(tests[i * (tests.size() / 25)]);
    QCOMPARE(m_queries.size(), 50);
}

void TestSearchAgreement::sameListsAsCli_data()
{
    QTest::addColumn<bool>("normalised");
    QTest::newRow("raw") << false;
    QTest::newRow("normalised") << true;
}

void TestSearchAgreement::sameListsAsCli()
{
    QFETCH(bool, normalised);
    QStringList args{"query", m_project, "--k", "10", "--json"};
    for (const QString &id : m_queries)
        args << "--example" << id;
    if (normalised)
        args << "--normalised";
    auto cli = runCli(args, 600000);
    QVERIFY2(cli.exitCode == 0, cli.err.constData());
    const QList<QByteArray> lines = cli.out.trimmed().split('\n');
    QCOMPARE(lines.size(), m_queries.size());
    const auto engine = m_session->engine();
    int compared = 0;
    for (int i = 0; i < lines.size(); ++i) {
        const QJsonObject answer = QJsonDocument::fromJson(lines[i]).object();
        QCOMPARE(answer.value("query").toInteger(), m_queries[i].toLongLong());
        QCOMPARE(answer.value("search").toString(), QString("exact"));
        QCOMPARE(answer.value("precision").toString(), QString("float32"));
        auto app = engine->query(m_queries[i].toLongLong(), 10, normalised ? Scoring::Normalised : Scoring::Raw);
        QVERIFY(app.ok());
        const std::pair<const char *, const std::vector<Neighbour> *> lists[] = {
            {"proponents", &app->proponents}, {"opponents", &app->opponents},
            {"nearest", &app->nearest}, {"farthest", &app->farthest}};
        for (const auto &[name, list] : lists) {
            const QJsonArray shown = answer.value(name).toArray();
            QCOMPARE(shown.size(), int(list->size()));
            for (int j = 0; j < shown.size(); ++j) {
                QCOMPARE(shown[j].toObject().value("id").toInteger(), (*list)[size_t(j)].exampleId);
                QCOMPARE(shown[j].toObject().value("score").toDouble(), (*list)[size_t(j)].score);
            }
        }
        ++compared;
    }
    QCOMPARE(compared, 50);
}

QTEST_MAIN(TestSearchAgreement)
#include "test_searchagreement.moc"
