#pragma once

#include <string>
#include <utility>
#include <variant>

namespace pgwarden::common {

// An expected failure caused by input (network bytes, config text, source code).
// `code` is a short machine-readable tag (for the proxy: a PostgreSQL SQLSTATE).
struct Error {
    std::string code;
    std::string message;
};

inline Error make_error(std::string code, std::string message) {
    return Error{std::move(code), std::move(message)};
}

// A small stand-in for std::expected (g++ 12 has none in C++20 mode): either a value or
// an Error. Never throws on access through the checked accessors used by callers that test
// `ok()` first; `value()` on an error is a programming bug and aborts via the variant.
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
    Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const& { return std::get<1>(v_); }
    Error&& error() && { return std::get<1>(std::move(v_)); }

private:
    std::variant<T, Error> v_;
};

struct Ok {};

// Result<void> equivalent.
using Status = Result<Ok>;

inline Status ok_status() {
    return Ok{};
}

}  // namespace pgwarden::common
