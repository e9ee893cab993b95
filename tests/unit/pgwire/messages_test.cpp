#include "pgwire/messages.hpp"

#include "pgwire/frame.hpp"
#include "pgwire/message_reader.hpp"
#include "pgwire/sqlstate.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgwarden::pgwire {
namespace {

using namespace std::string_literals;

std::string be32(uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
            static_cast<char>(v)};
}

// A startup-phase packet: the length (which counts itself) is computed from the parts.
std::string startup_packet(int32_t code, std::string_view tail = {}) {
    return be32(static_cast<uint32_t>(8 + tail.size())) + be32(static_cast<uint32_t>(code)) +
           std::string(tail);
}

// Checks that `out` holds exactly one well-framed message of `type` and returns its body.
std::string only_body(const std::string& out, char type) {
    EXPECT_GE(out.size(), kHeaderSize);
    if (out.size() < kHeaderSize) {
        return {};
    }
    const FrameHeader h = decode_header(
        std::span(reinterpret_cast<const uint8_t*>(out.data()), out.size()), 1u << 30);
    EXPECT_EQ(h.status, DecodeStatus::Frame) << h.error;
    EXPECT_EQ(h.type, type);
    EXPECT_EQ(h.length, out.size());
    return out.substr(kHeaderSize);
}

// ---- startup packets --------------------------------------------------------------------

TEST(ParseStartupPacket, SslRequest) {
    auto p = parse_startup_packet(startup_packet(kSslRequestCode));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_TRUE(std::holds_alternative<SslRequest>(*p));
}

TEST(ParseStartupPacket, GssEncRequest) {
    auto p = parse_startup_packet(startup_packet(kGssEncRequestCode));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_TRUE(std::holds_alternative<GssEncRequest>(*p));
}

TEST(ParseStartupPacket, CancelRequest) {
    auto p =
        parse_startup_packet(startup_packet(kCancelRequestCode, be32(1234) + be32(0xdeadbeef)));
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_TRUE(std::holds_alternative<CancelRequest>(*p));
    EXPECT_EQ(std::get<CancelRequest>(*p).pid, 1234);
    EXPECT_EQ(std::get<CancelRequest>(*p).key, static_cast<int32_t>(0xdeadbeef));
}

TEST(ParseStartupPacket, EncodedCancelRequestRoundTrips) {
    std::string out;
    encode_cancel_request(out, -7, 42);
    auto p = parse_startup_packet(out);
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_TRUE(std::holds_alternative<CancelRequest>(*p));
    EXPECT_EQ(std::get<CancelRequest>(*p).pid, -7);
    EXPECT_EQ(std::get<CancelRequest>(*p).key, 42);
}

TEST(ParseStartupPacket, StartupMessageWithParams) {
    auto p = parse_startup_packet(startup_packet(
        kProtocol30, "user\0alice\0database\0app\0application_name\0\0options\0-c x=1\0\0"s));
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_TRUE(std::holds_alternative<StartupMessage>(*p));
    const auto& m = std::get<StartupMessage>(*p);
    EXPECT_EQ(m.version, kProtocol30);
    const std::vector<std::pair<std::string, std::string>> want{
        {"user", "alice"}, {"database", "app"}, {"application_name", ""}, {"options", "-c x=1"}};
    EXPECT_EQ(m.params, want);
    EXPECT_EQ(m.get("user"), "alice");
    EXPECT_EQ(m.get("database"), "app");
    EXPECT_EQ(m.get("missing"), "");
}

TEST(ParseStartupPacket, StartupMessageWithoutParams) {
    auto p = parse_startup_packet(startup_packet(kProtocol30, "\0"s));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_TRUE(std::get<StartupMessage>(*p).params.empty());
}

TEST(ParseStartupPacket, EncodedStartupRoundTrips) {
    const std::vector<std::pair<std::string, std::string>> params{
        {"user", "bob"}, {"database", "db"}, {"client_encoding", "UTF8"}};
    std::string out;
    encode_startup(out, params);
    auto p = parse_startup_packet(out);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(std::get<StartupMessage>(*p).params, params);
    EXPECT_EQ(std::get<StartupMessage>(*p).version, kProtocol30);
}

TEST(ParseStartupPacket, MinorVersionsOfThreeAreAccepted) {
    // 3.2 (PostgreSQL 18) keeps the 3.x layout; the version is passed on for negotiation.
    const int32_t v32 = (3 << 16) | 2;
    auto p = parse_startup_packet(startup_packet(v32, "user\0u\0\0"s));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(std::get<StartupMessage>(*p).version, v32);
}

TEST(ParseStartupPacket, OtherProtocolVersionsAreRejectedByName) {
    struct Case {
        int32_t code;
        const char* version;
    };
    const Case cases[] = {
        {2 << 16, "2.0"},
        {4 << 16, "4.0"},
        {(1 << 16) | 5, "1.5"},
        {0, "0.0"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.version);
        auto p = parse_startup_packet(startup_packet(c.code, "user\0u\0\0"s));
        ASSERT_FALSE(p);
        EXPECT_EQ(p.error().code, sqlstate::kFeatureNotSupported);
        EXPECT_NE(p.error().message.find(c.version), std::string::npos) << p.error().message;
    }
}

TEST(ParseStartupPacket, MalformedPackets) {
    struct Case {
        const char* name;
        std::string packet;
    };
    const Case cases[] = {
        {"empty", ""},
        {"length only", be32(4)},
        {"seven bytes", be32(8) + "\x04\xd2\x16"s},
        {"length says more than given", be32(12) + be32(kProtocol30) + "\0"s},
        {"length says less than given", be32(8) + be32(kProtocol30) + "\0"s},
        {"negative length", be32(0xfffffff0) + be32(kProtocol30)},
        {"ssl request with trailing bytes", startup_packet(kSslRequestCode, "x")},
        {"gssenc request with trailing bytes", startup_packet(kGssEncRequestCode, be32(0))},
        {"cancel request without key", startup_packet(kCancelRequestCode, be32(1))},
        {"cancel request, short key", startup_packet(kCancelRequestCode, be32(1) + "ab")},
        {"cancel request with trailing bytes",
         startup_packet(kCancelRequestCode, be32(1) + be32(2) + "x")},
        {"startup without any terminator", startup_packet(kProtocol30)},
        {"startup without final terminator", startup_packet(kProtocol30, "user\0alice\0"s)},
        {"startup, value not terminated", startup_packet(kProtocol30, "user\0alice"s)},
        {"startup, key not terminated", startup_packet(kProtocol30, "user"s)},
        {"parameter without value", startup_packet(kProtocol30, "user\0"s)},
        {"trailing bytes after terminator", startup_packet(kProtocol30, "user\0u\0\0x"s)},
        {"trailing NUL after terminator", startup_packet(kProtocol30, "user\0u\0\0\0"s)},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        auto p = parse_startup_packet(c.packet);
        ASSERT_FALSE(p);
        EXPECT_EQ(p.error().code, sqlstate::kProtocolViolation);
    }
}

TEST(ParseStartupPacket, ErrorMessagesSayWhatIsWrong) {
    const std::pair<std::string, const char*> cases[] = {
        {startup_packet(kProtocol30, "user\0alice\0"s), "missing terminator"},
        {startup_packet(kProtocol30, "user\0"s), "parameter without value"},
        {startup_packet(kProtocol30, "user\0u\0\0x"s), "trailing bytes"},
    };
    for (const auto& [packet, what] : cases) {
        auto p = parse_startup_packet(packet);
        ASSERT_FALSE(p);
        EXPECT_NE(p.error().message.find(what), std::string::npos) << p.error().message;
    }
}

TEST(ParseStartupPacket, EveryTruncationOfAValidPacketIsRejected) {
    // A packet cut anywhere (with its length field fixed up to match) must be refused,
    // never read past its end.
    const std::string tail = "user\0alice\0database\0app\0\0"s;
    for (size_t n = 0; n < tail.size(); ++n) {
        SCOPED_TRACE(n);
        EXPECT_FALSE(parse_startup_packet(startup_packet(kProtocol30, tail.substr(0, n))));
    }
    EXPECT_TRUE(parse_startup_packet(startup_packet(kProtocol30, tail)));
}

// ---- authentication ---------------------------------------------------------------------

TEST(ParseAuthRequest, EveryCodePgwardenHandles) {
    struct Case {
        const char* name;
        std::string encoded;
        int32_t code;
        std::string payload;
    };
    std::vector<Case> cases;
    {
        std::string out;
        encode_auth_ok(out);
        cases.push_back({"ok", out, 0, ""});
    }
    {
        std::string out;
        encode_auth_cleartext(out);
        cases.push_back({"cleartext", out, 3, ""});
    }
    {
        std::string out;
        encode_auth_md5(out, {0x00, 0xff, 0x10, 0x7f});
        cases.push_back({"md5", out, 5, "\x00\xff\x10\x7f"s});
    }
    {
        std::string out;
        encode_auth_sasl(out, "SCRAM-SHA-256");
        // The mechanism list: each name NUL-terminated, then an empty name.
        cases.push_back({"sasl", out, 10, "SCRAM-SHA-256\0\0"s});
    }
    {
        std::string out;
        encode_auth_sasl_continue(out, "r=abc,s=c2FsdA==,i=4096");
        cases.push_back({"sasl continue", out, 11, "r=abc,s=c2FsdA==,i=4096"});
    }
    {
        std::string out;
        encode_auth_sasl_final(out, "v=c2lnbmF0dXJl");
        cases.push_back({"sasl final", out, 12, "v=c2lnbmF0dXJl"});
    }
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        auto a = parse_auth_request(only_body(c.encoded, 'R'));
        ASSERT_TRUE(a) << a.error().message;
        EXPECT_EQ(a->code, c.code);
        EXPECT_EQ(a->payload, c.payload);
    }
}

TEST(ParseAuthRequest, Md5SaltMustBeFourBytes) {
    for (std::string salt : {""s, "abc"s, "abcde"s}) {
        SCOPED_TRACE(salt.size());
        auto a = parse_auth_request(be32(5) + salt);
        ASSERT_FALSE(a);
        EXPECT_EQ(a.error().code, sqlstate::kProtocolViolation);
    }
}

TEST(ParseAuthRequest, ShortBody) {
    for (std::string body : {""s, "\0"s, "\0\0\0"s}) {
        EXPECT_FALSE(parse_auth_request(body));
    }
}

TEST(ParseAuthRequest, UnknownCodesAreReturnedForTheCallerToRefuse) {
    // GSS (7) and SSPI (9) are parsed; refusing them is the session's decision.
    auto a = parse_auth_request(be32(7));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->code, 7);
}

TEST(ParseSaslInitialResponse, RoundTrip) {
    for (std::string data : {""s, "n,,n=,r=abc"s, "\0binary\0"s}) {
        SCOPED_TRACE(data);
        std::string out;
        encode_sasl_initial_response(out, "SCRAM-SHA-256", data);
        const std::string body = only_body(out, 'p');
        auto m = parse_sasl_initial_response(body);
        ASSERT_TRUE(m) << m.error().message;
        EXPECT_EQ(m->mechanism, "SCRAM-SHA-256");
        EXPECT_EQ(m->data, data);
    }
}

TEST(ParseSaslInitialResponse, MinusOneLengthMeansNoData) {
    // The result views the body, so the body must outlive it.
    const std::string body = "SCRAM-SHA-256\0"s + be32(0xffffffff);
    auto m = parse_sasl_initial_response(body);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->mechanism, "SCRAM-SHA-256");
    EXPECT_TRUE(m->data.empty());
}

TEST(ParseSaslInitialResponse, Malformed) {
    const std::pair<const char*, std::string> cases[] = {
        {"empty", ""},
        {"mechanism not terminated", "SCRAM-SHA-256"},
        {"no length", "SCRAM-SHA-256\0"s},
        {"short length", "SCRAM-SHA-256\0\0\0\0"s},
        {"length larger than the rest", "SCRAM-SHA-256\0"s + be32(5) + "abcd"},
        {"length far larger than the rest", "SCRAM-SHA-256\0"s + be32(0x7fffffff) + "abcd"},
        {"negative length other than -1", "SCRAM-SHA-256\0"s + be32(0xfffffffe)},
        {"most negative length", "SCRAM-SHA-256\0"s + be32(0x80000000) + "abcd"},
    };
    for (const auto& [name, body] : cases) {
        SCOPED_TRACE(name);
        auto m = parse_sasl_initial_response(body);
        ASSERT_FALSE(m);
        EXPECT_EQ(m.error().code, sqlstate::kProtocolViolation);
    }
}

// ---- errors, notices, status -------------------------------------------------------------

TEST(ParseErrorFields, EncodeErrorRoundTrips) {
    std::string out;
    encode_error(out, "28P01", "password authentication failed", "for user \"x\"", "ERROR");
    const auto fields = parse_error_fields(only_body(out, 'E'));
    const std::map<char, std::string> want{{'S', "ERROR"},
                                           {'V', "ERROR"},
                                           {'C', "28P01"},
                                           {'M', "password authentication failed"},
                                           {'D', "for user \"x\""}};
    EXPECT_EQ(fields, want);
}

TEST(ParseErrorFields, EncodeErrorDefaultsToFatalWithoutDetail) {
    std::string out;
    encode_error(out, sqlstate::kTooManyConnections, "no more connections allowed");
    const auto fields = parse_error_fields(only_body(out, 'E'));
    const std::map<char, std::string> want{
        {'S', "FATAL"}, {'V', "FATAL"}, {'C', "53300"}, {'M', "no more connections allowed"}};
    EXPECT_EQ(fields, want);
}

TEST(ParseErrorFields, EncodeNoticeRoundTrips) {
    std::string out;
    encode_notice(out, "01000", "pool is draining");
    const auto fields = parse_error_fields(only_body(out, 'N'));
    const std::map<char, std::string> want{
        {'S', "WARNING"}, {'V', "WARNING"}, {'C', "01000"}, {'M', "pool is draining"}};
    EXPECT_EQ(fields, want);
}

TEST(ParseErrorFields, TruncatedBodiesKeepTheWholeFieldsSeen) {
    const std::string body = "SERROR\0C42601\0Msyntax error\0\0"s;
    for (size_t n = 0; n <= body.size(); ++n) {
        SCOPED_TRACE(n);
        const auto fields = parse_error_fields(body.substr(0, n));
        // A field counts only once its terminator has been seen.
        size_t whole = 0;
        for (size_t end : {6u, 13u, 27u}) {
            if (n > end) {
                ++whole;
            }
        }
        EXPECT_EQ(fields.size(), whole);
    }
}

TEST(ParseErrorFields, StopsAtTheTerminator) {
    const auto fields = parse_error_fields("Mfirst\0\0Msecond\0\0"s);
    ASSERT_EQ(fields.size(), 1u);
    EXPECT_EQ(fields.at('M'), "first");
}

TEST(ParseParameterStatus, RoundTripAndMalformed) {
    std::string out;
    encode_parameter_status(out, "TimeZone", "Europe/Berlin");
    auto p = parse_parameter_status(only_body(out, 'S'));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->first, "TimeZone");
    EXPECT_EQ(p->second, "Europe/Berlin");

    for (std::string body : {""s, "TimeZone"s, "TimeZone\0"s, "TimeZone\0UTC"s}) {
        EXPECT_FALSE(parse_parameter_status(body));
    }
}

TEST(ParseBackendKeyData, RoundTripAndMalformed) {
    std::string out;
    encode_backend_key_data(out, 4242, -1);
    auto k = parse_backend_key_data(only_body(out, 'K'));
    ASSERT_TRUE(k) << k.error().message;
    EXPECT_EQ(k->pid, 4242);
    EXPECT_EQ(k->key, -1);

    for (std::string body : {""s, be32(1), be32(1) + "abc", be32(1) + be32(2) + "x"}) {
        EXPECT_FALSE(parse_backend_key_data(body));
    }
}

// ---- extended-protocol messages ---------------------------------------------------------

// Parameter type OIDs as a Parse body tail: count, then OIDs (binary, with NULs).
const std::string kParamTypes = "\x00\x02\x00\x00\x00\x17\x00\x00\x00\x00"s;

TEST(ParseParse, RoundTrip) {
    struct Case {
        std::string name, query, rest;
    };
    const Case cases[] = {
        {"s1", "SELECT $1::int, $2", kParamTypes},
        {"", "SELECT 1", "\x00\x00"s},
        {"", "", ""},
        {"with space", "SELECT 'a\nb'", ""},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        std::string out;
        encode_parse(out, c.name, c.query, c.rest);
        const std::string body = only_body(out, 'P');
        auto m = parse_parse(body);
        ASSERT_TRUE(m) << m.error().message;
        EXPECT_EQ(m->name, c.name);
        EXPECT_EQ(m->query, c.query);
        EXPECT_EQ(m->rest, c.rest);
    }
}

TEST(ParseParse, Malformed) {
    for (std::string body : {""s, "s1"s, "s1\0SELECT 1"s}) {
        auto m = parse_parse(body);
        ASSERT_FALSE(m);
        EXPECT_EQ(m.error().code, sqlstate::kProtocolViolation);
    }
}

TEST(ParseBind, RoundTrip) {
    // formats, one text parameter "42", one result format.
    const std::string rest =
        "\x00\x00\x00\x01\x00\x00\x00\x02"
        "42\x00\x01\x00\x00"s;
    const std::pair<std::string, std::string> cases[] = {
        {"", ""}, {"", "s1"}, {"portal", "pgw_0123"}};
    for (const auto& [portal, statement] : cases) {
        std::string out;
        encode_bind(out, portal, statement, rest);
        const std::string body = only_body(out, 'B');
        auto m = parse_bind(body);
        ASSERT_TRUE(m) << m.error().message;
        EXPECT_EQ(m->portal, portal);
        EXPECT_EQ(m->statement, statement);
        EXPECT_EQ(m->rest, rest);
    }
}

TEST(ParseBind, Malformed) {
    for (std::string body : {""s, "p"s, "p\0s"s}) {
        EXPECT_FALSE(parse_bind(body));
    }
}

TEST(ParseTarget, RoundTripForDescribeAndClose) {
    for (char type : {'D', 'C'}) {
        for (char kind : {'S', 'P'}) {
            for (std::string name : {""s, "s1"s}) {
                SCOPED_TRACE(testing::Message() << type << kind << name);
                std::string out;
                encode_target(out, type, kind, name);
                const std::string body = only_body(out, type);
                auto m = parse_target(body);
                ASSERT_TRUE(m) << m.error().message;
                EXPECT_EQ(m->kind, kind);
                EXPECT_EQ(m->name, name);
            }
        }
    }
}

TEST(ParseTarget, Malformed) {
    const std::pair<const char*, std::string> cases[] = {
        {"empty", ""},
        {"kind only", "S"},
        {"unknown kind", "Xs1\0"s},
        {"lower-case kind", "ss1\0"s},
        {"name not terminated", "Ss1"},
        {"trailing bytes", "Ss1\0x"s},
    };
    for (const auto& [name, body] : cases) {
        SCOPED_TRACE(name);
        EXPECT_FALSE(parse_target(body));
    }
}

TEST(ParseQuery, RoundTripAndMalformed) {
    for (std::string sql : {""s, "SELECT 1"s, "SELECT 1; SELECT 2"s}) {
        std::string out;
        encode_query(out, sql);
        const std::string body = only_body(out, 'Q');
        auto q = parse_query(body);
        ASSERT_TRUE(q) << q.error().message;
        EXPECT_EQ(*q, sql);
    }
    EXPECT_FALSE(parse_query(""));
    EXPECT_FALSE(parse_query("SELECT 1"));
}

// ---- encoders without a decoder in pgwire: checked byte for byte ------------------------

TEST(Encoders, FixedMessages) {
    struct Case {
        const char* name;
        void (*encode)(std::string&);
        std::string want;
    };
    const Case cases[] = {
        {"auth ok", encode_auth_ok, "R"s + be32(8) + be32(0)},
        {"auth cleartext", encode_auth_cleartext, "R"s + be32(8) + be32(3)},
        {"terminate", encode_terminate, "X"s + be32(4)},
        {"sync", encode_sync, "S"s + be32(4)},
        {"empty query", encode_empty_query, "I"s + be32(4)},
        {"ssl refused", encode_ssl_refused, "N"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        std::string out;
        c.encode(out);
        EXPECT_EQ(out, c.want);
    }
}

TEST(Encoders, ReadyForQuery) {
    for (char status : {'I', 'T', 'E'}) {
        std::string out;
        encode_ready_for_query(out, status);
        EXPECT_EQ(out, "Z"s + be32(5) + status);
    }
}

TEST(Encoders, PasswordAndSaslResponse) {
    std::string out;
    encode_password(out, "secret");
    EXPECT_EQ(only_body(out, 'p'), "secret\0"s);
    out.clear();
    encode_sasl_response(out, "c=biws,r=abc,p=xyz");
    EXPECT_EQ(only_body(out, 'p'), "c=biws,r=abc,p=xyz");
}

TEST(Encoders, CommandComplete) {
    std::string out;
    encode_command_complete(out, "SELECT 3");
    EXPECT_EQ(only_body(out, 'C'), "SELECT 3\0"s);
}

TEST(Encoders, RowDescriptionDecodesFieldByField) {
    std::string out;
    encode_row_description(out, {"database", "pool_mode"});
    const std::string body = only_body(out, 'T');
    MessageReader r(body);
    int16_t count = 0;
    ASSERT_TRUE(r.read_int16(count));
    ASSERT_EQ(count, 2);
    for (const char* want : {"database", "pool_mode"}) {
        std::string_view name;
        int32_t table = -1;
        int16_t attnum = -1;
        int32_t type = 0;
        int16_t typlen = 0;
        int32_t typmod = 0;
        int16_t format = -1;
        ASSERT_TRUE(r.read_cstring(name) && r.read_int32(table) && r.read_int16(attnum) &&
                    r.read_int32(type) && r.read_int16(typlen) && r.read_int32(typmod) &&
                    r.read_int16(format));
        EXPECT_EQ(name, want);
        EXPECT_EQ(table, 0);
        EXPECT_EQ(attnum, 0);
        EXPECT_EQ(type, 25);  // text
        EXPECT_EQ(typlen, -1);
        EXPECT_EQ(typmod, -1);
        EXPECT_EQ(format, 0);
    }
    EXPECT_TRUE(r.at_end());
}

TEST(Encoders, DataRowWithNull) {
    std::string out;
    encode_data_row(out, {std::string("app"), std::nullopt, std::string("")});
    const std::string body = only_body(out, 'D');
    EXPECT_EQ(body, "\x00\x03"s + be32(3) + "app" + be32(0xffffffff) + be32(0));
}

TEST(Encoders, AppendWithoutDisturbingEarlierMessages) {
    // The session batches replies into one buffer: each encoder must append a whole,
    // correctly framed message and leave what is already there alone.
    std::string out = "prefix";
    encode_parameter_status(out, "a", "b");
    encode_backend_key_data(out, 1, 2);
    encode_ready_for_query(out, 'I');
    ASSERT_EQ(out.substr(0, 6), "prefix");
    std::string_view rest = std::string_view(out).substr(6);
    std::string types;
    while (!rest.empty()) {
        const FrameHeader h = decode_header(
            std::span(reinterpret_cast<const uint8_t*>(rest.data()), rest.size()), 1u << 30);
        ASSERT_EQ(h.status, DecodeStatus::Frame) << h.error;
        ASSERT_LE(h.length, rest.size());
        types.push_back(h.type);
        rest.remove_prefix(h.length);
    }
    EXPECT_EQ(types, "SKZ");
}

}  // namespace
}  // namespace pgwarden::pgwire
