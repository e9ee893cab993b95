#include "pgwire/frame.hpp"

#include "pgwire/sqlstate.hpp"

#include <fmt/format.h>

namespace pgwarden::pgwire {

namespace {

// Every type byte a frontend or backend may send in protocol 3.0. Anything else is a
// corrupt or foreign stream and must not be forwarded.
bool known_type(uint8_t t) {
    switch (t) {
    // frontend
    case 'B':
    case 'C':
    case 'd':
    case 'c':
    case 'f':
    case 'D':
    case 'E':
    case 'H':
    case 'F':
    case 'P':
    case 'p':
    case 'Q':
    case 'S':
    case 'X':
    // backend (those not already listed)
    case 'R':
    case 'K':
    case '2':
    case '3':
    case 'G':
    case 'W':
    case 'I':
    case 'V':
    case 'v':
    case 'n':
    case 'N':
    case 'A':
    case 't':
    case 's':
    case '1':
    case 'Z':
    case 'T':
        return true;
    default:
        return false;
    }
}

FrameHeader error_frame(const char* code, std::string message) {
    FrameHeader h;
    h.status = DecodeStatus::Error;
    h.error_code = code;
    h.error = std::move(message);
    return h;
}

}  // namespace

FrameHeader decode_header(std::span<const uint8_t> bytes, uint64_t max_packet_size) {
    FrameHeader h;
    if (bytes.size() < kHeaderSize) {
        h.need = kHeaderSize - bytes.size();
        return h;
    }
    const uint8_t type = bytes[0];
    if (!known_type(type)) {
        return error_frame(sqlstate::kProtocolViolation,
                           fmt::format("invalid message type 0x{:02x}", type));
    }
    const uint32_t len = read_be32(bytes.data() + 1);
    if (len < 4) {
        return error_frame(sqlstate::kProtocolViolation,
                           fmt::format("invalid message length {}", len));
    }
    if (uint64_t(len) + 1 > max_packet_size) {
        return error_frame(sqlstate::kProgramLimitExceeded,
                           fmt::format("message of {} bytes exceeds max_packet_size {}",
                                       uint64_t(len) + 1, max_packet_size));
    }
    if (len > 0x7fffffff) {
        // PostgreSQL's own limit is 1 GB; rejecting anything above 2^31-1 keeps `len + 1`
        // from wrapping whatever max_packet_size says.
        return error_frame(sqlstate::kProtocolViolation,
                           fmt::format("invalid message length {}", len));
    }
    h.status = DecodeStatus::Frame;
    h.type = static_cast<char>(type);
    h.length = len + 1;
    return h;
}

FrameHeader decode_startup_header(std::span<const uint8_t> bytes) {
    FrameHeader h;
    if (bytes.size() < 4) {
        h.need = 4 - bytes.size();
        return h;
    }
    const uint32_t len = read_be32(bytes.data());
    if (len < kStartupHeaderSize || len > kMaxStartupPacket) {
        return error_frame(sqlstate::kProtocolViolation,
                           fmt::format("invalid startup packet length {}", len));
    }
    if (bytes.size() < len) {
        h.need = len - bytes.size();
        return h;
    }
    h.status = DecodeStatus::Frame;
    h.length = len;
    return h;
}

}  // namespace pgwarden::pgwire
