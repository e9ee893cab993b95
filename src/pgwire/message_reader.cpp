#include "pgwire/message_reader.hpp"

#include "pgwire/frame.hpp"

#include <cstring>

namespace pgwarden::pgwire {

bool MessageReader::read_int32(int32_t& out) {
    if (remaining() < 4) {
        return false;
    }
    out = static_cast<int32_t>(read_be32(body_.data() + pos_));
    pos_ += 4;
    return true;
}

bool MessageReader::read_int16(int16_t& out) {
    if (remaining() < 2) {
        return false;
    }
    out = static_cast<int16_t>(read_be16(body_.data() + pos_));
    pos_ += 2;
    return true;
}

bool MessageReader::read_byte(uint8_t& out) {
    if (remaining() < 1) {
        return false;
    }
    out = body_[pos_++];
    return true;
}

bool MessageReader::read_cstring(std::string_view& out) {
    if (remaining() == 0) {
        return false;  // an empty span may have a null data(), which memchr must not get
    }
    const void* nul = std::memchr(body_.data() + pos_, 0, remaining());
    if (nul == nullptr) {
        return false;
    }
    const size_t len = static_cast<const uint8_t*>(nul) - (body_.data() + pos_);
    out = std::string_view(reinterpret_cast<const char*>(body_.data() + pos_), len);
    pos_ += len + 1;
    return true;
}

bool MessageReader::read_bytes(size_t n, std::string_view& out) {
    if (remaining() < n) {
        return false;
    }
    out = std::string_view(reinterpret_cast<const char*>(body_.data() + pos_), n);
    pos_ += n;
    return true;
}

std::string_view MessageReader::rest() const {
    return std::string_view(reinterpret_cast<const char*>(body_.data() + pos_), remaining());
}

}  // namespace pgwarden::pgwire
