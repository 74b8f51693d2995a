// Injected label noise (core/evaluation/labelnoise.h): for every noise type, rate and class count the
// plan flips exactly ⌊rate·n + ½⌋ examples, never to the same class; pair flips follow the
// fixed map, confusion flips follow the matrix (zero weights never drawn, one-hot rows
// always, frequencies within a stated tolerance); plans are reproducible from the seed;
// matrix files are read with errors naming file and line; flips applied to a project are
// recoverable from its label history.

#include "evaluation/labelnoise.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <map>
#include <set>

using namespace traclens;

Q_DECLARE_METATYPE(traclens::NoiseType)

namespace {

// n examples with ids 100, 101, … and labels i mod k.
std::vector<ExampleRow> rows(int n, int k)
{
    std::vector<ExampleRow> out(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        out[size_t(i)].id = 100 + i;
        out[size_t(i)].currentLabel = out[size_t(i)].givenLabel = i % k;
    }
    return out;
}

// A K×K matrix with every off-diagonal weight positive and unequal (row i, column j:
// 1 + (i + 2j) mod 5), and a large diagonal that must be ignored.
std::vector<std::vector<double>> fullMatrix(int k)
{
    std::vector<std::vector<double>> m(size_t(k), std::vector<double>(size_t(k), 0.0));
    for (int i = 0; i < k; ++i)
        for (int j = 0; j < k; ++j)
            m[size_t(i)][size_t(j)] = i == j ? 1000.0 : 1.0 + (i + 2 * j) % 5;
    return m;
}

NoiseModel modelFor(NoiseType type, int k)
{
    NoiseModel m;
    m.type = type;
    if (type == NoiseType::Confusion)
        m.confusion = fullMatrix(k);
    return m;
}

std::vector<std::pair<int64_t, int>> key(const std::vector<LabelFlip> &flips)
{
    std::vector<std::pair<int64_t, int>> k;
    for (const auto &f : flips)
        k.emplace_back(f.exampleId, f.noisyLabel);
    return k;
}

std::unique_ptr<ProjectDb> labelsOnlyProject(const QString &path, int n, int k)
{
    auto db = ProjectDb::open(path.toStdString(), ProjectDb::OpenMode::Create);
    if (!db.ok())
        return nullptr;
    std::vector<std::string> classes;
    for (int i = 0; i < k; ++i)
        classes.push_back("c" + std::to_string(i));
    if (!(*db)->setDataset({SourceKind::ImageFolder, "/data", "/data", classes}).isOk())
        return nullptr;
    for (int i = 0; i < n; ++i) {
        ScannedExample ex;
        ex.source = "train/" + std::to_string(i) + ".png";
        ex.split = Split::Train;
        ex.label = i % k;
        if (!(*db)->upsertExample(ex, "h").ok())
            return nullptr;
    }
    return std::move(db).value();
}

} // namespace

class TestLabelNoise : public QObject {
    Q_OBJECT
private slots:
    void typeNames();

    void plan_data();
    void plan();
    void seeded_data();
    void seeded();
    void uniformPlanUnchangedAndPairPicksTheSameExamples();

    void pairFollowsAnExplicitMap();
    void badModelsAreRefused_data();
    void badModelsAreRefused();
    void confusionZerosAndOneHotRows();
    void confusionFrequenciesFollowTheRow();
    void uniformSpreadsOverEveryOtherClass();
    void tooFewEligibleExamples();

    void matrixFile_data();
    void matrixFile();

    void noiseAppliedAndRecovered();

private:
    QTemporaryDir m_dir;
};

void TestLabelNoise::typeNames()
{
    for (NoiseType t : {NoiseType::Uniform, NoiseType::Pair, NoiseType::Confusion})
        QCOMPARE(parseNoiseType(noiseTypeName(t)), std::optional<NoiseType>(t));
    QCOMPARE(QString(noiseTypeName(NoiseType::Pair)), QString("pair"));
    QVERIFY(!parseNoiseType("symmetric"));
    QVERIFY(!parseNoiseType(""));
    QCOMPARE(cyclicPairMap(3), (std::vector<int>{1, 2, 0}));
}

void TestLabelNoise::plan_data()
{
    QTest::addColumn<NoiseType>("type");
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("classes");
    QTest::addColumn<double>("rate");
    QTest::addColumn<int>("expected");
    const std::pair<const char *, NoiseType> types[] = {
        {"uniform", NoiseType::Uniform}, {"pair", NoiseType::Pair}, {"confusion", NoiseType::Confusion}};
    for (const auto &[name, type] : types) {
        auto row = [&](const char *what) -> QTestData & { return QTest::newRow(qPrintable(QString("%1: %2").arg(name, what))); };
        row("10% of 1000, 10 classes") << type << 1000 << 10 << 0.1 << 100;
        row("20% of 37, 2 classes") << type << 37 << 2 << 0.2 << 7; // 7.4 rounds to 7
        row("25% of 6, 3 classes") << type << 6 << 3 << 0.25 << 2;  // 1.5 rounds up
        row("30% of 7, 3 classes") << type << 7 << 3 << 0.3 << 2;   // 2.1 rounds to 2
        row("all of 12, 4 classes") << type << 12 << 4 << 1.0 << 12;
        row("rate above 1 is clamped") << type << 12 << 4 << 1.5 << 12;
        row("no rate") << type << 50 << 5 << 0.0 << 0;
        row("one class cannot flip") << type << 50 << 1 << 0.5 << 0;
    }
}

void TestLabelNoise::plan()
{
    QFETCH(NoiseType, type);
    QFETCH(int, n);
    QFETCH(int, classes);
    QFETCH(double, rate);
    QFETCH(int, expected);
    const auto examples = rows(n, std::max(1, classes));
    const NoiseModel model = modelFor(type, std::max(1, classes));
    auto flips = planLabelNoise(examples, classes, rate, 42, model);
    QVERIFY2(flips.ok(), flips.status().message().c_str());
    QCOMPARE(int(flips->size()), expected);
    std::set<int64_t> ids;
    for (const auto &f : *flips) {
        QVERIFY(ids.insert(f.exampleId).second); // no example twice
        const ExampleRow &e = examples[size_t(f.exampleId - 100)];
        QCOMPARE(f.trueLabel, e.currentLabel);
        QVERIFY(f.noisyLabel != f.trueLabel);
        QVERIFY(f.noisyLabel >= 0 && f.noisyLabel < classes);
        if (type == NoiseType::Pair)
            QCOMPARE(f.noisyLabel, (f.trueLabel + 1) % classes);
    }
    QVERIFY(std::is_sorted(flips->begin(), flips->end(),
                           [](const LabelFlip &a, const LabelFlip &b) { return a.exampleId < b.exampleId; }));
}

void TestLabelNoise::seeded_data()
{
    QTest::addColumn<NoiseType>("type");
    QTest::newRow("uniform") << NoiseType::Uniform;
    QTest::newRow("pair") << NoiseType::Pair;
    QTest::newRow("confusion") << NoiseType::Confusion;
}

void TestLabelNoise::seeded()
{
    QFETCH(NoiseType, type);
    const auto examples = rows(500, 10);
    const NoiseModel model = modelFor(type, 10);
    const auto a = planLabelNoise(examples, 10, 0.1, 7, model);
    const auto again = planLabelNoise(examples, 10, 0.1, 7, model);
    const auto other = planLabelNoise(examples, 10, 0.1, 8, model);
    QVERIFY(a.ok() && again.ok() && other.ok());
    QCOMPARE(key(*again), key(*a));
    QVERIFY(key(*other) != key(*a));
}

void TestLabelNoise::uniformPlanUnchangedAndPairPicksTheSameExamples()
{
    // The uniform plan is the one evaluations made before noise types existed: the first
    // flips of seed 1 on 50 examples of 5 classes, recorded from that implementation.
    const auto examples = rows(50, 5);
    const auto uniform = planLabelNoise(examples, 5, 0.1, 1);
    const std::vector<std::pair<int64_t, int>> recorded{{103, 0}, {112, 0}, {120, 1}, {128, 1}, {144, 1}};
    QCOMPARE(key(uniform), recorded);
    auto viaModel = planLabelNoise(examples, 5, 0.1, 1, NoiseModel{});
    QVERIFY(viaModel.ok());
    QCOMPARE(key(*viaModel), key(uniform));
    // Pair noise draws the same examples with the same seed; only the target differs.
    auto pair = planLabelNoise(examples, 5, 0.1, 1, modelFor(NoiseType::Pair, 5));
    QVERIFY(pair.ok());
    QCOMPARE(pair->size(), uniform.size());
    for (size_t i = 0; i < uniform.size(); ++i)
        QCOMPARE((*pair)[i].exampleId, uniform[i].exampleId);
}

void TestLabelNoise::pairFollowsAnExplicitMap()
{
    NoiseModel m;
    m.type = NoiseType::Pair;
    m.pairTarget = {3, 0, 0, 1};
    auto flips = planLabelNoise(rows(400, 4), 4, 0.5, 3, m);
    QVERIFY(flips.ok());
    QCOMPARE(flips->size(), size_t(200));
    std::set<int> seenTrue;
    for (const auto &f : *flips) {
        QCOMPARE(f.noisyLabel, m.pairTarget[size_t(f.trueLabel)]);
        seenTrue.insert(f.trueLabel);
    }
    QCOMPARE(seenTrue.size(), size_t(4)); // every class is flipped somewhere
}

void TestLabelNoise::badModelsAreRefused_data()
{
    QTest::addColumn<int>("which");
    QTest::addColumn<QString>("message");
    QTest::newRow("pair map too short") << 0 << "pair map has 2 entries for 3 classes";
    QTest::newRow("pair map to itself") << 1 << "sends class 1 to 1";
    QTest::newRow("pair map out of range") << 2 << "sends class 0 to 3";
    QTest::newRow("matrix missing") << 3 << "has 0 rows for 3 classes";
    QTest::newRow("matrix row too short") << 4 << "row 2 of the confusion matrix has 2 entries";
    QTest::newRow("negative weight") << 5 << "row 1 of the confusion matrix holds a negative";
}

void TestLabelNoise::badModelsAreRefused()
{
    QFETCH(int, which);
    QFETCH(QString, message);
    NoiseModel m;
    switch (which) {
    case 0: m = {NoiseType::Pair, {1, 2}, {}}; break;
    case 1: m = {NoiseType::Pair, {1, 1, 0}, {}}; break;
    case 2: m = {NoiseType::Pair, {3, 0, 1}, {}}; break;
    case 3: m = {NoiseType::Confusion, {}, {}}; break;
    case 4: m = {NoiseType::Confusion, {}, {{0, 1, 1}, {1, 0, 1}, {1, 1}}}; break;
    default: m = {NoiseType::Confusion, {}, {{0, 1, 1}, {1, 0, -1}, {1, 1, 0}}}; break;
    }
    auto flips = planLabelNoise(rows(30, 3), 3, 0.1, 1, m);
    QVERIFY(!flips.ok());
    QCOMPARE(flips.status().code(), Status::Code::InvalidArgument);
    QVERIFY2(QString::fromStdString(flips.status().message()).contains(message), flips.status().message().c_str());
}

void TestLabelNoise::confusionZerosAndOneHotRows()
{
    // Class 0 is confused with nothing (only its diagonal), class 1 always with class 2
    // (one-hot), class 2 with 0 and 3 but never 1, class 3 with everything.
    NoiseModel m;
    m.type = NoiseType::Confusion;
    m.confusion = {{50, 0, 0, 0}, {0, 9, 4, 0}, {2, 0, 1, 6}, {1, 1, 1, 1}};
    const auto examples = rows(4000, 4);
    auto flips = planLabelNoise(examples, 4, 0.5, 11, m);
    QVERIFY2(flips.ok(), flips.status().message().c_str());
    QCOMPARE(flips->size(), size_t(2000)); // the requested share of all 4000, from the 3000 eligible
    std::map<int, int> perClass;
    for (const auto &f : *flips) {
        ++perClass[f.trueLabel];
        QVERIFY2(f.trueLabel != 0, "a class with no off-diagonal weight was flipped");
        if (f.trueLabel == 1)
            QCOMPARE(f.noisyLabel, 2);
        if (f.trueLabel == 2)
            QVERIFY(f.noisyLabel == 0 || f.noisyLabel == 3);
        QVERIFY(f.noisyLabel != f.trueLabel);
    }
    // Examples are chosen uniformly among the eligible ones: each eligible class gets about
    // a third of the flips (expected 667; ±100 is over 5 standard deviations).
    for (int c = 1; c <= 3; ++c)
        QVERIFY2(std::abs(perClass[c] - 667) < 100, qPrintable(QString("class %1: %2").arg(c).arg(perClass[c])));
}

void TestLabelNoise::confusionFrequenciesFollowTheRow()
{
    // Every example flipped; row c's off-diagonal weights, normalised, are the expected
    // shares of c's 3000 flips. Tolerance ±0.03 (more than 3 standard deviations of a
    // share of 3000 draws, at most 0.0091).
    const int k = 4;
    const auto m = fullMatrix(k);
    NoiseModel model{NoiseType::Confusion, {}, m};
    auto flips = planLabelNoise(rows(12000, k), k, 1.0, 5, model);
    QVERIFY(flips.ok());
    std::map<std::pair<int, int>, int> counts;
    std::map<int, int> rowTotal;
    for (const auto &f : *flips) {
        ++counts[{f.trueLabel, f.noisyLabel}];
        ++rowTotal[f.trueLabel];
    }
    for (int i = 0; i < k; ++i) {
        QCOMPARE(rowTotal[i], 3000);
        double off = 0.0;
        for (int j = 0; j < k; ++j)
            off += i == j ? 0.0 : m[size_t(i)][size_t(j)];
        for (int j = 0; j < k; ++j) {
            if (i == j) {
                QCOMPARE((counts[{i, j}]), 0);
                continue;
            }
            const double expected = m[size_t(i)][size_t(j)] / off;
            const double seen = counts[{i, j}] / 3000.0;
            QVERIFY2(std::abs(seen - expected) < 0.03,
                     qPrintable(QString("%1 → %2: %3 vs %4").arg(i).arg(j).arg(seen).arg(expected)));
        }
    }
}

void TestLabelNoise::uniformSpreadsOverEveryOtherClass()
{
    // 4 classes, 3000 flips: each true class's flips spread over the 3 others evenly
    // (expected 250 each; ±25% is far outside chance for a uniform draw).
    const auto flips = planLabelNoise(rows(3000, 4), 4, 1.0, 1);
    std::map<std::pair<int, int>, int> counts;
    for (const auto &f : flips)
        ++counts[{f.trueLabel, f.noisyLabel}];
    QCOMPARE(int(counts.size()), 12);
    for (const auto &[pair, count] : counts) {
        QVERIFY(pair.first != pair.second);
        QVERIFY2(count > 187 && count < 313, qPrintable(QString("%1 → %2: %3").arg(pair.first).arg(pair.second).arg(count)));
    }
}

void TestLabelNoise::tooFewEligibleExamples()
{
    NoiseModel m{NoiseType::Confusion, {}, {{0, 1, 0}, {0, 1, 0}, {0, 0, 1}}}; // only class 0 moves
    auto flips = planLabelNoise(rows(30, 3), 3, 0.5, 1, m);                     // 15 flips, 10 eligible
    QVERIFY(!flips.ok());
    QVERIFY2(QString::fromStdString(flips.status().message()).contains("15 flips requested, but only 10"),
             flips.status().message().c_str());
    auto fits = planLabelNoise(rows(30, 3), 3, 0.3, 1, m); // 9 of 10
    QVERIFY(fits.ok());
    QCOMPARE(fits->size(), size_t(9));
}

void TestLabelNoise::matrixFile_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("error"); // "" = reads; else the expected "file:line: …" tail
    QTest::newRow("commas, comments, blank lines") << QByteArray("# true \\ assigned\n\n10, 2, 0\n1,20,3\n 0 ,0, 7\n")
                                                   << "";
    QTest::newRow("tabs and spaces, CRLF") << QByteArray("10\t2\t0\r\n1 20 3\r\n0\t0  7\r\n") << "";
    QTest::newRow("short row") << QByteArray("10,2,0\n1,20\n0,0,7\n") << ":2: 2 numbers, the dataset has 3 classes";
    QTest::newRow("not a number") << QByteArray("# c\n10,2,0\n1,x,3\n0,0,7\n") << ":3: 'x' is not a non-negative number";
    QTest::newRow("negative") << QByteArray("10,2,0\n1,2,3\n0,-1,7\n") << ":3: '-1' is not a non-negative number";
    QTest::newRow("too many rows") << QByteArray("1,1,1\n1,1,1\n1,1,1\n1,1,1\n") << ":4: more than 3 rows (one per class is expected)";
    QTest::newRow("too few rows") << QByteArray("1,1,1\n1,1,1\n") << ": 2 rows, the dataset has 3 classes (one row per true class)";
}

void TestLabelNoise::matrixFile()
{
    QFETCH(QByteArray, text);
    QFETCH(QString, error);
    const QString path = m_dir.filePath(QString("matrix-%1.csv").arg(QTest::currentDataTag()).replace(' ', '_'));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(text);
    f.close();
    auto m = readConfusionMatrix(path.toStdString(), 3);
    if (error.isEmpty()) {
        QVERIFY2(m.ok(), m.status().message().c_str());
        QCOMPARE(*m, (std::vector<std::vector<double>>{{10, 2, 0}, {1, 20, 3}, {0, 0, 7}}));
    } else {
        QVERIFY(!m.ok());
        QCOMPARE(QString::fromStdString(m.status().message()), path + error);
    }
    QCOMPARE(readConfusionMatrix(m_dir.filePath("missing.csv").toStdString(), 3).status().code(),
             Status::Code::NotFound);
}

void TestLabelNoise::noiseAppliedAndRecovered()
{
    auto db = labelsOnlyProject(m_dir.filePath("labels.traclens"), 200, 5);
    QVERIFY(db);
    auto train = db->examples(Split::Train);
    QVERIFY(train.ok());
    auto flips = planLabelNoise(*train, 5, 0.1, 9, modelFor(NoiseType::Pair, 5));
    QVERIFY(flips.ok());
    QCOMPARE(flips->size(), size_t(20));
    QVERIFY(applyLabelNoise(*db, *flips).isOk());
    auto after = db->examples(Split::Train);
    QVERIFY(after.ok());
    std::map<int64_t, ExampleRow> byId;
    for (const auto &e : *after)
        byId[e.id] = e;
    int changed = 0;
    for (const auto &e : *after)
        changed += e.currentLabel != e.givenLabel;
    QCOMPARE(changed, 20);
    for (const auto &f : *flips) {
        QCOMPARE(byId[f.exampleId].currentLabel, f.noisyLabel);
        QCOMPARE(byId[f.exampleId].givenLabel, f.trueLabel); // the truth stays in the project
    }
    auto recorded = recordedLabelNoise(*db);
    QVERIFY(recorded.ok());
    QCOMPARE(key(*recorded), key(*flips));
    // Applying the same plan again is refused as a whole: the labels are no longer the truth.
    QCOMPARE(applyLabelNoise(*db, *flips).code(), Status::Code::InvalidArgument);
    auto history = db->labelHistory();
    QVERIFY(history.ok());
    QCOMPARE(history->size(), size_t(20));
}

QTEST_MAIN(TestLabelNoise)
#include "test_labelnoise.moc"
