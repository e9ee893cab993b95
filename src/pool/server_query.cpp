#include "pool/server_query.hpp"

#include "net/io.hpp"
#include "pgwire/message_reader.hpp"
#include "pgwire/messages.hpp"
#include "pgwire/sqlstate.hpp"

namespace pgwarden::pool {

// cppcheck-suppress passedByValue ; a coroutine keeps its own copy across suspensions
net::awaitable<common::Result<std::optional<std::string>>> query_first_value(
    ServerConn& conn, std::string sql, Clock::time_point deadline) {
    std::string out;
    pgwire::encode_query(out, sql);
    if (auto ec = co_await net::write_all(conn.socket, out); ec) {
        co_return common::make_error(pgwire::sqlstate::kConnectionFailure, ec.message());
    }
    std::optional<std::string> value;
    bool have_row = false;
    std::optional<common::Error> failure;
    for (;;) {
        auto msg = co_await read_server_message(conn, deadline);
        if (!msg) {
            co_return std::move(msg).error();
        }
        const auto& [type, body] = *msg;
        if (type == 'E') {
            auto fields = pgwire::parse_error_fields(body);
            failure = common::make_error(fields['C'], fields['M']);
        } else if (type == 'D' && !have_row) {
            have_row = true;
            pgwire::MessageReader r(body);
            int16_t columns = 0;
            int32_t len = 0;
            std::string_view text;
            if (r.read_int16(columns) && columns >= 1 && r.read_int32(len) && len >= 0 &&
                r.read_bytes(static_cast<size_t>(len), text)) {
                value = std::string(text);
            }
        } else if (type == 'Z') {
            break;
        }
    }
    if (failure) {
        co_return std::move(*failure);
    }
    co_return value;
}

}  // namespace pgwarden::pool
