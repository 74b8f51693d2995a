// The review queue: ordered by the default ranking (the engine's rank function, read back
// from the file) with self-influence one choice away; a number key relabels the current example
// in the project file at once (read back through a second connection), undo writes a
// reverting relabel with origin "undo", redo one with "redo"; keep and skip set the review
// mark; the counter follows.

#include "neighbourlistmodel.h"
#include "store/projectdb.h"
#include "influence/ranking.h"
#include "model/crossvalidation.h"
#include "reviewpage.h"
#include "classnames.h"
#include "sessionfixture.h"
#include "testproject.h"

#include <QComboBox>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>

#include <algorithm>

using namespace traclens;
using traclens::testing::TestProject;

class TestReviewPage : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void queueFollowsDefaultRanking();
    void headerWarnsAboutWeakModel();
    void orderChoiceSwitchesQueue();
    void numberKeyRelabelsInProjectFile();
    void undoAndRedoAreWritten();
    void keepAndSkipMarkReview();
    void stripsShowProponentsAndOpponents();
    void anotherOrderRestartsAtItsTop();
    void classTexts_data();
    void classTexts();
    void noiseNoteExplainsTheDefault_data();
    void noiseNoteExplainsTheDefault(); // last: it gives the project a cross-validation
    void cleanupTestCase();

private:
    ExampleRow readBack(qint64 id);
    std::vector<LabelChange> historyOf(qint64 id);

    QTemporaryDir m_dir;
    std::unique_ptr<TestProject> m_fixture;
    std::unique_ptr<ProjectSession> m_session;
    std::unique_ptr<ReviewPage> m_page;
    qint64 m_relabelled = -1; // by numberKeyRelabelsInProjectFile, undone after
};

void TestReviewPage::initTestCase()
{
    QVERIFY(m_dir.isValid());
    traclens::testing::SyntheticSpec spec;
    spec.flipEvery = 7; // known label errors near the top of the queue
    m_fixture = std::make_unique<TestProject>(m_dir.path().toStdString(), spec);
    std::string error;
    m_session = traclens::testing::buildAndOpenSession(*m_fixture, &error);
    QVERIFY2(m_session, error.c_str());
    m_page = std::make_unique<ReviewPage>(m_session.get());
    m_page->resize(1200, 900);
    m_page->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_page.get()));
    QApplication::setActiveWindow(m_page.get());
    m_page->setFocus();
}

void TestReviewPage::classTexts_data()
{
    QTest::addColumn<int>("index");
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("button");
    QTest::addColumn<QString>("choice");
    QTest::newRow("named class") << 0 << QStringLiteral("T-shirt/top") << QStringLiteral("0  T-shirt/top")
                                 << QStringLiteral("0 · T-shirt/top");
    QTest::newRow("digit named by itself") << 3 << QStringLiteral("3") << QStringLiteral("3") << QStringLiteral("3");
    QTest::newRow("digit named by another digit") << 1 << QStringLiteral("7") << QStringLiteral("1  7")
                                                  << QStringLiteral("1 · 7");
    QTest::newRow("tenth class") << 9 << QStringLiteral("9") << QStringLiteral("9") << QStringLiteral("9");
    QTest::newRow("no key past the tenth") << 10 << QStringLiteral("10") << QStringLiteral("10") << QStringLiteral("10");
    QTest::newRow("no key past the tenth, named") << 12 << QStringLiteral("dog") << QStringLiteral("dog")
                                                  << QStringLiteral("12 · dog");
}

// The relabel buttons name the number key that relabels (the first ten classes) and the
// class; menus and choices name the class's number and the class; each says it once when
// the two are the same text (an image folder of digits).
void TestReviewPage::classTexts()
{
    QFETCH(int, index);
    QFETCH(QString, name);
    QFETCH(QString, button);
    QFETCH(QString, choice);
    QCOMPARE(relabelButtonText(index, name), button);
    QCOMPARE(numberedClassName(index, name, QStringLiteral(" · ")), choice);
}

void TestReviewPage::noiseNoteExplainsTheDefault_data()
{
    QTest::addColumn<int>("pruned"); // of 1000
    QTest::addColumn<int>("expected");
    QTest::addColumn<QString>("says");
    QTest::addColumn<int>("agreeing"); // of 1000; −1: an entry kept before the agreement was
    QTest::newRow("10 % wrong: the ensemble") << 100 << int(RankingKind::Ensemble) << QString("Under 18 % wrong") << -1;
    QTest::newRow("40 % wrong: cv-boundary") << 400 << int(RankingKind::CvBoundary)
                                            << QString("near the class boundary") << -1;
    QTest::newRow("12 % wrong, models right on 76.5 %") << 120 << int(RankingKind::Ensemble)
                                                         << QString("Under 18 % wrong") << 765;
}

void TestReviewPage::noiseNoteExplainsTheDefault()
{
    QFETCH(int, pruned);
    QFETCH(int, expected);
    QFETCH(QString, says);
    QFETCH(int, agreeing);
    auto *note = m_page->findChild<QLabel *>("labelNoiseNote");
    QVERIFY(note);
    ProjectDb &db = m_session->db();
    if (!m_session->labelNoise()) {
        // No cross-validation yet: nothing estimated, nothing said.
        QVERIFY(!note->isVisible());
        CrossValidationConfig config;
        config.folds = 2;
        config.train = TestProject::tinyTrainConfig();
        config.train.epochs = 1;
        QVERIFY(runCrossValidation(db, config).isOk());
    }
    auto run = db.crossValidationRun();
    QVERIFY(run.ok() && run->has_value());
    QJsonObject entry{{"run", qint64((*run)->id)}, {"pruned", pruned}, {"covered", 1000}};
    if (agreeing >= 0)
        entry.insert("agreeing", agreeing);
    QVERIFY(db.setMeta(kLabelNoiseMetaKey, QJsonDocument(entry).toJson(QJsonDocument::Compact).toStdString()).isOk());
    QSignalSpy changed(m_session.get(), &ProjectSession::defaultRankingChanged);
    m_session->reloadDefaultRanking();
    QCOMPARE(changed.count(), 1);
    QCOMPARE(int(m_session->defaultSpec().kind), expected);
    QVERIFY(m_session->labelNoise());
    QCOMPARE(m_session->labelNoise()->pruned, int64_t(pruned));
    QVERIFY(note->isVisible());
    const QString share = QString("%1 of %2 labels (%3 %)")
                              .arg(pruned)
                              .arg(QLocale().toString(1000), QLocale().toString(pruned / 10.0, 'f', 1));
    QVERIFY2(note->text().contains(share), qPrintable(note->text()));
    QVERIFY2(note->text().contains(says), qPrintable(note->text()));
    const QString agreement = QString("fold models' class was the label for %1 %")
                                  .arg(QLocale().toString(agreeing / 10.0, 'f', 1));
    QCOMPARE(note->text().contains(agreement), agreeing >= 0);
    QCOMPARE(note->text().contains("fold models"), agreeing >= 0);
    auto *order = m_page->findChild<QComboBox *>();
    QVERIFY(order);
    QCOMPARE(order->itemData(0).toInt(), expected);
}

void TestReviewPage::cleanupTestCase()
{
    m_page.reset();
    m_session.reset();
}

ExampleRow TestReviewPage::readBack(qint64 id)
{
    // A second connection, as another program would read the file.
    auto db = ProjectDb::open(m_fixture->projectPath(), ProjectDb::OpenMode::ReadOnly);
    if (!db.ok())
        return {};
    auto row = db.value()->example(id);
    return row.ok() ? row.value() : ExampleRow{};
}

std::vector<LabelChange> TestReviewPage::historyOf(qint64 id)
{
    auto db = ProjectDb::open(m_fixture->projectPath(), ProjectDb::OpenMode::ReadOnly);
    if (!db.ok())
        return {};
    auto h = db.value()->labelHistory(id);
    return h.ok() ? h.value() : std::vector<LabelChange>{};
}

void TestReviewPage::queueFollowsDefaultRanking()
{
    const int train = m_fixture->spec().classes * m_fixture->spec().trainPerClass;
    QCOMPARE(m_page->queueLength(), train);
    // The queue equals the engine's ranking computed from the stored factors through a
    // separate connection, id for id.
    auto db = ProjectDb::open(m_fixture->projectPath(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY(db.ok());
    auto ranked = rankTrainingExamples(*db.value(), m_fixture->modelId(), defaultRanking());
    QVERIFY2(ranked.ok(), ranked.status().message().c_str());
    std::vector<qint64> expected;
    for (const RankedExample &r : ranked.value())
        expected.push_back(r.exampleId);
    QCOMPARE(m_session->reviewQueue(), expected);
    QVERIFY(m_session->reviewOrderIsDefault());
    QCOMPARE(m_session->reviewOrderKind(), int(defaultRanking().kind));
    QCOMPARE(m_session->reviewOrderName(), QString::fromStdString(defaultRanking().toString()));
    QCOMPARE(m_page->currentId(), expected.front());
    QCOMPARE(m_page->reviewedCount(), 0);
    // The selector offers the default first and shows it.
    auto *order = m_page->findChild<QComboBox *>();
    QVERIFY(order);
    QCOMPARE(order->itemData(0).toInt(), int(defaultRanking().kind));
    QCOMPARE(order->currentIndex(), 0);
    QCOMPARE(order->count(), int(allRankingKinds().size()));
}

void TestReviewPage::headerWarnsAboutWeakModel()
{
    // The fixture's model (2 epochs, 20 examples per class) is too weak: a small warning
    // in the header, the problems and what to do in its tooltip.
    auto *warning = m_page->findChild<QLabel *>("weakModelWarning");
    QVERIFY(warning);
    QVERIFY(warning->isVisible());
    QVERIFY(warning->text().contains("too weak"));
    QVERIFY(warning->toolTip().contains("Train more epochs: Project ▸ Train Model"));
}

void TestReviewPage::orderChoiceSwitchesQueue()
{
    auto *order = m_page->findChild<QComboBox *>();
    QVERIFY(order);
    const int self = order->findData(int(RankingKind::SelfInfluence));
    QVERIFY(self > 0);
    QSignalSpy changed(m_session.get(), &ProjectSession::reviewOrderChanged);
    order->setCurrentIndex(self);
    emit order->activated(self);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(m_session->reviewQueue(), m_session->selfInfluenceRanking());
    const auto &queue = m_session->reviewQueue();
    for (size_t i = 1; i < queue.size(); ++i)
        QVERIFY(m_session->selfInfluence(queue[i - 1]) >= m_session->selfInfluence(queue[i]));
    QCOMPARE(m_page->currentId(), queue.front());
    QVERIFY(!m_session->reviewOrderIsDefault());
    QCOMPARE(m_session->reviewOrderKind(), int(RankingKind::SelfInfluence));

    // Back to the recommended order, and the selector follows the session.
    m_session->resetReviewOrder();
    QCOMPARE(order->currentIndex(), 0);
    QVERIFY(m_session->reviewOrderIsDefault());
    QCOMPARE(m_page->currentId(), m_session->reviewQueue().front());
}

void TestReviewPage::numberKeyRelabelsInProjectFile()
{
    const qint64 id = m_page->currentId();
    QVERIFY(id >= 0);
    const int before = m_session->example(id)->currentLabel;
    const int target = (before + 1) % m_session->numClasses();
    QSignalSpy changed(m_page.get(), &ReviewPage::currentChanged);

    // The example the queue shows after this one, chosen before the relabel reorders it.
    const auto queue = m_session->reviewQueue();
    const qint64 next = queue[size_t(std::find(queue.begin(), queue.end(), id) - queue.begin()) + 1];

    QTest::keyClick(m_page.get(), Qt::Key(Qt::Key_0 + target));
    m_relabelled = id;

    const ExampleRow row = readBack(id);
    QCOMPARE(row.currentLabel, target);
    QCOMPARE(row.review, ReviewState::Reviewed);
    const auto history = historyOf(id);
    QVERIFY(!history.empty());
    QCOMPARE(history.back().origin, std::string("user"));
    QCOMPARE(history.back().oldLabel, before);
    QCOMPARE(history.back().newLabel, target);
    // The queue moved on to the next example (the relabel reordered the queue: scores
    // follow the label) and counts the decision.
    QCOMPARE(m_page->currentId(), next);
    QCOMPARE(m_page->reviewedCount(), 1);
    QVERIFY(m_page->findChild<QLabel *>() != nullptr);
    bool counterFound = false;
    for (QLabel *l : m_page->findChildren<QLabel *>())
        counterFound |= l->text() == QStringLiteral("Reviewed 1 of %1").arg(m_page->queueLength());
    QVERIFY(counterFound);
}

void TestReviewPage::undoAndRedoAreWritten()
{
    QUndoStack *stack = m_session->undoStack();
    QVERIFY(stack->canUndo());
    const qint64 id = m_relabelled;
    QVERIFY(id >= 0);
    const int relabelled = readBack(id).currentLabel;
    const int original = readBack(id).givenLabel;

    stack->undo();
    ExampleRow row = readBack(id);
    QCOMPARE(row.currentLabel, original);
    QCOMPARE(row.review, ReviewState::None);
    QCOMPARE(historyOf(id).back().origin, std::string("undo"));
    QCOMPARE(m_page->currentId(), id); // undo brings it back on screen
    QCOMPARE(m_page->reviewedCount(), 0);

    stack->redo();
    row = readBack(id);
    QCOMPARE(row.currentLabel, relabelled);
    QCOMPARE(row.review, ReviewState::Reviewed);
    QCOMPARE(historyOf(id).back().origin, std::string("redo"));

    stack->undo();
    QCOMPARE(readBack(id).currentLabel, original);
}

void TestReviewPage::keepAndSkipMarkReview()
{
    const qint64 first = m_page->currentId();
    const int label = m_session->example(first)->currentLabel;
    QTest::keyClick(m_page.get(), Qt::Key_K);
    ExampleRow row = readBack(first);
    QCOMPARE(row.review, ReviewState::Reviewed);
    QCOMPARE(row.currentLabel, label); // keep writes no relabel

    const qint64 second = m_page->currentId();
    QVERIFY(second != first);
    m_page->skip();
    QCOMPARE(readBack(second).review, ReviewState::Skipped);
    QVERIFY(m_page->currentId() != second);
    QCOMPARE(m_page->reviewedCount(), 1); // skipped does not count as reviewed

    m_session->undoStack()->undo();
    QCOMPARE(readBack(second).review, ReviewState::None);
    QCOMPARE(m_page->currentId(), second);
}

void TestReviewPage::stripsShowProponentsAndOpponents()
{
    const qint64 id = m_page->currentId();
    auto answer = m_session->engine()->query(id, ReviewPage::kStripLength, Scoring::Raw);
    QVERIFY(answer.ok());
    QTRY_COMPARE_WITH_TIMEOUT(m_page->proponentsModel()->rowCount(), int(answer->proponents.size()), 10000);
    QVector<qint64> pro, opp;
    for (const Neighbour &n : answer->proponents)
        pro << n.exampleId;
    for (const Neighbour &n : answer->opponents)
        opp << n.exampleId;
    QTRY_COMPARE_WITH_TIMEOUT(m_page->proponentsModel()->exampleIds(), pro, 10000);
    QCOMPARE(m_page->opponentsModel()->exampleIds(), opp);
}

void TestReviewPage::anotherOrderRestartsAtItsTop()
{
    // Reverse self-influence as a stand-in for another ranking: the queue follows it and
    // starts at its first undecided example.
    std::vector<qint64> reversed(m_session->reviewQueue().rbegin(), m_session->reviewQueue().rend());
    m_session->setReviewOrder(reversed, "reversed");
    QCOMPARE(m_page->queueLength(), int(reversed.size()));
    QCOMPARE(m_page->currentId(), reversed.front());
    bool rankText = false;
    for (QLabel *l : m_page->findChildren<QLabel *>())
        rankText |= l->text().startsWith(QStringLiteral("Rank 1 of %1 by reversed").arg(reversed.size()));
    QVERIFY(rankText);
    auto *order = m_page->findChild<QComboBox *>();
    QCOMPARE(m_session->reviewOrderKind(), -1); // an order given by hand is none of the offered ones
    m_session->resetReviewOrder();
    QVERIFY(m_session->reviewOrderIsDefault());
    QCOMPARE(order->currentIndex(), 0);
    QVERIFY(m_page->currentId() >= 0);
}

QTEST_MAIN(TestReviewPage)
#include "test_reviewpage.moc"
