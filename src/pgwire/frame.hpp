#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

// Message framing of the PostgreSQL v3 protocol (docs: "Message Formats"). Pure code.
// Every regular message is: 1 type byte, then a big-endian int32 length that counts itself
// and the body but not the type byte. Startup-phase packets have no type byte.
namespace pgwarden::pgwire {

inline constexpr size_t kHeaderSize = 5;
inline constexpr size_t kStartupHeaderSize = 8;
// PostgreSQL itself refuses startup packets above 10000 bytes (MAX_STARTUP_PACKET_LENGTH).
inline constexpr uint32_t kMaxStartupPacket = 10000;

enum class DecodeStatus {
    Frame,     // a complete header was decoded; `length` says how many bytes the message has
    NeedMore,  // not enough bytes yet; `need` says how many more are needed at least
    Error,     // the bytes cannot be a valid message; `error` says why (SQLSTATE 08P01/54000)
};

struct FrameHeader {
    DecodeStatus status = DecodeStatus::NeedMore;
    char type = 0;
    uint32_t length = 0;               // whole message size in bytes including the type byte
    size_t need = 0;                   // with NeedMore
    const char* error_code = nullptr;  // with Error
    std::string error;                 // with Error
};

// Every type byte a frontend or backend may send in protocol 3.0. Anything else is a corrupt
// or foreign stream and must not be forwarded.
inline constexpr std::array<bool, 256> kKnownType = [] {
    std::array<bool, 256> known{};
    for (const char t : std::string_view("BCdcfDEHFPpQSX"         // frontend
                                         "RK23GWIVvnNAts1ZT")) {  // backend (the rest)
        known[static_cast<uint8_t>(t)] = true;
    }
    return known;
}();

namespace detail {
FrameHeader decode_header_slow(std::span<const uint8_t> bytes, uint64_t max_packet_size);
}  // namespace detail

inline uint32_t read_be32(const uint8_t* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
inline uint16_t read_be16(const uint8_t* p) {
    return uint16_t((uint16_t(p[0]) << 8) | p[1]);
}

// Decodes the header of a regular (typed) message at the start of `bytes`. Does not require
// the body to be present: the relay forwards bodies in bulk without buffering them.
// Inline because the relay calls it for every message in both directions; anything but a
// complete valid header (too short, invalid, oversized) takes the out-of-line path.
inline FrameHeader decode_header(std::span<const uint8_t> bytes, uint64_t max_packet_size) {
    if (bytes.size() >= kHeaderSize && kKnownType[bytes[0]]) {
        const uint32_t len = read_be32(bytes.data() + 1);
        if (len >= 4 && len <= 0x7fffffff && uint64_t(len) + 1 <= max_packet_size) {
            // Both returns are prvalues, so the result is built in place: a named local
            // would be copied, std::string member and all.
            return FrameHeader{.status = DecodeStatus::Frame,
                               .type = static_cast<char>(bytes[0]),
                               .length = len + 1,
                               .need = 0,
                               .error_code = nullptr,
                               .error = {}};
        }
    }
    return detail::decode_header_slow(bytes, max_packet_size);
}

// Decodes the header of a startup-phase packet (length + code), requiring the whole packet.
FrameHeader decode_startup_header(std::span<const uint8_t> bytes);

}  // namespace pgwarden::pgwire
