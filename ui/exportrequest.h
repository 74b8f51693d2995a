#pragma once
// What the export dialog asks the worker to write. Empty paths are skipped.
//
// Thread safety: a value type.

#include <QMetaType>
#include <QString>

namespace traclens {

struct ExportRequest {
    QString labelsCsv;     // path,label,original_label,changed
    QString imageFolder;   // <dir>/<split>/<class>/<file>
    bool hardLinks = false;
    QString changeLog;     // every label change
    bool overwrite = false;
};

} // namespace traclens

Q_DECLARE_METATYPE(traclens::ExportRequest)
