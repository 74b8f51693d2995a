#include "util/status.h"

namespace traclens {

std::string Status::toString() const
{
    const char *name = "";
    switch (m_code) {
    case Code::Ok: return "OK";
    case Code::NotFound: name = "not found"; break;
    case Code::InvalidArgument: name = "invalid input"; break;
    case Code::Corruption: name = "corrupt"; break;
    case Code::IoError: name = "I/O error"; break;
    case Code::Unsupported: name = "unsupported"; break;
    case Code::Cancelled: name = "cancelled"; break;
    case Code::Busy: name = "busy"; break;
    case Code::Internal: name = "internal error"; break;
    }
    return std::string(name) + ": " + m_message;
}

} // namespace traclens
