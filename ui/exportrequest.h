#pragma once
// What the export dialog asks the worker to write. Empty paths are skipped.
//
// Thread safety: a value type.

#include <QMetaType>
#include <QString>

namespace traclens {

struct ExportRequest {
    QString labelsCsv;     // id,path,label,original_label,changed
    QString imageFolder;   // <dir>/<split>/<class>/<file>
    bool hardLinks = false;
    QString changeLog;     // every label change
    bool overwrite = false; // replace existing CSV files and files in the tree
};

} // namespace traclens

Q_DECLARE_METATYPE(traclens::ExportRequest)
