#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <span>
#include <string_view>

namespace pgwarden::pgwire {

// Bounds-checked field reader over one message body. Every accessor fails (returns false)
// instead of reading past the end, so a lying length field can never cause an overread.
class MessageReader {
public:
    explicit MessageReader(std::span<const uint8_t> body) : body_(body) {}
    explicit MessageReader(std::string_view body)
        : body_(reinterpret_cast<const uint8_t*>(body.data()), body.size()) {}

    bool read_int32(int32_t& out);
    bool read_int16(int16_t& out);
    bool read_byte(uint8_t& out);
    // A NUL-terminated string; `out` views the body (no copy) without the terminator.
    bool read_cstring(std::string_view& out);
    bool read_bytes(size_t n, std::string_view& out);
    std::string_view rest() const;
    size_t remaining() const { return body_.size() - pos_; }
    bool at_end() const { return pos_ == body_.size(); }

private:
    std::span<const uint8_t> body_;
    size_t pos_ = 0;
};

}  // namespace pgwarden::pgwire
