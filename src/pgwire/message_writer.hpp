#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pgwarden::pgwire {

// Appends encoded messages to a caller-owned byte string, so a burst of messages becomes
// one write and the buffer's capacity is reused across messages (no allocation per message
// once warm).
class MessageWriter {
public:
    explicit MessageWriter(std::string& out) : out_(out) {}

    // Starts a typed message; `type` 0 starts an untyped startup-phase packet.
    MessageWriter& begin(char type);
    MessageWriter& int32(int32_t v);
    MessageWriter& int16(int16_t v);
    MessageWriter& byte(uint8_t v);
    MessageWriter& cstring(std::string_view s);  // appends s and a NUL
    MessageWriter& bytes(std::string_view s);
    // Patches the length field of the message begun last.
    void end();

private:
    std::string& out_;
    size_t start_ = 0;  // offset of the length field
};

}  // namespace pgwarden::pgwire
