// Schema upgrades: a schema-1 or schema-2 project upgrades step by step on a read-write
// open and keeps its data (2 → 3 also stores model paths relative to the project); a
// read-only open reads it as it is (no cluster tables in schema 1, no checkpoint
// identities or trust records before schema 3) and leaves the file untouched.

#include "rawsql.h"
#include "model/checkpointcheck.h"
#include "store/projectdb.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <sqlite3.h>

using namespace traclens;

using traclens::testing::rawExec;
using traclens::testing::rawText;

namespace {

QByteArray fileHash(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
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


// A project with examples, a relabel, a model (its directory inside the project's side
// directory, holding a checkpoint file) and factors, turned back into schema `version`
// exactly: schema 2 is schema 3 without the checkpoint identity columns and the trust
// table, with absolute model paths; schema 1 is schema 2 without the two cluster tables.
bool makeOldProject(const QString &path, int version, int64_t *modelId, std::string *checkpointFile)
{
    const QString modelDir = path + ".d/models/m";
    if (!QDir().mkpath(modelDir))
        return false;
    *checkpointFile = (modelDir + "/c.pt").toStdString();
    {
        QFile f(QString::fromStdString(*checkpointFile));
        if (!f.open(QIODevice::WriteOnly) || f.write("checkpoint bytes") != 16)
            return false;
    }
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
        m.directory = modelDir.toStdString();
        m.numClasses = 2;
        m.embeddingDim = 3;
        auto id = (*db)->addModel(m, {CheckpointRow{0, 0, 0, *checkpointFile, 0.1}});
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
    const char *toSchema3 = "PRAGMA journal_mode=DELETE; DROP TABLE crossval_terms; DROP TABLE crossval_folds; "
                            "DROP TABLE crossval_runs; UPDATE meta SET value='3' WHERE key='schema_version';";
    if (!rawExec(path, toSchema3))
        return false;
    if (version == 3)
        return true;
    // Older TracLens stored the paths as given: absolute.
    const std::string toSchema2 =
        "DROP TABLE trusted_model_dirs; ALTER TABLE checkpoints DROP COLUMN file_size; "
        "ALTER TABLE checkpoints DROP COLUMN file_mtime; ALTER TABLE checkpoints DROP COLUMN content_hash; "
        "UPDATE models SET directory='" + modelDir.toStdString() + "'; UPDATE checkpoints SET file='" + *checkpointFile
        + "'; UPDATE meta SET value='2' WHERE key='schema_version';";
    if (!rawExec(path, toSchema2.c_str()))
        return false;
    if (version == 2)
        return true;
    return rawExec(path, "DROP TABLE cluster_members; DROP TABLE cluster_sets; "
                         "UPDATE meta SET value='1' WHERE key='schema_version';");
}

} // namespace

class TestSchemaMigration : public QObject {
    Q_OBJECT
private slots:
    void upgradesKeepingData_data();
    void upgradesKeepingData();
    void readOnlyOpenReadsOldSchemaUntouched_data();
    void readOnlyOpenReadsOldSchemaUntouched();
};

void TestSchemaMigration::upgradesKeepingData_data()
{
    QTest::addColumn<int>("version");
    QTest::newRow("schema 1") << 1;
    QTest::newRow("schema 2") << 2;
    QTest::newRow("schema 3") << 3;
}

void TestSchemaMigration::upgradesKeepingData()
{
    QFETCH(int, version);
    QTemporaryDir dir;
    const QString path = dir.filePath("old.traclens");
    int64_t modelId = 0;
    std::string checkpointFile;
    QVERIFY(makeOldProject(path, version, &modelId, &checkpointFile));
    QCOMPARE(tableCount(path, "cluster_sets"), version >= 2 ? 1 : 0);
    QCOMPARE(tableCount(path, "trusted_model_dirs"), version >= 3 ? 1 : 0);
    QCOMPARE(tableCount(path, "crossval_runs"), 0);

    auto db = ProjectDb::open(path.toStdString());
    QVERIFY2(db.ok(), db.ok() ? "" : db.status().message().c_str());
    QCOMPARE((*db)->schemaVersion(), 4);
    QCOMPARE(kSchemaVersion, 4);
    auto v = (*db)->meta("schema_version");
    QVERIFY(v.ok() && v->has_value());
    QCOMPARE(**v, std::string("4"));
    // Data of the old schema is all there.
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
    auto cps = (*db)->checkpoints(modelId);
    QVERIFY(cps.ok());
    QCOMPARE(cps->size(), size_t(1));
    auto f = (*db)->factor(cps->front().id, 1);
    QVERIFY(f.ok() && f->has_value());
    QCOMPARE((*f)->embedding, (std::vector<float>{1.0f, 2.0f, 3.0f}));
    auto cls = (*db)->classes();
    QVERIFY(cls.ok());
    QCOMPARE(*cls, (std::vector<std::string>{"cat", "dog"}));

    // 2 → 3: paths inside the project are stored relative to it and read back absolute.
    QCOMPARE(rawText(path, "SELECT directory FROM models"), std::string("models/m"));
    QCOMPARE(rawText(path, "SELECT file FROM checkpoints"), std::string("c.pt"));
    QCOMPARE(cps->front().file, checkpointFile);
    auto model = (*db)->model(modelId);
    QVERIFY(model.ok());
    QCOMPARE(model->directory, (path + ".d/models/m").toStdString());
    // The identity is unknown until the file is first verified, then filled in.
    QCOMPARE(cps->front().contentHash, std::string());
    QCOMPARE(cps->front().fileSize, int64_t(-1));
    QVERIFY(requireUnchangedCheckpoints(**db, modelId).isOk());
    cps = (*db)->checkpoints(modelId);
    QVERIFY(cps.ok());
    QCOMPARE(cps->front().fileSize, int64_t(16));
    QCOMPARE(cps->front().contentHash.size(), size_t(64));

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
    // Schema 3 works.
    QVERIFY((*db)->addTrustedModelDir({"/elsewhere", "hash", "token", 0}).isOk());
    auto trusted = (*db)->trustedModelDir("/elsewhere");
    QVERIFY(trusted.ok() && trusted->has_value());
    QCOMPARE((*trusted)->token, std::string("token"));
    // Schema 4 works.
    auto noRun = (*db)->crossValidationRun();
    QVERIFY(noRun.ok() && !noRun->has_value());
    auto run = (*db)->startCrossValidationRun({0, 2, "{}", "fp", 0});
    QVERIFY(run.ok());
    QVERIFY((*db)->writeCrossValidationFold(*run, 1, {0.1}, {CrossValidationTermRow{1, 0, 1, {0.25f, 0.75f}, 2.0f}})
                .isOk());
    auto folds = (*db)->crossValidationFolds(*run);
    QVERIFY(folds.ok());
    QCOMPARE(folds->size(), size_t(1));
    QCOMPARE(folds->front().second, std::vector<double>{0.1});
    int terms = 0;
    QVERIFY((*db)->forEachCrossValidationTerm(*run, [&](const CrossValidationTermRow &t) {
        ++terms;
        QCOMPARE(t.probs, (std::vector<float>{0.25f, 0.75f}));
    }).isOk());
    QCOMPARE(terms, 1);
    QVERIFY((*db)->integrityCheck().isOk());
    // Opening again does not migrate twice.
    db = Status::internal("closed");
    auto again = ProjectDb::open(path.toStdString());
    QVERIFY(again.ok());
    QCOMPARE((*again)->schemaVersion(), 4);
}

void TestSchemaMigration::readOnlyOpenReadsOldSchemaUntouched_data()
{
    upgradesKeepingData_data();
}

void TestSchemaMigration::readOnlyOpenReadsOldSchemaUntouched()
{
    QFETCH(int, version);
    QTemporaryDir dir;
    const QString path = dir.filePath("old.traclens");
    int64_t modelId = 0;
    std::string checkpointFile;
    QVERIFY(makeOldProject(path, version, &modelId, &checkpointFile));
    const QByteArray before = fileHash(path);
    {
        auto db = ProjectDb::open(path.toStdString(), ProjectDb::OpenMode::ReadOnly);
        QVERIFY2(db.ok(), db.ok() ? "" : db.status().message().c_str());
        QCOMPARE((*db)->schemaVersion(), version);
        auto count = (*db)->exampleCount();
        QVERIFY(count.ok());
        QCOMPARE(*count, int64_t(4));
        auto set = (*db)->clusterSet(modelId, "tracin", 0);
        QVERIFY(set.ok());
        QVERIFY(!set->has_value());
        // No identity columns yet: checkpoints read with unknown identities, and
        // verifying them (which cannot store anything) still answers.
        auto cps = (*db)->checkpoints(modelId);
        QVERIFY2(cps.ok(), cps.ok() ? "" : cps.status().message().c_str());
        QCOMPARE(cps->size(), size_t(1));
        QCOMPARE(cps->front().file, checkpointFile);
        QCOMPARE(cps->front().fileSize, int64_t(-1));
        QVERIFY(requireUnchangedCheckpoints(**db, modelId).isOk());
        auto trusted = (*db)->trustedModelDir("/elsewhere");
        QVERIFY(trusted.ok());
        QVERIFY(!trusted->has_value());
        // No cross-validation tables yet: no run.
        auto run = (*db)->crossValidationRun();
        QVERIFY(run.ok());
        QVERIFY(!run->has_value());
    }
    QCOMPARE(fileHash(path), before);
    QCOMPARE(tableCount(path, "cluster_sets"), version >= 2 ? 1 : 0);
    QCOMPARE(tableCount(path, "trusted_model_dirs"), version >= 3 ? 1 : 0);
}

QTEST_GUILESS_MAIN(TestSchemaMigration)
#include "test_schemamigration.moc"
