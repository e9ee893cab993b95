#include "pgwire/messages.hpp"

#include "pgwire/message_reader.hpp"
#include "pgwire/message_writer.hpp"
#include "pgwire/sqlstate.hpp"

#include <fmt/format.h>

namespace pgwarden::pgwire {

namespace {

common::Error malformed(std::string_view what) {
    return common::make_error(sqlstate::kProtocolViolation, fmt::format("malformed {}", what));
}

}  // namespace

std::string StartupMessage::get(std::string_view name) const {
    for (const auto& [k, v] : params) {
        if (k == name) {
            return v;
        }
    }
    return {};
}

common::Result<StartupPacket> parse_startup_packet(std::string_view packet) {
    MessageReader r(packet);
    int32_t len = 0;
    int32_t code = 0;
    if (!r.read_int32(len) || !r.read_int32(code) || static_cast<size_t>(len) != packet.size()) {
        return malformed("startup packet");
    }
    if (code == kSslRequestCode || code == kGssEncRequestCode) {
        if (!r.at_end()) {
            return malformed("SSL/GSSENC request");
        }
        return code == kSslRequestCode ? StartupPacket{SslRequest{}}
                                       : StartupPacket{GssEncRequest{}};
    }
    if (code == kCancelRequestCode) {
        CancelRequest c;
        if (!r.read_int32(c.pid) || !r.read_int32(c.key) || !r.at_end()) {
            return malformed("cancel request");
        }
        return StartupPacket{c};
    }
    const int major = code >> 16;
    const int minor = code & 0xffff;
    if (major != 3) {
        return common::make_error(
            sqlstate::kFeatureNotSupported,
            fmt::format("unsupported frontend protocol {}.{}: server supports 3.0", major, minor));
    }
    StartupMessage m;
    m.version = code;
    for (;;) {
        std::string_view key;
        if (!r.read_cstring(key)) {
            return malformed("startup packet: missing terminator");
        }
        if (key.empty()) {
            break;
        }
        std::string_view value;
        if (!r.read_cstring(value)) {
            return malformed("startup packet: parameter without value");
        }
        m.params.emplace_back(std::string(key), std::string(value));
    }
    if (!r.at_end()) {
        return malformed("startup packet: trailing bytes");
    }
    return StartupPacket{std::move(m)};
}

common::Result<AuthRequest> parse_auth_request(std::string_view body) {
    MessageReader r(body);
    AuthRequest a;
    if (!r.read_int32(a.code)) {
        return malformed("authentication request");
    }
    a.payload = std::string(r.rest());
    if (a.code == 5 && a.payload.size() != 4) {
        return malformed("md5 authentication request");
    }
    return a;
}

std::map<char, std::string> parse_error_fields(std::string_view body) {
    std::map<char, std::string> fields;
    MessageReader r(body);
    for (;;) {
        uint8_t type = 0;
        if (!r.read_byte(type) || type == 0) {
            break;
        }
        std::string_view value;
        if (!r.read_cstring(value)) {
            break;
        }
        fields[static_cast<char>(type)] = std::string(value);
    }
    return fields;
}

common::Result<std::pair<std::string, std::string>> parse_parameter_status(std::string_view body) {
    MessageReader r(body);
    std::string_view k;
    std::string_view v;
    if (!r.read_cstring(k) || !r.read_cstring(v)) {
        return malformed("ParameterStatus");
    }
    return std::pair<std::string, std::string>(std::string(k), std::string(v));
}

common::Result<CancelRequest> parse_backend_key_data(std::string_view body) {
    MessageReader r(body);
    CancelRequest c;
    if (!r.read_int32(c.pid) || !r.read_int32(c.key) || !r.at_end()) {
        return malformed("BackendKeyData");
    }
    return c;
}

common::Result<ParseMessage> parse_parse(std::string_view body) {
    MessageReader r(body);
    ParseMessage m;
    if (!r.read_cstring(m.name) || !r.read_cstring(m.query)) {
        return malformed("Parse message");
    }
    m.rest = r.rest();
    return m;
}

common::Result<BindMessage> parse_bind(std::string_view body) {
    MessageReader r(body);
    BindMessage m;
    if (!r.read_cstring(m.portal) || !r.read_cstring(m.statement)) {
        return malformed("Bind message");
    }
    m.rest = r.rest();
    return m;
}

common::Result<TargetMessage> parse_target(std::string_view body) {
    MessageReader r(body);
    uint8_t kind = 0;
    TargetMessage m;
    if (!r.read_byte(kind) || (kind != 'S' && kind != 'P') || !r.read_cstring(m.name) ||
        !r.at_end()) {
        return malformed("Describe/Close message");
    }
    m.kind = static_cast<char>(kind);
    return m;
}

common::Result<std::string_view> parse_query(std::string_view body) {
    MessageReader r(body);
    std::string_view q;
    if (!r.read_cstring(q)) {
        return malformed("Query message");
    }
    return q;
}

common::Result<SaslInitialResponse> parse_sasl_initial_response(std::string_view body) {
    MessageReader r(body);
    SaslInitialResponse m;
    int32_t len = 0;
    if (!r.read_cstring(m.mechanism) || !r.read_int32(len)) {
        return malformed("SASLInitialResponse");
    }
    if (len == -1) {
        m.data = {};
    } else if (len < 0 || !r.read_bytes(static_cast<size_t>(len), m.data)) {
        return malformed("SASLInitialResponse");
    }
    return m;
}

void encode_error(std::string& out, std::string_view sqlstate, std::string_view message,
                  std::string_view detail, std::string_view severity) {
    MessageWriter w(out);
    w.begin('E').byte('S').cstring(severity).byte('V').cstring(severity);
    w.byte('C').cstring(sqlstate).byte('M').cstring(message);
    if (!detail.empty()) {
        w.byte('D').cstring(detail);
    }
    w.byte(0).end();
}

void encode_notice(std::string& out, std::string_view sqlstate, std::string_view message) {
    MessageWriter w(out);
    w.begin('N').byte('S').cstring("WARNING").byte('V').cstring("WARNING");
    w.byte('C').cstring(sqlstate).byte('M').cstring(message).byte(0).end();
}

void encode_auth_ok(std::string& out) {
    MessageWriter(out).begin('R').int32(0).end();
}
void encode_auth_cleartext(std::string& out) {
    MessageWriter(out).begin('R').int32(3).end();
}

void encode_auth_md5(std::string& out, const std::array<uint8_t, 4>& salt) {
    MessageWriter w(out);
    w.begin('R').int32(5);
    for (uint8_t b : salt) {
        w.byte(b);
    }
    w.end();
}

void encode_auth_sasl(std::string& out, std::string_view mechanism) {
    MessageWriter(out).begin('R').int32(10).cstring(mechanism).byte(0).end();
}

void encode_auth_sasl_continue(std::string& out, std::string_view data) {
    MessageWriter(out).begin('R').int32(11).bytes(data).end();
}

void encode_auth_sasl_final(std::string& out, std::string_view data) {
    MessageWriter(out).begin('R').int32(12).bytes(data).end();
}

void encode_parameter_status(std::string& out, std::string_view name, std::string_view value) {
    MessageWriter(out).begin('S').cstring(name).cstring(value).end();
}

void encode_backend_key_data(std::string& out, int32_t pid, int32_t key) {
    MessageWriter(out).begin('K').int32(pid).int32(key).end();
}

void encode_ready_for_query(std::string& out, char status) {
    MessageWriter(out).begin('Z').byte(static_cast<uint8_t>(status)).end();
}

void encode_ssl_refused(std::string& out) {
    out.push_back('N');
}

void encode_startup(std::string& out,
                    const std::vector<std::pair<std::string, std::string>>& params) {
    MessageWriter w(out);
    w.begin(0).int32(kProtocol30);
    for (const auto& [k, v] : params) {
        w.cstring(k).cstring(v);
    }
    w.byte(0).end();
}

void encode_password(std::string& out, std::string_view password) {
    MessageWriter(out).begin('p').cstring(password).end();
}

void encode_sasl_initial_response(std::string& out, std::string_view mechanism,
                                  std::string_view data) {
    MessageWriter(out)
        .begin('p')
        .cstring(mechanism)
        .int32(static_cast<int32_t>(data.size()))
        .bytes(data)
        .end();
}

void encode_sasl_response(std::string& out, std::string_view data) {
    MessageWriter(out).begin('p').bytes(data).end();
}

void encode_cancel_request(std::string& out, int32_t pid, int32_t key) {
    MessageWriter(out).begin(0).int32(kCancelRequestCode).int32(pid).int32(key).end();
}

void encode_query(std::string& out, std::string_view sql) {
    MessageWriter(out).begin('Q').cstring(sql).end();
}

void encode_terminate(std::string& out) {
    MessageWriter(out).begin('X').end();
}
void encode_sync(std::string& out) {
    MessageWriter(out).begin('S').end();
}

void encode_parse(std::string& out, std::string_view name, std::string_view query,
                  std::string_view rest) {
    MessageWriter(out).begin('P').cstring(name).cstring(query).bytes(rest).end();
}

void encode_bind(std::string& out, std::string_view portal, std::string_view statement,
                 std::string_view rest) {
    MessageWriter(out).begin('B').cstring(portal).cstring(statement).bytes(rest).end();
}

void encode_target(std::string& out, char type, char kind, std::string_view name) {
    MessageWriter(out).begin(type).byte(static_cast<uint8_t>(kind)).cstring(name).end();
}

void encode_row_description(std::string& out, const std::vector<std::string>& columns) {
    MessageWriter w(out);
    w.begin('T').int16(static_cast<int16_t>(columns.size()));
    for (const auto& c : columns) {
        // table oid, column attnum, type oid (25 = text), typlen, typmod, text format
        w.cstring(c).int32(0).int16(0).int32(25).int16(-1).int32(-1).int16(0);
    }
    w.end();
}

void encode_data_row(std::string& out, const std::vector<std::optional<std::string>>& values) {
    MessageWriter w(out);
    w.begin('D').int16(static_cast<int16_t>(values.size()));
    for (const auto& v : values) {
        if (v) {
            w.int32(static_cast<int32_t>(v->size())).bytes(*v);
        } else {
            w.int32(-1);
        }
    }
    w.end();
}

void encode_command_complete(std::string& out, std::string_view tag) {
    MessageWriter(out).begin('C').cstring(tag).end();
}

void encode_empty_query(std::string& out) {
    MessageWriter(out).begin('I').end();
}

}  // namespace pgwarden::pgwire
