#include "proxy/auth_query.hpp"

#include "net/io.hpp"
#include "pgwire/message_reader.hpp"
#include "pgwire/message_writer.hpp"
#include "pgwire/messages.hpp"
#include "pgwire/sqlstate.hpp"
#include "pool/pool.hpp"

namespace pgwarden::proxy {

// Coroutine parameters are taken by value on purpose: a reference could dangle across a
// suspension.
net::awaitable<common::Result<std::optional<std::string>>> run_auth_query(
    pool::ServerEndpoint endpoint, pool::ServerCredentials auth_user, std::string query,
    // cppcheck-suppress passedByValue
    std::string user, std::chrono::milliseconds timeout) {
    const auto deadline = pool::Clock::now() + timeout;
    std::vector<std::pair<std::string, std::string>> params;
    params.emplace_back(std::string("application_name"), std::string("pgwarden auth_query"));
    auto conn = co_await pool::connect_server(endpoint, auth_user, std::move(params), timeout);
    if (!conn) {
        co_return std::move(conn).error();
    }
    std::string out;
    pgwire::encode_parse(out, "", query, std::string(2, '\0'));
    pgwire::MessageWriter(out)
        .begin('B')
        .cstring("")
        .cstring("")
        .int16(0)  // parameter formats: all text
        .int16(1)
        .int32(static_cast<int32_t>(user.size()))
        .bytes(user)
        .int16(0)  // result formats: all text
        .end();
    pgwire::MessageWriter(out).begin('E').cstring("").int32(0).end();
    pgwire::encode_sync(out);
    if (auto ec = co_await net::write_all((*conn)->socket, out); ec) {
        pool::close_server(std::move(*conn));
        co_return common::make_error(pgwire::sqlstate::kConnectionFailure,
                                     "auth_query: " + ec.message());
    }
    std::optional<std::string> secret;
    std::optional<common::Error> failure;
    for (;;) {
        auto msg = co_await pool::read_server_message(**conn, deadline);
        if (!msg) {
            pool::close_server(std::move(*conn));
            co_return std::move(msg).error();
        }
        const auto& [type, body] = *msg;
        if (type == 'E') {
            auto fields = pgwire::parse_error_fields(body);
            failure = common::make_error(fields['C'], "auth_query failed: " + fields['M']);
        } else if (type == 'D' && !secret) {
            // DataRow: the password is the second column (usename, passwd), as in PgBouncer.
            pgwire::MessageReader r(body);
            int16_t columns = 0;
            int32_t len = 0;
            std::string_view value;
            if (r.read_int16(columns) && columns >= 2 && r.read_int32(len) && len >= 0 &&
                r.read_bytes(static_cast<size_t>(len), value) && r.read_int32(len) && len >= 0 &&
                r.read_bytes(static_cast<size_t>(len), value)) {
                secret = std::string(value);
            }
        } else if (type == 'Z') {
            break;
        }
    }
    pool::close_server(std::move(*conn));
    if (failure) {
        co_return std::move(*failure);
    }
    co_return secret;
}

}  // namespace pgwarden::proxy
