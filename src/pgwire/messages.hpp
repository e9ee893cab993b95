#pragma once

#include "common/result.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

// Typed encoders and decoders for the messages pgwarden originates or must inspect
// (PostgreSQL docs, "Message Formats"). Everything else is forwarded as opaque bytes.
// Decoders take the message body (after the 5-byte header) and never read past it.
namespace pgwarden::pgwire {

inline constexpr int32_t kProtocol30 = 196608;  // 3.0
inline constexpr int32_t kSslRequestCode = 80877103;
inline constexpr int32_t kGssEncRequestCode = 80877104;
inline constexpr int32_t kCancelRequestCode = 80877102;

struct SslRequest {};
struct GssEncRequest {};
struct CancelRequest {
    int32_t pid = 0;
    int32_t key = 0;
};
struct StartupMessage {
    int32_t version = kProtocol30;
    std::vector<std::pair<std::string, std::string>> params;
    std::string get(std::string_view name) const;  // "" when absent
};
using StartupPacket = std::variant<SslRequest, GssEncRequest, CancelRequest, StartupMessage>;

// Parses a whole startup-phase packet (including its 8-byte header). Protocol versions other
// than 3.x are an error with SQLSTATE 08P01 naming the version.
common::Result<StartupPacket> parse_startup_packet(std::string_view packet);

// ---- backend messages pgwarden reads -------------------------------------------------

struct AuthRequest {
    int32_t code = 0;     // 0 ok, 3 cleartext, 5 md5, 10 SASL, 11 continue, 12 final
    std::string payload;  // md5 salt, SASL mechanism list or SASL data
};
common::Result<AuthRequest> parse_auth_request(std::string_view body);

// ErrorResponse / NoticeResponse fields keyed by their field-type byte ('S','C','M',...).
std::map<char, std::string> parse_error_fields(std::string_view body);

common::Result<std::pair<std::string, std::string>> parse_parameter_status(std::string_view body);
common::Result<CancelRequest> parse_backend_key_data(std::string_view body);

// ---- frontend messages pgwarden rewrites --------------------------------------------

struct ParseMessage {
    std::string_view name;
    std::string_view query;
    std::string_view rest;  // parameter type count and OIDs, verbatim
};
common::Result<ParseMessage> parse_parse(std::string_view body);

struct BindMessage {
    std::string_view portal;
    std::string_view statement;
    std::string_view rest;  // formats, values, result formats, verbatim
};
common::Result<BindMessage> parse_bind(std::string_view body);

// Describe and Close share a layout: 'S' (statement) or 'P' (portal), then a name.
struct TargetMessage {
    char kind = 'S';
    std::string_view name;
};
common::Result<TargetMessage> parse_target(std::string_view body);

common::Result<std::string_view> parse_query(std::string_view body);

struct SaslInitialResponse {
    std::string_view mechanism;
    std::string_view data;
};
common::Result<SaslInitialResponse> parse_sasl_initial_response(std::string_view body);

// ---- encoders: each appends one whole message to `out` --------------------------------

void encode_error(std::string& out, std::string_view sqlstate, std::string_view message,
                  std::string_view detail = {}, std::string_view severity = "FATAL");
void encode_notice(std::string& out, std::string_view sqlstate, std::string_view message);
void encode_auth_ok(std::string& out);
void encode_auth_cleartext(std::string& out);
void encode_auth_md5(std::string& out, const std::array<uint8_t, 4>& salt);
void encode_auth_sasl(std::string& out, std::string_view mechanism);
void encode_auth_sasl_continue(std::string& out, std::string_view data);
void encode_auth_sasl_final(std::string& out, std::string_view data);
void encode_parameter_status(std::string& out, std::string_view name, std::string_view value);
void encode_backend_key_data(std::string& out, int32_t pid, int32_t key);
void encode_ready_for_query(std::string& out, char status);
void encode_ssl_refused(std::string& out);  // the single byte 'N'

void encode_startup(std::string& out,
                    const std::vector<std::pair<std::string, std::string>>& params);
void encode_password(std::string& out, std::string_view password);
void encode_sasl_initial_response(std::string& out, std::string_view mechanism,
                                  std::string_view data);
void encode_sasl_response(std::string& out, std::string_view data);
void encode_cancel_request(std::string& out, int32_t pid, int32_t key);
void encode_query(std::string& out, std::string_view sql);
void encode_terminate(std::string& out);
void encode_sync(std::string& out);
void encode_parse(std::string& out, std::string_view name, std::string_view query,
                  std::string_view rest);
void encode_bind(std::string& out, std::string_view portal, std::string_view statement,
                 std::string_view rest);
void encode_target(std::string& out, char type, char kind, std::string_view name);

// Result sets for the admin console and synthetic replies.
void encode_row_description(std::string& out, const std::vector<std::string>& columns);
void encode_data_row(std::string& out, const std::vector<std::optional<std::string>>& values);
void encode_command_complete(std::string& out, std::string_view tag);
void encode_empty_query(std::string& out);

}  // namespace pgwarden::pgwire
