// What the screen shows is what the model saw: a JPEG with EXIF orientation 6 ("rotate
// 90° clockwise") is drawn rotated while the active model decodes natively (the built-in
// CNN, a model without input.transforms) and unrotated while it is a torchvision model
// (input.transforms), whose ImageFolder loader ignores EXIF orientation. The session
// picks the style from the active model's manifest; the thumbnail cache decodes with it
// and knows which images it shows unrotated, so the views can say so.

#include "model/modelspec.h"
#include "store/projectdb.h"
#include "projectsession.h"
#include "testproject.h"
#include "thumbnailcache.h"

#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <opencv2/imgcodecs.hpp>

using namespace traclens;
using traclens::testing::TestProject;

class TestThumbnailOrientation : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void followsTheModel_data();
    void followsTheModel();

private:
    QTemporaryDir m_dir;
    QString m_project;
};

namespace {
constexpr const char *kRotated = "exif-rotated.jpg";
constexpr qint64 kRotatedId = 1000000; // not an example: the cache decodes any source

// A 16×8 (w×h) JPEG with an EXIF APP1 segment saying orientation 6; displayed as 8×16.
QByteArray rotatedJpeg()
{
    std::vector<uchar> encoded;
    cv::imencode(".jpg", cv::Mat(8, 16, CV_8UC3, cv::Scalar(40, 120, 200)), encoded);
    const QByteArray jpeg(reinterpret_cast<const char *>(encoded.data()), qsizetype(encoded.size()));
    QByteArray tiff("II*\x00\x08\x00\x00\x00", 8);                                 // little-endian, IFD at 8
    tiff += QByteArray("\x01\x00", 2);                                              // one entry
    tiff += QByteArray("\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00", 12);     // 0x0112 SHORT 1 = 6
    tiff += QByteArray(4, '\0');                                                    // no next IFD
    const QByteArray payload = QByteArray("Exif\x00\x00", 6) + tiff;
    QByteArray app1("\xFF\xE1", 2);
    app1.append(char((payload.size() + 2) >> 8)).append(char((payload.size() + 2) & 0xFF)).append(payload);
    return jpeg.left(2) + app1 + jpeg.mid(2);
}
} // namespace

void TestThumbnailOrientation::initTestCase()
{
    QVERIFY(m_dir.isValid());
    TestProject fixture(m_dir.filePath("p").toStdString());
    const Status built = fixture.build(TestProject::Stage::Imported);
    QVERIFY2(built.isOk(), built.message().c_str());
    m_project = QString::fromStdString(fixture.projectPath());
    QFile file(QString::fromStdString(fixture.datasetPath()) + "/" + kRotated);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(rotatedJpeg());
}

void TestThumbnailOrientation::followsTheModel_data()
{
    QTest::addColumn<QString>("model"); // none, builtin (no transforms), torchvision (transforms)
    QTest::addColumn<int>("style");
    QTest::addColumn<QSize>("shown");
    QTest::newRow("no model yet: EXIF applied") << "none" << int(DecodeStyle::Native) << QSize(8, 16);
    QTest::newRow("native model: EXIF applied") << "native" << int(DecodeStyle::Native) << QSize(8, 16);
    QTest::newRow("torchvision model: unrotated, as ImageFolder loads it")
        << "torchvision" << int(DecodeStyle::PilRgb) << QSize(16, 8);
    QTest::newRow("back to a native model: rotated again") << "native" << int(DecodeStyle::Native) << QSize(8, 16);
}

void TestThumbnailOrientation::followsTheModel()
{
    QFETCH(QString, model);
    QFETCH(int, style);
    QFETCH(QSize, shown);

    if (model != "none") {
        // A registered model whose manifest says how it decodes; its checkpoint is never run.
        auto db = ProjectDb::open(m_project.toStdString());
        QVERIFY2(db.ok(), db.status().message().c_str());
        const QString directory = m_dir.filePath("models/" + model);
        QVERIFY(QDir().mkpath(directory));
        QFile checkpoint(directory + "/epoch-1.pt");
        QVERIFY(checkpoint.open(QIODevice::WriteOnly));
        checkpoint.close();
        ModelSpec spec;
        spec.directory = directory.toStdString();
        spec.classes = db.value()->dataset().value()->classes;
        spec.input.channels = 3;
        spec.input.height = spec.input.width = 16;
        spec.input.mean = {0.5f, 0.5f, 0.5f};
        spec.input.std = {0.5f, 0.5f, 0.5f};
        if (model == "torchvision")
            spec.input.transforms = std::vector<ImageTransform>{};
        spec.checkpoints = {{"epoch-1.pt", 0.1}};
        QVERIFY(writeModelSpec(spec).isOk());
        ModelRow row;
        row.name = model.toStdString();
        row.directory = spec.directory;
        row.numClasses = int(spec.classes.size());
        auto id = db.value()->addModel(row, {});
        QVERIFY2(id.ok(), id.status().message().c_str());
        QVERIFY(db.value()->setActiveModel(id.value()).isOk());
    }

    auto session = ProjectSession::open(m_project);
    QVERIFY2(session.ok(), session.status().message().c_str());
    ThumbnailCache *cache = session.value()->thumbnails();
    QCOMPARE(int(cache->decodeStyle()), style);

    QSignalSpy ready(cache, &ThumbnailCache::ready);
    QVERIFY(cache->thumbnail(kRotatedId, kRotated).isNull());
    QVERIFY(ready.wait(10000));
    QVERIFY(!cache->failed(kRotatedId));
    QCOMPARE(cache->cached(kRotatedId).size(), shown);
    // Said where it is shown unrotated (the example view's tooltip, the browser's details).
    QCOMPARE(cache->shownUnrotated(kRotatedId), style == int(DecodeStyle::PilRgb));
    // An example without EXIF orientation is never flagged.
    const ExampleRow &plain = session.value()->examples().front();
    QSignalSpy plainReady(cache, &ThumbnailCache::ready);
    QVERIFY(cache->thumbnail(plain.id, plain.source).isNull());
    QVERIFY(plainReady.wait(10000));
    QVERIFY(!cache->cached(plain.id).isNull());
    QVERIFY(!cache->shownUnrotated(plain.id));
}

QTEST_MAIN(TestThumbnailOrientation)
#include "test_thumbnailorientation.moc"
