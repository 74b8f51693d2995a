// Schema 1 → 2 (clusters): a schema-1 project upgrades on a read-write open and keeps
// its data; a read-only open reads it as it is, without cluster tables, and leaves the
// file untouched.

#include "projectdb.h"

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

bool rawExec(const QString &path, const char *sql)
{
    sqlite3 *db = nullptr;
    if (sqlite3_open(path.toUtf8().constData(), &db) != SQLITE_OK)
        return false;
    const bool ok = sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
    sqlite3_close(db);
    return ok;
}

int tableCount(const QString &path, const char *name)
{
    sqlite3 *db = nullptr;
    sqlite3_open(path.toUtf8().constData(), &db);
    sqlite3_stmt *st = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?", -1, &st, nullptr);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_step(st);
    const int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

// A project with examples, a relabel, a model and factors, turned back into schema 1
// exactly: schema 1 is schema 2 without the two cluster tables.
bool makeSchema1Project(const QString &path, int64_t *modelId)
{
    {
        auto db = ProjectDb::open(path.toStdString(), ProjectDb::OpenMode::Create);
        if (!db.ok())
            return false;
        if (!(*db)->setDataset({SourceKind::ImageFolder, "/data", "/data", {"cat", "dog"}}).isOk())
            return false;
        for (int i = 0; i < 4; ++i) {
            ScannedExample ex;
            ex.source = "train/x" + std::to_string(i) + ".png";
            ex.label = i % 2;
            if (!(*db)->upsertExample(ex, "h").ok())
                return false;
        }
        if (!(*db)->relabel(1, 1, "user").ok()) // example 1 was imported as "cat"
            return false;
        ModelRow m;
        m.name = "m";
        m.directory = "/m";
        m.numClasses = 2;
        m.embeddingDim = 3;
        auto id = (*db)->addModel(m, {CheckpointRow{0, 0, 0, "c.pt", 0.1}});
        if (!id.ok())
            return false;
        *modelId = *id;
        auto cps = (*db)->checkpoints(*id);
        FactorRow f;
        f.exampleId = 1;
        f.error = {0.5f, -0.5f};
        f.embedding = {1.0f, 2.0f, 3.0f};
        f.probs = {0.5f, 0.5f};
        if (!cps.ok() || !(*db)->writeFactors(cps->front().id, {f}).isOk())
            return false;
    }
    return rawExec(path, "PRAGMA journal_mode=DELETE; DROP TABLE cluster_members; DROP TABLE cluster_sets; "
                         "UPDATE meta SET value='1' WHERE key='schema_version';");
}

} // namespace

class TestSchemaMigration : public QObject {
    Q_OBJECT
private slots:
    void upgradesSchema1KeepingData();
    void readOnlyOpenReadsSchema1Untouched();
};

void TestSchemaMigration::upgradesSchema1KeepingData()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("old.traclens");
    int64_t modelId = 0;
    QVERIFY(makeSchema1Project(path, &modelId));
    QCOMPARE(tableCount(path, "cluster_sets"), 0);

    auto db = ProjectDb::open(path.toStdString());
    QVERIFY2(db.ok(), db.ok() ? "" : db.status().message().c_str());
    QCOMPARE((*db)->schemaVersion(), 2);
    QCOMPARE(kSchemaVersion, 2);
    auto v = (*db)->meta("schema_version");
    QVERIFY(v.ok() && v->has_value());
    QCOMPARE(**v, std::string("2"));
    // Data of schema 1 is all there.
    auto count = (*db)->exampleCount();
    QVERIFY(count.ok());
    QCOMPARE(*count, int64_t(4));
    auto ex = (*db)->example(1);
    QVERIFY(ex.ok());
    QCOMPARE(ex->currentLabel, 1);
    QCOMPARE(ex->givenLabel, 0);
    auto history = (*db)->labelHistory();
    QVERIFY(history.ok());
    QCOMPARE(history->size(), size_t(1));
    QCOMPARE(history->front().origin, std::string("user"));
    auto f = (*db)->factor((*(*db)->checkpoints(modelId)).front().id, 1);
    QVERIFY(f.ok() && f->has_value());
    QCOMPARE((*f)->embedding, (std::vector<float>{1.0f, 2.0f, 3.0f}));
    auto cls = (*db)->classes();
    QVERIFY(cls.ok());
    QCOMPARE(*cls, (std::vector<std::string>{"cat", "dog"}));
    // Schema 2 works.
    ClusterSetRow set;
    set.modelId = modelId;
    set.space = "tracin";
    set.classIdx = 1;
    set.fingerprint = "fp";
    set.representatives = 1;
    set.clusters = {ClusterRow{0, {{2, 0.9}, {4, 0.8}}}, ClusterRow{1, {{1, 0.7}}}};
    QVERIFY((*db)->writeClusterSet(set).isOk());
    auto back = (*db)->clusterSet(modelId, "tracin", 1);
    QVERIFY(back.ok() && back->has_value());
    QCOMPARE((*back)->clusters.size(), size_t(2));
    QCOMPARE((*back)->clusters[0].members[1].exampleId, int64_t(4));
    QVERIFY((*db)->integrityCheck().isOk());
    // Opening again does not migrate twice.
    db = Status::internal("closed");
    auto again = ProjectDb::open(path.toStdString());
    QVERIFY(again.ok());
    QCOMPARE((*again)->schemaVersion(), 2);
}

void TestSchemaMigration::readOnlyOpenReadsSchema1Untouched()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("old.traclens");
    int64_t modelId = 0;
    QVERIFY(makeSchema1Project(path, &modelId));
    const QByteArray before = fileHash(path);
    {
        auto db = ProjectDb::open(path.toStdString(), ProjectDb::OpenMode::ReadOnly);
        QVERIFY2(db.ok(), db.ok() ? "" : db.status().message().c_str());
        QCOMPARE((*db)->schemaVersion(), 1);
        auto count = (*db)->exampleCount();
        QVERIFY(count.ok());
        QCOMPARE(*count, int64_t(4));
        auto set = (*db)->clusterSet(modelId, "tracin", 0);
        QVERIFY(set.ok());
        QVERIFY(!set->has_value());
    }
    QCOMPARE(fileHash(path), before);
    QCOMPARE(tableCount(path, "cluster_sets"), 0);
}

QTEST_GUILESS_MAIN(TestSchemaMigration)
#include "test_schemamigration.moc"
