// CSV parsing and manifest interpretation: quoting, BOM, line ends, header detection,
// bad rows, paths that escape the manifest folder, duplicates.

#include "data/csvmanifest.h"
#include "datafixtures.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace traclens;

namespace {

// "line:field|field" per row, rows joined by '\n'.
QString describe(const std::vector<CsvRow> &rows)
{
    QStringList out;
    for (const CsvRow &row : rows) {
        QStringList fields;
        for (const std::string &f : row.fields)
            fields << QString::fromStdString(f);
        out << QString::number(row.line) + ":" + fields.join('|');
    }
    return out.join('\n');
}

QString describe(const std::vector<ManifestEntry> &entries)
{
    QStringList out;
    for (const ManifestEntry &e : entries)
        out << QStringLiteral("%1:%2|%3|%4")
                   .arg(e.line)
                   .arg(QString::fromStdString(e.path), QString::fromStdString(e.label),
                        e.split ? splitName(*e.split) : "-");
    return out.join('\n');
}

QString describe(const std::vector<SkippedFile> &skipped)
{
    QStringList out;
    for (const SkippedFile &s : skipped)
        out << QString::fromStdString(s.path) + "|" + QString::fromStdString(s.reason);
    return out.join('\n');
}

} // namespace

class TestCsvManifest : public QObject {
    Q_OBJECT

private slots:
    void parseCsv_data();
    void parseCsv();
    void readManifest_data();
    void readManifest();
    void missingFile();
};

void TestCsvManifest::parseCsv_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("expected");

    QTest::newRow("simple") << QByteArray("a.png,cat\nb.png,dog\n") << "1:a.png|cat\n2:b.png|dog";
    QTest::newRow("no final newline") << QByteArray("a,b\nc,d") << "1:a|b\n2:c|d";
    QTest::newRow("crlf") << QByteArray("a,b\r\nc,d\r\n") << "1:a|b\n2:c|d";
    QTest::newRow("lone cr") << QByteArray("a,b\rc,d") << "1:a|b\n2:c|d";
    QTest::newRow("bom") << QByteArray("\xEF\xBB\xBFpath,label\n") << "1:path|label";
    QTest::newRow("bom only") << QByteArray("\xEF\xBB\xBF") << "";
    QTest::newRow("empty") << QByteArray() << "";
    QTest::newRow("quoted comma") << QByteArray("\"a,b.png\",cat") << "1:a,b.png|cat";
    QTest::newRow("doubled quote") << QByteArray("\"say \"\"hi\"\".png\",x") << "1:say \"hi\".png|x";
    QTest::newRow("quote inside unquoted") << QByteArray("a\"b,c") << "1:a\"b|c";
    QTest::newRow("empty fields") << QByteArray("a,,c") << "1:a||c";
    QTest::newRow("trailing comma") << QByteArray("a,b,") << "1:a|b|";
    QTest::newRow("empty quoted") << QByteArray("\"\",x") << "1:|x";
    QTest::newRow("blank lines keep numbering") << QByteArray("a,b\n\n\r\nc,d") << "1:a|b\n4:c|d";
    QTest::newRow("unterminated quote ends with line")
        << QByteArray("\"abc,def\nx,y") << "1:abc,def\n2:x|y";
    QTest::newRow("quote after blanks") << QByteArray("a.png, \"big, red\"") << "1:a.png|big, red";
    QTest::newRow("text after closing quote") << QByteArray("\"ab\"cd,e") << "1:abcd|e";
    QTest::newRow("utf8") << QByteArray("k\xC3\xA4tzchen.png,Katze") << QString::fromUtf8("1:k\xC3\xA4tzchen.png|Katze");
}

void TestCsvManifest::parseCsv()
{
    QFETCH(QByteArray, text);
    QFETCH(QString, expected);
    QCOMPARE(describe(traclens::parseCsv(std::string_view(text.constData(), size_t(text.size())))), expected);
}

void TestCsvManifest::readManifest_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("entries");
    QTest::addColumn<QString>("skipped");

    QTest::newRow("header with split")
        << QByteArray("path,label,split\nimg/a.png,cat,train\nimg/b.png,dog,test\nimg/c.png,dog,val\n")
        << "2:img/a.png|cat|train\n3:img/b.png|dog|test\n4:img/c.png|dog|test" << "";
    QTest::newRow("no header, no split")
        << QByteArray("a.png,cat\nb.png,dog\n") << "1:a.png|cat|-\n2:b.png|dog|-" << "";
    QTest::newRow("header names reorder columns")
        << QByteArray("Filename,Split,Class\na.png,test,cat\n") << "2:a.png|cat|test" << "";
    QTest::newRow("header without split column ignores column 3")
        << QByteArray("file,label,comment\na.png,cat,blurry\n") << "2:a.png|cat|-" << "";
    QTest::newRow("bom crlf quotes")
        << QByteArray("\xEF\xBB\xBFpath,label\r\n\"x, y.png\",\"big \"\"cat\"\"\"\r\n")
        << "2:x, y.png|big \"cat\"|-" << "";
    QTest::newRow("blanks around fields are trimmed")
        << QByteArray(" a.png , cat , train \n") << "1:a.png|cat|train" << "";
    QTest::newRow("extra columns ignored")
        << QByteArray("a.png,cat,train,extra,more\n") << "1:a.png|cat|train" << "";
    QTest::newRow("empty split means train later")
        << QByteArray("a.png,cat,\n") << "1:a.png|cat|-" << "";
    QTest::newRow("missing label column")
        << QByteArray("a.png\nb.png,dog\n") << "2:b.png|dog|-" << "list.csv:1|missing label column";
    QTest::newRow("empty label and empty path")
        << QByteArray("a.png,\n,dog\nc.png,cat\n") << "3:c.png|cat|-"
        << "list.csv:1|empty label\nlist.csv:2|empty path";
    QTest::newRow("unknown split")
        << QByteArray("a.png,cat,holdout\nb.png,cat,Training\n") << "2:b.png|cat|train"
        << "list.csv:1|unknown split 'holdout'";
    QTest::newRow("escaping paths")
        << QByteArray("../x.png,cat\n/etc/passwd,cat\na/../../x.png,cat\nC:\\data\\x.png,cat\n"
                      "a/./b/../c.png,cat\n")
        << "5:a/c.png|cat|-"
        << "list.csv:1|path escapes the manifest folder: '../x.png'\n"
           "list.csv:2|path escapes the manifest folder: '/etc/passwd'\n"
           "list.csv:3|path escapes the manifest folder: 'a/../../x.png'\n"
           "list.csv:4|path escapes the manifest folder: 'C:\\data\\x.png'";
    QTest::newRow("backslashes become slashes")
        << QByteArray("img\\cat\\a.png,cat\n") << "1:img/cat/a.png|cat|-" << "";
    QTest::newRow("duplicates after normalising")
        << QByteArray("a.png,cat\n./a.png,dog\nb.png,cat\nsub/../a.png,cat\n")
        << "1:a.png|cat|-\n3:b.png|cat|-"
        << "list.csv:2|duplicate path (first on line 1)\nlist.csv:4|duplicate path (first on line 1)";
    QTest::newRow("header only") << QByteArray("path,label\n") << "" << "";
    QTest::newRow("blank rows ignored") << QByteArray("a.png,cat\n,\n  \nb.png,cat") << "1:a.png|cat|-\n4:b.png|cat|-" << "";
}

void TestCsvManifest::readManifest()
{
    QFETCH(QByteArray, text);
    QFETCH(QString, entries);
    QFETCH(QString, skipped);

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString csv = dir.filePath("list.csv");
    QVERIFY(testing::writeFile(csv, text));

    Result<ManifestParse> parse = traclens::readManifest(csv.toStdString());
    QVERIFY2(parse.ok(), parse.status().message().c_str());
    QCOMPARE(describe(parse->entries), entries);
    QCOMPARE(describe(parse->skipped), skipped);
}

void TestCsvManifest::missingFile()
{
    QTemporaryDir dir;
    const std::string path = dir.filePath("nope.csv").toStdString();
    Result<ManifestParse> parse = traclens::readManifest(path);
    QVERIFY(!parse.ok());
    QCOMPARE(parse.status().code(), Status::Code::NotFound);
    QVERIFY(parse.status().message().find("nope.csv") != std::string::npos);
}

QTEST_GUILESS_MAIN(TestCsvManifest)
#include "test_csvmanifest.moc"
