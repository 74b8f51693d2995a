// Scores follow the labels. After a relabel — in the desktop app's session, with
// `traclens-cli relabel`, or undone — a training example's stored factors, its
// self-influence, its place in the loss ranking (the review queue's default order) and
// its TracIn against a fixed test example equal a computation from scratch with that
// label (inference again, on a copy of the project), to 1e-6 relative. Each front end is
// read as a user sees it: the session and its loaded index, and the CLI's JSON.

#include "clirun.h"
#include "index/clusterjob.h"
#include "influence/computejob.h"
#include "store/factors.h"
#include "influence/influenceindex.h"
#include "store/projectdb.h"
#include "projectsession.h"
#include "influence/ranking.h"
#include "sessionfixture.h"
#include "testproject.h"

#include <QFile>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <filesystem>

using namespace traclens;
using namespace traclens::testing;

namespace {

// A project file with its "<project>.d" folder (models live there, named relative to
// the project).
bool copyProject(const QString &from, const QString &to)
{
    std::error_code ec;
    std::filesystem::remove_all((to + ".d").toStdString(), ec);
    QFile::remove(to);
    if (!QFile::copy(from, to))
        return false;
    if (std::filesystem::exists((from + ".d").toStdString()))
        std::filesystem::copy((from + ".d").toStdString(), (to + ".d").toStdString(),
                              std::filesystem::copy_options::recursive, ec);
    return !ec;
}

bool close(double a, double b, double rel = 1e-6)
{
    return std::abs(a - b) <= rel * std::max({std::abs(a), std::abs(b), 1e-12});
}

// What a user reads about one training example, from any front end.
struct Scores {
    double self = 0.0;
    int lossRank = -1;      // 0-based place in the default ranking (loss, last checkpoint)
    double tracin = 0.0;    // raw TracIn against the fixed test example
    std::vector<FactorRow> factors; // per checkpoint, as stored
};

// From the project file alone (any connection), scored the engine's way.
Scores fromProject(ProjectDb &db, int64_t model, int64_t id, int64_t testId)
{
    Scores s;
    auto self = db.selfInfluence(model);
    for (const auto &[e, v] : *self)
        if (e == id)
            s.self = v;
    auto ranked = rankTrainingExamples(db, model, defaultRanking());
    for (size_t i = 0; i < ranked->size(); ++i)
        if ((*ranked)[i].exampleId == id)
            s.lossRank = int(i);
    auto cps = db.checkpoints(model);
    for (const auto &cp : *cps) {
        auto a = db.factor(cp.id, id);
        auto b = db.factor(cp.id, testId);
        s.factors.push_back(**a);
        s.tracin += cp.learningRate * gradientDot((*a)->error.data(), (*a)->embedding.data(), (*b)->error.data(),
                                                  (*b)->embedding.data(), int((*a)->error.size()),
                                                  int((*a)->embedding.size()));
    }
    return s;
}

// The project copied, the example given `label` and its factors computed again by
// inference: the scores from scratch.
Scores fromScratch(const QString &project, const QString &copyDir, int64_t id, int label, int64_t testId,
                   QString *error)
{
    const QString copy = copyDir + "/scratch.traclens";
    if (!copyProject(project, copy)) {
        *error = "cannot copy the project";
        return {};
    }
    auto db = ProjectDb::open(copy.toStdString());
    if (!db.ok()) {
        *error = QString::fromStdString(db.status().message());
        return {};
    }
    auto model = (*db)->activeModel();
    (*db)->relabel(id, label, "test");
    (*db)->deleteFactorsForExample(id);
    auto computed = computeFactors(**db, **model);
    if (!computed.ok()) {
        *error = QString::fromStdString(computed.status().message());
        return {};
    }
    return fromProject(**db, **model, id, testId);
}

} // namespace

class TestRelabelScores : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void followsLabel_data();
    void followsLabel();
    void clusterSetsOfOtherClassesStayFresh();
    void indexReadBeforeARelabelCatchesUp();

private:
    QTemporaryDir m_dir;
    std::unique_ptr<TestProject> m_project;
};

void TestRelabelScores::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_project = std::make_unique<TestProject>(m_dir.filePath("base").toStdString());
    const Status s = m_project->build();
    QVERIFY2(s.isOk(), s.message().c_str());
}

void TestRelabelScores::followsLabel_data()
{
    QTest::addColumn<QString>("frontEnd");
    QTest::addColumn<bool>("undo");
    QTest::newRow("desktop session") << "session" << false;
    QTest::newRow("desktop session, undone") << "session" << true;
    QTest::newRow("traclens-cli relabel") << "cli" << false;
}

void TestRelabelScores::followsLabel()
{
    QFETCH(QString, frontEnd);
    QFETCH(bool, undo);
    // A fresh copy of the computed project for each row.
    QTemporaryDir work;
    const QString project = work.filePath("p.traclens");
    QVERIFY(copyProject(QString::fromStdString(m_project->projectPath()), project));

    int64_t id = -1, testId = -1;
    int oldLabel = -1;
    {
        auto db = ProjectDb::open(project.toStdString());
        QVERIFY(db.ok());
        auto train = (*db)->examples(Split::Train);
        auto test = (*db)->examples(Split::Test);
        id = (*train)[7].id;
        oldLabel = (*train)[7].currentLabel;
        testId = (*test)[2].id;
    }
    const int newLabel = (oldLabel + 1) % 3;
    const int expectLabel = undo ? oldLabel : newLabel;

    Scores shown;
    if (frontEnd == "session") {
        std::string error;
        auto session = openSessionWithEngine(project.toStdString(), &error);
        QVERIFY2(session, error.c_str());
        const int64_t model = *session->modelId();
        QVERIFY(session->applyDecision(id, newLabel, ReviewState::Reviewed, "user").isOk());
        if (undo)
            QVERIFY(session->applyDecision(id, oldLabel, ReviewState::None, "undo").isOk());
        // What the app shows: the session's self-influence, the queue's order, and the
        // index's TracIn list of the test example (k = every training example).
        shown.self = session->selfInfluence(id);
        const auto &queue = session->reviewQueue();
        shown.lossRank = int(std::find(queue.begin(), queue.end(), id) - queue.begin());
        const auto engine = session->engine();
        auto r = engine->query(testId, int(engine->trainIds().size()), Scoring::Raw);
        QVERIFY(r.ok());
        bool found = false;
        for (const auto &n : r->proponents)
            if (n.exampleId == id) {
                shown.tracin = n.score;
                found = true;
            }
        QVERIFY(found);
        QCOMPARE(engine->labelUsed(id), expectLabel);
        QCOMPARE(session->trainedLabel(id).has_value(), !undo);
        // The file says the same as the session.
        const Scores stored = fromProject(session->db(), model, id, testId);
        QVERIFY2(close(stored.self, shown.self), qPrintable(QString("%1 vs %2").arg(stored.self).arg(shown.self)));
        shown.factors = stored.factors;
    } else {
        auto relabel = runCli({"relabel", project, QString::number(id), QString::number(newLabel)});
        QVERIFY2(relabel.exitCode == 0, relabel.err.constData());
        auto self = runCli({"self-influence", project, "--top", "0", "--json"});
        QVERIFY2(self.exitCode == 0, self.err.constData());
        for (const auto &v : self.json().value("ranking").toArray())
            if (v.toObject().value("id").toInteger() == id)
                shown.self = v.toObject().value("self_influence").toDouble();
        auto rank = runCli({"rank", project, "--top", "0", "--json"});
        QVERIFY2(rank.exitCode == 0, rank.err.constData());
        const QJsonArray ranked = rank.json().value("examples").toArray();
        for (int i = 0; i < ranked.size(); ++i)
            if (ranked[i].toObject().value("id").toInteger() == id)
                shown.lossRank = i;
        auto query = runCli({"query", project, "--example", QString::number(testId), "--k", "1000", "--json"});
        QVERIFY2(query.exitCode == 0, query.err.constData());
        bool found = false;
        for (const auto &v : query.json().value("proponents").toArray())
            if (v.toObject().value("id").toInteger() == id) {
                shown.tracin = v.toObject().value("score").toDouble();
                found = true;
                QCOMPARE(v.toObject().contains("trained_label"), true);
            }
        QVERIFY(found);
        auto db = ProjectDb::open(project.toStdString(), ProjectDb::OpenMode::ReadOnly);
        QVERIFY(db.ok());
        shown.factors = fromProject(**db, *(*db)->activeModel().value(), id, testId).factors;
    }

    QString error;
    const Scores scratch = fromScratch(project, work.path(), id, expectLabel, testId, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QVERIFY2(close(shown.self, scratch.self),
             qPrintable(QString("self-influence %1, from scratch %2").arg(shown.self, 0, 'g', 17).arg(scratch.self, 0, 'g', 17)));
    QCOMPARE(shown.lossRank, scratch.lossRank);
    QVERIFY2(close(shown.tracin, scratch.tracin),
             qPrintable(QString("TracIn %1, from scratch %2").arg(shown.tracin, 0, 'g', 17).arg(scratch.tracin, 0, 'g', 17)));
    QCOMPARE(shown.factors.size(), scratch.factors.size());
    for (size_t c = 0; c < scratch.factors.size(); ++c) {
        QCOMPARE(shown.factors[c].labelUsed, expectLabel);
        QCOMPARE(shown.factors[c].error, scratch.factors[c].error); // p − onehot(y): the same floats
        QVERIFY2(close(shown.factors[c].loss, scratch.factors[c].loss),
                 qPrintable(QString("loss %1 vs %2").arg(shown.factors[c].loss).arg(scratch.factors[c].loss)));
    }
}

void TestRelabelScores::clusterSetsOfOtherClassesStayFresh()
{
    // A relabel from class a to class b makes the cluster sets of a and b stale and no
    // other: each set's fingerprint covers only its own members and their factors.
    QTemporaryDir work;
    const QString project = work.filePath("p.traclens");
    QVERIFY(copyProject(QString::fromStdString(m_project->projectPath()), project));
    auto db = ProjectDb::open(project.toStdString());
    QVERIFY(db.ok());
    const int64_t model = *(*db)->activeModel().value();
    ClusterOptions opt;
    opt.k = 2;
    auto first = computeClusters(**db, model, opt);
    QVERIFY(first.ok());
    QCOMPARE(first->computed, 3);
    auto again = computeClusters(**db, model, opt);
    QVERIFY(again.ok());
    QCOMPARE(again->reused, 3);
    auto train = (*db)->examples(Split::Train);
    const ExampleRow &ex = (*train)[4];
    QVERIFY((*db)->relabel(ex.id, (ex.currentLabel + 1) % 3).ok());
    auto after = computeClusters(**db, model, opt);
    QVERIFY(after.ok());
    QCOMPARE(after->computed, 2);
    QCOMPARE(after->reused, 1);
}

void TestRelabelScores::indexReadBeforeARelabelCatchesUp()
{
    // The app loads its index on the worker while the user keeps editing: an index read
    // before a relabel is brought up to date when the session receives it.
    QTemporaryDir work;
    const QString project = work.filePath("p.traclens");
    QVERIFY(copyProject(QString::fromStdString(m_project->projectPath()), project));
    auto session = ProjectSession::open(project);
    QVERIFY(session.ok());
    const int64_t model = *(*session)->modelId();
    auto early = InfluenceIndex::open((*session)->db(), model, IndexOptions::serving());
    QVERIFY(early.ok());
    const ExampleRow row = *(*session)->example((*early)->trainIds()[5]);
    const int label = (row.currentLabel + 1) % 3;
    QVERIFY((*session)->applyDecision(row.id, label, ReviewState::Reviewed, "user").isOk());
    QCOMPARE((*early)->labelUsed(row.id), row.currentLabel); // read before the relabel
    (*session)->setEngine(std::shared_ptr<InfluenceIndex>(std::move(early).value()));
    const auto engine = (*session)->engine();
    QCOMPARE(engine->labelUsed(row.id), label);
    auto fresh = InfluenceIndex::open((*session)->db(), model, IndexOptions::serving());
    QVERIFY(fresh.ok());
    QCOMPARE(engine->selfInfluence(row.id), (*fresh)->selfInfluence(row.id));
    QCOMPARE(engine->lossAtLast(row.id), (*fresh)->lossAtLast(row.id));
}

QTEST_MAIN(TestRelabelScores)
#include "test_relabelscores.moc"
