#include "uiresources.h"

#include <QtGlobal>

// Q_INIT_RESOURCE must be used outside any namespace.
static void initTracLensResources() { Q_INIT_RESOURCE(traclens); }

namespace traclens {

void ensureUiResources()
{
    static const bool done = (initTracLensResources(), true);
    Q_UNUSED(done);
}

} // namespace traclens
