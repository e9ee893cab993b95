#include "pgwire/frame.hpp"

#include "pgwire/sqlstate.hpp"

#include <fmt/format.h>

namespace pgwarden::pgwire {

namespace {

FrameHeader error_frame(const char* code, std::string message) {
    FrameHeader h;
    h.status = DecodeStatus::Error;
    h.error_code = code;
    h.error = std::move(message);
    return h;
}

}  // namespace

FrameHeader detail::decode_header_slow(std::span<const uint8_t> bytes, uint64_t max_packet_size) {
    FrameHeader h;
    if (bytes.size() < kHeaderSize) {
        h.need = kHeaderSize - bytes.size();
        return h;
    }
    const uint8_t type = bytes[0];
    if (!kKnownType[type]) {
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
