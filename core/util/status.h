#pragma once
// Error values for the TracLens engine. No exception crosses the core's API:
// every fallible call returns a Status or a Result<T>. Messages are meant for
// people: they name the file and the problem ("train.csv line 12: unknown
// label 'dgo'").
//
// Thread safety: values; safe to copy between threads.

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace traclens {

class Status {
public:
    enum class Code {
        Ok,
        NotFound,
        InvalidArgument, // bad input: a malformed file, an unknown label, a bad option
        Corruption,      // a file that was valid once is not now
        IoError,
        Unsupported,     // e.g. a project written by a newer TracLens
        Cancelled,
        Busy,            // the project is in use by another process
        Internal,
    };

    Status() = default;
    static Status ok() { return {}; }
    static Status notFound(std::string m) { return {Code::NotFound, std::move(m)}; }
    static Status invalid(std::string m) { return {Code::InvalidArgument, std::move(m)}; }
    static Status corruption(std::string m) { return {Code::Corruption, std::move(m)}; }
    static Status ioError(std::string m) { return {Code::IoError, std::move(m)}; }
    static Status unsupported(std::string m) { return {Code::Unsupported, std::move(m)}; }
    static Status cancelled(std::string m = "cancelled") { return {Code::Cancelled, std::move(m)}; }
    static Status busy(std::string m) { return {Code::Busy, std::move(m)}; }
    static Status internal(std::string m) { return {Code::Internal, std::move(m)}; }

    bool isOk() const { return m_code == Code::Ok; }
    explicit operator bool() const { return isOk(); }
    Code code() const { return m_code; }
    bool isCancelled() const { return m_code == Code::Cancelled; }
    const std::string &message() const { return m_message; }
    std::string toString() const;

    // Returns a copy whose message is "<context>: <message>".
    Status withContext(const std::string &context) const
    {
        return isOk() ? *this : Status(m_code, context + ": " + m_message);
    }

private:
    Status(Code c, std::string m) : m_code(c), m_message(std::move(m)) {}
    Code m_code = Code::Ok;
    std::string m_message;
};

// An expected-like value: either a T or a non-ok Status.
template<typename T>
class Result {
public:
    Result(T value) : m_value(std::move(value)) {}
    Result(Status error) : m_status(std::move(error)) { assert(!m_status.isOk()); }

    bool ok() const { return m_value.has_value(); }
    explicit operator bool() const { return ok(); }
    const Status &status() const { return m_status; }

    T &value() & { assert(ok()); return *m_value; }
    const T &value() const & { assert(ok()); return *m_value; }
    T &&value() && { assert(ok()); return std::move(*m_value); }
    T *operator->() { return &value(); }
    const T *operator->() const { return &value(); }
    T &operator*() & { return value(); }
    const T &operator*() const & { return value(); }

private:
    std::optional<T> m_value;
    Status m_status;
};

// Early-return helpers for .cpp files.
#define TL_RETURN_IF_ERROR(expr)                                                                   \
    do {                                                                                           \
        ::traclens::Status _tl_s = (expr);                                                         \
        if (!_tl_s.isOk())                                                                         \
            return _tl_s;                                                                          \
    } while (0)

} // namespace traclens
