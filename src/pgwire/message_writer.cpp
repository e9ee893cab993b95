#include "pgwire/message_writer.hpp"

#include <cstdlib>

namespace pgwarden::pgwire {

MessageWriter& MessageWriter::begin(char type) {
    if (type != 0) {
        out_.push_back(type);
    }
    start_ = out_.size();
    out_.append(4, '\0');
    return *this;
}

MessageWriter& MessageWriter::int32(int32_t v) {
    const auto u = static_cast<uint32_t>(v);
    out_.push_back(static_cast<char>(u >> 24));
    out_.push_back(static_cast<char>(u >> 16));
    out_.push_back(static_cast<char>(u >> 8));
    out_.push_back(static_cast<char>(u));
    return *this;
}

MessageWriter& MessageWriter::int16(int16_t v) {
    const auto u = static_cast<uint16_t>(v);
    out_.push_back(static_cast<char>(u >> 8));
    out_.push_back(static_cast<char>(u));
    return *this;
}

MessageWriter& MessageWriter::byte(uint8_t v) {
    out_.push_back(static_cast<char>(v));
    return *this;
}

MessageWriter& MessageWriter::cstring(std::string_view s) {
    out_.append(s);
    out_.push_back('\0');
    return *this;
}

MessageWriter& MessageWriter::bytes(std::string_view s) {
    out_.append(s);
    return *this;
}

void MessageWriter::end() {
    const size_t len = out_.size() - start_;
    if (len > 0x7fffffff) {
        std::abort();  // an encoder bug: pgwarden never builds a message this large
    }
    const auto u = static_cast<uint32_t>(len);
    out_[start_] = static_cast<char>(u >> 24);
    out_[start_ + 1] = static_cast<char>(u >> 16);
    out_[start_ + 2] = static_cast<char>(u >> 8);
    out_[start_ + 3] = static_cast<char>(u);
}

}  // namespace pgwarden::pgwire
