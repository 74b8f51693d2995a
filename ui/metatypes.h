#pragma once
// Engine types that travel through queued signals. Declared in one header, included
// wherever such a signal is declared, so every translation unit sees the same
// declaration before first use.

#include "influence/influenceindex.h"
#include "util/status.h"

#include <QMetaType>

#include <memory>

Q_DECLARE_METATYPE(traclens::Status)
Q_DECLARE_METATYPE(std::shared_ptr<traclens::InfluenceIndex>)
