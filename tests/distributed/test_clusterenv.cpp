// The launcher's environment read as torchrun and SLURM set it (core/distributed/
// clusterenv.h), and the wire format's round trip and its refusal of garbled bytes.

#include "distributed/clusterenv.h"
#include "distributed/wireformat.h"

#include <QtTest>

#include <map>

using namespace traclens;

class TestClusterEnv : public QObject {
    Q_OBJECT
private slots:
    void firstSlurmHost_data();
    void firstSlurmHost();
    void roles_data();
    void roles();
    void factorsRoundTripBitForBit();
    void garbledBytesAreRefused();
};

void TestClusterEnv::firstSlurmHost_data()
{
    QTest::addColumn<QString>("list");
    QTest::addColumn<QString>("first");
    QTest::newRow("one host") << "node7" << "node7";
    QTest::newRow("hosts") << "alpha,beta" << "alpha";
    QTest::newRow("range, padding kept") << "node[03-05,9],gpu1" << "node03";
    QTest::newRow("single in brackets") << "c[12]" << "c12";
    QTest::newRow("list in brackets") << "c[4,7-8]" << "c4";
}

void TestClusterEnv::firstSlurmHost()
{
    QFETCH(QString, list);
    QFETCH(QString, first);
    QCOMPARE(QString::fromStdString(traclens::firstSlurmHost(list.toStdString())), first);
}

void TestClusterEnv::roles_data()
{
    QTest::addColumn<QString>("env"); // "NAME=value;NAME=value"
    QTest::addColumn<int>("rank");    // -1: refused
    QTest::addColumn<int>("world");
    QTest::addColumn<QString>("master");
    QTest::addColumn<int>("port");
    QTest::newRow("torchrun") << "RANK=2;WORLD_SIZE=4;MASTER_ADDR=10.0.0.1;MASTER_PORT=29511" << 2 << 4 << "10.0.0.1"
                              << 29511;
    QTest::newRow("default port") << "RANK=0;WORLD_SIZE=2;MASTER_ADDR=h" << 0 << 2 << "h" << 29500;
    QTest::newRow("srun") << "SLURM_PROCID=5;SLURM_NTASKS=9;SLURM_JOB_NODELIST=n[010-018]" << 5 << 9 << "n010"
                          << 29500;
    QTest::newRow("torchrun wins over srun")
        << "RANK=1;WORLD_SIZE=2;MASTER_ADDR=m;SLURM_PROCID=5;SLURM_NTASKS=9" << 1 << 2 << "m" << 29500;
    QTest::newRow("no launcher") << "" << -1 << 0 << "" << 0;
    QTest::newRow("rank past the world") << "RANK=3;WORLD_SIZE=3;MASTER_ADDR=m" << -1 << 0 << "" << 0;
    QTest::newRow("no master") << "RANK=0;WORLD_SIZE=3" << -1 << 0 << "" << 0;
    QTest::newRow("bad port") << "RANK=0;WORLD_SIZE=3;MASTER_ADDR=m;MASTER_PORT=70000" << -1 << 0 << "" << 0;
    QTest::newRow("not a number") << "RANK=one;WORLD_SIZE=3;MASTER_ADDR=m" << -1 << 0 << "" << 0;
}

void TestClusterEnv::roles()
{
    QFETCH(QString, env);
    QFETCH(int, rank);
    QFETCH(int, world);
    QFETCH(QString, master);
    QFETCH(int, port);
    std::map<std::string, std::string> vars;
    for (const QString &kv : env.split(';', Qt::SkipEmptyParts))
        vars[kv.section('=', 0, 0).toStdString()] = kv.section('=', 1).toStdString();
    auto role = clusterRoleFrom(
        [&](const char *name) {
            auto it = vars.find(name);
            return it == vars.end() ? std::string() : it->second;
        },
        "host-a");
    if (rank < 0) {
        QVERIFY(!role.ok());
        QVERIFY(!role.status().message().empty());
        return;
    }
    QVERIFY2(role.ok(), role.ok() ? "" : role.status().message().c_str());
    QCOMPARE(role->rank, rank);
    QCOMPARE(role->worldSize, world);
    QCOMPARE(QString::fromStdString(role->masterAddr), master);
    QCOMPARE(role->masterPort, port);
    QCOMPARE(QString::fromStdString(role->name()), QString("rank %1 on host-a").arg(rank));
}

static ChunkFactors sampleRows()
{
    ChunkFactors f;
    f.begin = 4096;
    f.embeddingDim = 3;
    f.perCheckpoint.resize(2);
    FactorRow r;
    r.exampleId = 77;
    r.loss = 0.1f;
    r.predicted = 1;
    r.labelUsed = 2;
    r.error = {-0.0f, 1e-38f, 0.3f};
    r.probs = {0.2f, 0.5f, 0.3f};
    r.embedding = {1.0f / 3.0f, 7.0f, 1e30f};
    f.perCheckpoint[0] = {r};
    r.exampleId = 78;
    f.perCheckpoint[1] = {r, r};
    return f;
}

void TestClusterEnv::factorsRoundTripBitForBit()
{
    const ChunkFactors f = sampleRows();
    const wire::Bytes b = wire::encodeFactors(12, f);
    int64_t index = -1;
    auto back = wire::decodeFactors(b.data(), b.size(), &index);
    QVERIFY(back.ok());
    QCOMPARE(index, int64_t(12));
    QCOMPARE(back->begin, f.begin);
    QCOMPARE(back->pairs(), int64_t(3));
    const FactorRow &a = f.perCheckpoint[1][1], &c = back->perCheckpoint[1][1];
    QCOMPARE(c.exampleId, a.exampleId);
    QCOMPARE(std::memcmp(c.error.data(), a.error.data(), 3 * sizeof(float)), 0);
    QCOMPARE(std::memcmp(c.embedding.data(), a.embedding.data(), 3 * sizeof(float)), 0);
    QCOMPARE(std::memcmp(c.probs.data(), a.probs.data(), 3 * sizeof(float)), 0);

    ComputeChunk chunk;
    chunk.begin = 64;
    chunk.examples.push_back({5, "train/cat/1.png", 3, {1, 0}});
    auto chunkBack = wire::decodeChunk(wire::encodeChunk(chunk));
    QVERIFY(chunkBack.ok());
    QCOMPARE(chunkBack->examples.at(0).source, std::string("train/cat/1.png"));
    QCOMPARE(chunkBack->examples.at(0).missing, (std::vector<uint8_t>{1, 0}));
}

void TestClusterEnv::garbledBytesAreRefused()
{
    const wire::Bytes b = wire::encodeFactors(1, sampleRows());
    int64_t index = 0;
    for (size_t cut : {size_t(0), size_t(3), b.size() / 2, b.size() - 1})
        QVERIFY(!wire::decodeFactors(b.data(), cut, &index).ok());
    wire::Bytes longer = b;
    longer.push_back(0);
    QVERIFY(!wire::decodeFactors(longer.data(), longer.size(), &index).ok());
    wire::Bytes badLength = b;
    badLength[4 + 8 + 8 + 4] = 0xff; // the checkpoint count
    QVERIFY(!wire::decodeFactors(badLength.data(), badLength.size(), &index).ok());
}

QTEST_GUILESS_MAIN(TestClusterEnv)
#include "test_clusterenv.moc"
