// The export dialog: counts before writing, then (through the worker) a labels CSV, a
// change log and an ImageFolder tree that carry a relabel made in the session.

#include "exportdialog.h"
#include "jobcontroller.h"
#include "projectsession.h"
#include "testproject.h"

#include <QDirIterator>
#include <QFile>
#include <QLabel>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace traclens;
using traclens::testing::TestProject;

class TestExportDialog : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void showsCounts();
    void defaultsToVisibleFolder();
    void exportsCsvLogAndTree_data();
    void exportsCsvLogAndTree();
    void refusesToOverwrite();
    void cleanupTestCase();

private:
    static QStringList readLines(const QString &path);

    QTemporaryDir m_dir;
    std::unique_ptr<TestProject> m_fixture;
    std::unique_ptr<ProjectSession> m_session;
    std::unique_ptr<JobController> m_jobs;
    qint64 m_relabelled = -1;
    QString m_relabelledSource, m_newClass, m_oldClass;
};

QStringList TestExportDialog::readLines(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text))
        return {};
    QStringList lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
    return lines;
}

void TestExportDialog::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_fixture = std::make_unique<TestProject>(m_dir.filePath("fixture").toStdString());
    const Status built = m_fixture->build(TestProject::Stage::Imported);
    QVERIFY2(built.isOk(), built.message().c_str());
    auto session = ProjectSession::open(QString::fromStdString(m_fixture->projectPath()));
    QVERIFY2(session.ok(), session.status().message().c_str());
    m_session = std::move(session).value();
    m_jobs = std::make_unique<JobController>();

    // One relabel, to be found in every output.
    const ExampleRow &row = m_session->examples().front();
    m_relabelled = row.id;
    m_relabelledSource = QString::fromStdString(row.source);
    const int target = (row.currentLabel + 1) % m_session->numClasses();
    m_oldClass = m_session->className(row.currentLabel);
    m_newClass = m_session->className(target);
    QVERIFY(m_session->applyDecision(row.id, target, ReviewState::Reviewed, "user").isOk());
}

void TestExportDialog::cleanupTestCase()
{
    m_jobs.reset();
    m_session.reset();
}

void TestExportDialog::defaultsToVisibleFolder()
{
    // A demo-like layout: the project in a hidden app-data folder, the dataset in a visible one.
    QTemporaryDir root;
    QVERIFY(root.isValid());
    const QDir r(root.path());
    QVERIFY(r.mkpath(".local/share/TracLens/demo"));
    QVERIFY(r.mkpath("datasets/fashion-mnist"));
    QVERIFY(r.mkpath(".cache/exports"));
    const QString hiddenProject = r.filePath(".local/share/TracLens/demo/fashion-mnist.traclens");
    const QString dataset = r.filePath("datasets/fashion-mnist");
    QVERIFY(ExportDialog::isHiddenDirectory(QFileInfo(hiddenProject).absolutePath()));
    QVERIFY(!ExportDialog::isHiddenDirectory(dataset));
    // Hidden project folder: the dataset's parent.
    QCOMPARE(ExportDialog::defaultDirectory(hiddenProject, dataset, {}), r.filePath("datasets"));
    // A hidden last export folder is skipped too; a visible one wins.
    QCOMPARE(ExportDialog::defaultDirectory(hiddenProject, dataset, r.filePath(".cache/exports")),
             r.filePath("datasets"));
    QCOMPARE(ExportDialog::defaultDirectory(hiddenProject, dataset, dataset), dataset);
    // Hidden project and dataset: home.
    QCOMPARE(ExportDialog::defaultDirectory(hiddenProject, r.filePath(".local/share/TracLens/demo/data"), {}),
             QDir::homePath());
    // A visible project folder: beside the project.
    QCOMPARE(ExportDialog::defaultDirectory(r.filePath("datasets/p.traclens"), {}, {}), r.filePath("datasets"));
    // The dialog itself proposes no hidden folder.
    ExportDialog dialog(m_session.get(), m_jobs.get());
    QVERIFY(!ExportDialog::isHiddenDirectory(QFileInfo(dialog.request().labelsCsv).absolutePath()));
}

void TestExportDialog::showsCounts()
{
    ExportDialog dialog(m_session.get(), m_jobs.get());
    const int train = m_fixture->spec().classes * m_fixture->spec().trainPerClass;
    const int test = m_fixture->spec().classes * m_fixture->spec().testPerClass;
    bool found = false;
    for (QLabel *l : dialog.findChildren<QLabel *>())
        found |= l->text().contains(QStringLiteral("%1 examples").arg(train + test))
                 && l->text().contains(QStringLiteral("%1 training").arg(train))
                 && l->text().contains(QStringLiteral("<b>1</b> of them"));
    QVERIFY2(found, "the counts line is missing or wrong");
}

void TestExportDialog::exportsCsvLogAndTree_data()
{
    QTest::addColumn<bool>("hardLinks");
    QTest::newRow("copies") << false;
    QTest::newRow("hard links") << true;
}

void TestExportDialog::exportsCsvLogAndTree()
{
    QFETCH(bool, hardLinks);
    const QString out = m_dir.filePath(hardLinks ? "out-links" : "out-copies");
    ExportDialog dialog(m_session.get(), m_jobs.get());
    ExportRequest request;
    request.labelsCsv = out + "/labels.csv";
    request.changeLog = out + "/changes.csv";
    request.imageFolder = out + "/tree";
    request.hardLinks = hardLinks;
    QDir().mkpath(out);
    dialog.setRequest(request);
    QCOMPARE(dialog.request().labelsCsv, request.labelsCsv);
    QSignalSpy done(&dialog, &ExportDialog::exportFinished);
    QVERIFY(dialog.startExport());
    QVERIFY(done.wait(60000));
    const Status status = done.at(0).at(0).value<Status>();
    QVERIFY2(status.isOk(), status.message().c_str());

    const int total = int(m_session->examples().size());
    const QStringList labels = readLines(request.labelsCsv);
    QCOMPARE(labels.size(), total + 1);
    QCOMPARE(labels.front(), QStringLiteral("id,path,label,original_label,changed"));
    const QStringList changedRows = labels.filter(QRegularExpression(",1$"));
    QCOMPARE(changedRows.size(), 1);
    // The id column is the example id the app shows as #id.
    QCOMPARE(changedRows.front(),
             QStringLiteral("%1,%2,%3,%4,1").arg(QString::number(m_relabelled), m_relabelledSource, m_newClass, m_oldClass));

    const QStringList log = readLines(request.changeLog);
    QCOMPARE(log.size(), 2); // header and the one change
    QVERIFY(log.at(1).contains(m_relabelledSource));
    QVERIFY(log.at(1).contains(m_oldClass));
    QVERIFY(log.at(1).contains(m_newClass));
    QVERIFY(log.at(1).contains("user"));

    int files = 0;
    QDirIterator it(request.imageFolder, QDir::Files, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        it.next();
        ++files;
    }
    QCOMPARE(files, total);
    const QString fileName = QFileInfo(m_relabelledSource).fileName();
    const QString split = m_relabelledSource.section('/', 0, 0);
    QVERIFY2(QFile::exists(QStringLiteral("%1/%2/%3/%4").arg(request.imageFolder, split, m_newClass, fileName)),
             "the relabelled image is not in its new class folder");
}

void TestExportDialog::refusesToOverwrite()
{
    const QString out = m_dir.filePath("out-copies");
    ExportDialog dialog(m_session.get(), m_jobs.get());
    ExportRequest request;
    request.labelsCsv = out + "/labels.csv"; // written by the previous test
    dialog.setRequest(request);
    QSignalSpy done(&dialog, &ExportDialog::exportFinished);
    QVERIFY(dialog.startExport());
    QVERIFY(done.wait(30000));
    QVERIFY(!done.at(0).at(0).value<Status>().isOk());

    request.overwrite = true;
    dialog.setRequest(request);
    done.clear();
    QVERIFY(dialog.startExport());
    QVERIFY(done.wait(30000));
    QVERIFY(done.at(0).at(0).value<Status>().isOk());

    // The image tree too: refused naming an existing file, replaced when the dialog's
    // "Overwrite existing files" is ticked.
    request = ExportRequest();
    request.imageFolder = out + "/tree"; // written by the previous test
    dialog.setRequest(request);
    done.clear();
    QVERIFY(dialog.startExport());
    QVERIFY(done.wait(30000));
    Status refused = done.at(0).at(0).value<Status>();
    QVERIFY(!refused.isOk());
    QVERIFY2(refused.message().find("already exists") != std::string::npos
                 && refused.message().find((out + "/tree/").toStdString()) != std::string::npos,
             refused.message().c_str());
    request.overwrite = true;
    dialog.setRequest(request);
    done.clear();
    QVERIFY(dialog.startExport());
    QVERIFY(done.wait(60000));
    const Status replaced = done.at(0).at(0).value<Status>();
    QVERIFY2(replaced.isOk(), replaced.message().c_str());
}

QTEST_MAIN(TestExportDialog)
#include "test_exportdialog.moc"
