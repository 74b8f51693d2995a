// File ▸ New Project… with "Import a trained model": like Project ▸ Import Model…, the
// model is copied into "<project>.d/models/<name>" by default (same wording), the plan
// carries the choice (also through the project file's saved plan), and the worker
// registers the copy — or, with the option off, the folder where the model is. With
// "Train a built-in network", the plan carries the chosen network, its recipe and
// augmentation, and a saved plan reads back the same (an older one: the small CNN).

#include "jobcontroller.h"
#include "newprojectdialog.h"
#include "store/projectdb.h"
#include "testproject.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QLineEdit>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRadioButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>


using namespace traclens;
using traclens::testing::TestProject;

class TestNewProjectDialog : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void dialogOffersTheCopy_data();
    void dialogOffersTheCopy();
    void planImportsTheModel_data();
    void planImportsTheModel();
    void planTrainsTheChosenNetwork_data();
    void planTrainsTheChosenNetwork();
    void olderPlanTrainsTheSmallCnn();

private:
    QTemporaryDir m_dir;
    QString m_data, m_model;
};

namespace {
bool waitFinished(QSignalSpy &spy, qint64 id, int timeoutMs, Status *status)
{
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < timeoutMs) {
        for (const QList<QVariant> &args : spy)
            if (args.at(0).toLongLong() == id) {
                *status = args.at(2).value<Status>();
                return true;
            }
        spy.wait(200);
    }
    return false;
}
} // namespace

void TestNewProjectDialog::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName("TracLensTest");
    QCoreApplication::setApplicationName("TracLensTestNewProject");
    // A trained project whose traclens-model/1 directory is the model "from elsewhere".
    TestProject base(m_dir.filePath("base").toStdString());
    const Status built = base.build(TestProject::Stage::Trained);
    QVERIFY2(built.isOk(), built.message().c_str());
    m_data = QString::fromStdString(base.datasetPath());
    m_model = QString::fromStdString(base.projectPath()) + ".d/models/tiny";
    QVERIFY2(QFile::exists(m_model + "/traclens-model.json"), qPrintable(m_model));
}

void TestNewProjectDialog::dialogOffersTheCopy_data()
{
    QTest::addColumn<bool>("untickCopy");
    QTest::addColumn<bool>("copy");
    QTest::newRow("copied by default") << false << true;
    QTest::newRow("copy unticked: imported by reference") << true << false;
}

void TestNewProjectDialog::dialogOffersTheCopy()
{
    QFETCH(bool, untickCopy);
    QFETCH(bool, copy);
    NewProjectDialog dialog;
    QCheckBox *box = dialog.copyCheckBox();
    QCOMPARE(box->text().remove(QLatin1Char('&')), QString("Copy the model into the project"));
    QVERIFY(box->isChecked());
    QVERIFY(!box->isEnabled()); // training the built-in CNN is the default
    dialog.importButton()->setChecked(true);
    QVERIFY(box->isEnabled());
    dialog.datasetEdit()->setText(m_data);
    dialog.modelDirectoryEdit()->setText(m_model);
    if (untickCopy)
        box->setChecked(false);
    const ProjectPlan plan = dialog.plan();
    QCOMPARE(plan.modelSource, ProjectPlan::ModelSource::ImportDirectory);
    QCOMPARE(plan.modelDirectory, QFileInfo(m_model).absoluteFilePath());
    QCOMPARE(plan.copyModelIntoProject, copy);
    // Saved in the project file and read back by a later start.
    QCOMPARE(ProjectPlan::fromJson(plan.toJson()).copyModelIntoProject, copy);
}

void TestNewProjectDialog::planImportsTheModel_data()
{
    QTest::addColumn<bool>("copy");
    QTest::newRow("copied into <project>.d/models") << true;
    QTest::newRow("by reference: the original folder") << false;
}

void TestNewProjectDialog::planImportsTheModel()
{
    QFETCH(bool, copy);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString project = dir.filePath("p.traclens");
    {
        auto db = ProjectDb::open(project.toStdString(), ProjectDb::OpenMode::Create);
        QVERIFY2(db.ok(), db.status().message().c_str());
    }
    ProjectPlan plan;
    plan.datasetPath = m_data;
    plan.modelSource = ProjectPlan::ModelSource::ImportDirectory;
    plan.modelDirectory = m_model;
    plan.modelName = "tiny";
    plan.copyModelIntoProject = copy;

    JobController jobs;
    QSignalSpy steps(&jobs, &JobController::stepFinished);
    QSignalSpy finished(&jobs, &JobController::finished);
    const qint64 id = jobs.runPlan(project, plan);
    Status status = Status::internal("no finished signal");
    QVERIFY(waitFinished(finished, id, 240000, &status));
    QVERIFY2(status.isOk(), status.message().c_str());
    QList<JobKind> kinds;
    for (const auto &args : steps)
        kinds << args.at(1).value<JobKind>();
    QCOMPARE(kinds.mid(0, 2), (QList<JobKind>{JobKind::Import, JobKind::ImportModel}));
    jobs.shutdown();

    auto db = ProjectDb::open(project.toStdString(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY2(db.ok(), db.status().message().c_str());
    auto active = db.value()->activeModel();
    QVERIFY(active.ok() && active->has_value());
    auto model = db.value()->model(**active);
    QVERIFY2(model.ok(), model.status().message().c_str());
    const QString directory = QDir::cleanPath(QString::fromStdString(model->directory));
    const QString models = QDir::cleanPath(QString::fromStdString(db.value()->sideDirectory()) + "/models");
    if (copy) {
        QVERIFY2(directory.startsWith(models + "/"), qPrintable(directory));
        QVERIFY(QFile::exists(directory + "/traclens-model.json"));
    } else {
        QCOMPARE(directory, QDir::cleanPath(m_model));
    }
}

void TestNewProjectDialog::planTrainsTheChosenNetwork_data()
{
    QTest::addColumn<int>("network");
    QTest::addColumn<int>("augmentation"); // −1: the network's default
    QTest::addColumn<QString>("modelName");
    QTest::newRow("small CNN (the default)") << -1 << -1 << "builtin-cnn";
    QTest::newRow("batch-norm CNN") << int(BuiltinNetwork::BnCnn) << -1 << "builtin-bn-cnn";
    QTest::newRow("VGG-style, mirrored") << int(BuiltinNetwork::Vgg) << int(Augmentation::ShiftFlip)
                                         << "builtin-vgg";
}

void TestNewProjectDialog::planTrainsTheChosenNetwork()
{
    QFETCH(int, network);
    QFETCH(int, augmentation);
    QFETCH(QString, modelName);
    NewProjectDialog dialog;
    QComboBox *box = dialog.networkBox();
    QVERIFY(box->isEnabled());
    if (network >= 0)
        box->setCurrentIndex(box->findData(network));
    auto *augment = dialog.findChild<QComboBox *>(QStringLiteral("trainAugmentation"));
    QVERIFY(augment);
    if (augmentation >= 0)
        augment->setCurrentIndex(augment->findData(augmentation));
    dialog.datasetEdit()->setText(m_data);

    TrainConfig expected = TrainConfig::adaptiveDefault();
    expected.useNetwork(network >= 0 ? BuiltinNetwork(network) : BuiltinNetwork::Cnn);
    if (augmentation >= 0)
        expected.augmentation = Augmentation(augmentation);
    const ProjectPlan plan = dialog.plan();
    QCOMPARE(plan.modelSource, ProjectPlan::ModelSource::TrainBuiltin);
    QCOMPARE(plan.modelName, modelName);
    // Read back as a later start does after a crash during training.
    const ProjectPlan again = ProjectPlan::fromJson(plan.toJson());
    for (const ProjectPlan *p : {&plan, &again}) {
        QCOMPARE(int(p->train.network), int(expected.network));
        QCOMPARE(int(p->train.augmentation), int(expected.augmentation));
        QCOMPARE(p->train.width, expected.width);
        QCOMPARE(p->train.embeddingDim, expected.embeddingDim);
        QCOMPARE(p->train.batchSize, expected.batchSize);
        QCOMPARE(p->train.momentum, expected.momentum);
        QCOMPARE(p->train.weightDecay, expected.weightDecay);
        QCOMPARE(p->train.adaptive.enabled, true);
    }
    QCOMPARE(again.modelName, modelName);

    // Importing: no network to choose.
    dialog.importButton()->setChecked(true);
    QVERIFY(!box->isEnabled());
}

void TestNewProjectDialog::olderPlanTrainsTheSmallCnn()
{
    // A plan saved before the network was part of it.
    ProjectPlan plan;
    plan.train.useNetwork(BuiltinNetwork::Vgg);
    QJsonObject o = QJsonDocument::fromJson(plan.toJson()).object();
    QJsonObject t = o["train"].toObject();
    for (const char *key : {"network", "augmentation", "momentum", "weightDecay"}) {
        QVERIFY2(t.contains(key), key);
        t.remove(key);
    }
    t["width"] = 16;
    t["embeddingDim"] = 64;
    t["batchSize"] = 64;
    o["train"] = t;
    const ProjectPlan older = ProjectPlan::fromJson(QJsonDocument(o).toJson());
    QCOMPARE(int(older.train.network), int(BuiltinNetwork::Cnn));
    QVERIFY(older.train.isPlainRecipe());
}

QTEST_MAIN(TestNewProjectDialog)
#include "test_newprojectdialog.moc"
