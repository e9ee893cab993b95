#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

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

// Decodes the header of a regular (typed) message at the start of `bytes`. Does not require
// the body to be present: the relay forwards bodies in bulk without buffering them.
FrameHeader decode_header(std::span<const uint8_t> bytes, uint64_t max_packet_size);

// Decodes the header of a startup-phase packet (length + code), requiring the whole packet.
FrameHeader decode_startup_header(std::span<const uint8_t> bytes);

inline uint32_t read_be32(const uint8_t* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
inline uint16_t read_be16(const uint8_t* p) {
    return uint16_t((uint16_t(p[0]) << 8) | p[1]);
}

}  // namespace pgwarden::pgwire
