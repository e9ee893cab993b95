#include "pool/server_conn.hpp"

#include "net/io.hpp"
#include "pgwire/frame.hpp"
#include "pgwire/md5.hpp"
#include "pgwire/messages.hpp"
#include "pgwire/sqlstate.hpp"

#include <fmt/format.h>

#include <atomic>

namespace pgwarden::pool {

namespace sqlstate = pgwire::sqlstate;

void ServerStatements::touch(const std::string& name) {
    auto it = index_.find(name);
    if (it != index_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second);
    }
}

void ServerStatements::add(const std::string& name) {
    if (contains(name)) {
        touch(name);
        return;
    }
    lru_.push_front(name);
    index_[name] = lru_.begin();
}

void ServerStatements::remove(const std::string& name) {
    auto it = index_.find(name);
    if (it != index_.end()) {
        lru_.erase(it->second);
        index_.erase(it);
    }
}

void ServerStatements::clear() {
    lru_.clear();
    index_.clear();
}

namespace {

std::atomic<uint64_t> next_server_id{1};

common::Error fail(const char* code, std::string message) {
    return common::make_error(code, std::move(message));
}

}  // namespace

net::awaitable<common::Result<std::pair<char, std::string>>> read_server_message(
    ServerConn& conn, Clock::time_point deadline) {
    for (;;) {
        auto h = pgwire::decode_header(conn.in, 1u << 30);
        if (h.status == pgwire::DecodeStatus::Error) {
            co_return fail(sqlstate::kProtocolViolation, "server sent " + h.error);
        }
        if (h.status == pgwire::DecodeStatus::Frame && conn.in.size() >= h.length) {
            std::string body(reinterpret_cast<const char*>(conn.in.data()) + pgwire::kHeaderSize,
                             h.length - pgwire::kHeaderSize);
            conn.in.erase(conn.in.begin(), conn.in.begin() + h.length);
            co_return std::pair<char, std::string>(h.type, std::move(body));
        }
        auto ec = co_await net::read_some_until(conn.socket, conn.in, 8192, deadline);
        if (ec) {
            co_return fail(sqlstate::kConnectionFailure,
                           fmt::format("server {} closed the connection during login: {}",
                                       conn.remote, ec.message()));
        }
    }
}

namespace {

common::Error server_error(const std::string& body) {
    auto fields = pgwire::parse_error_fields(body);
    std::string code = fields.count('C') ? fields['C'] : sqlstate::kConnectionFailure;
    return common::make_error(code, fields.count('M') ? fields['M'] : "server error");
}

}  // namespace

net::awaitable<common::Result<std::unique_ptr<ServerConn>>> connect_server(
    ServerEndpoint endpoint, ServerCredentials credentials,
    std::vector<std::pair<std::string, std::string>> startup_params,
    std::chrono::milliseconds timeout) {
    auto exec = co_await net::asio::this_coro::executor;
    const auto deadline = Clock::now() + timeout;
    auto conn = std::make_unique<ServerConn>(exec);
    conn->id = next_server_id.fetch_add(1);
    conn->remote = fmt::format("{}:{}", endpoint.host, endpoint.port);
    if (auto ec = co_await net::connect_to(conn->socket, endpoint.host, endpoint.port, deadline);
        ec) {
        co_return fail(sqlstate::kConnectionFailure,
                       fmt::format("cannot connect to server {}: {}", conn->remote, ec.message()));
    }

    std::string out;
    std::vector<std::pair<std::string, std::string>> params{{"user", credentials.user},
                                                            {"database", endpoint.dbname}};
    for (auto& p : startup_params) {
        params.push_back(std::move(p));
    }
    pgwire::encode_startup(out, params);
    std::optional<pgwire::scram::ClientExchange> scram;

    for (;;) {
        if (!out.empty()) {
            if (auto ec = co_await net::write_all(conn->socket, out); ec) {
                co_return fail(
                    sqlstate::kConnectionFailure,
                    fmt::format("write to server {} failed: {}", conn->remote, ec.message()));
            }
        }
        auto msg = co_await read_server_message(*conn, deadline);
        if (!msg) {
            co_return std::move(msg).error();
        }
        auto& [type, body] = *msg;
        switch (type) {
        case 'R': {
            auto req = pgwire::parse_auth_request(body);
            if (!req) {
                co_return std::move(req).error();
            }
            switch (req->code) {
            case 0:
                break;
            case 3:
                if (credentials.password.empty() ||
                    pgwire::md5::is_md5_secret(credentials.password)) {
                    co_return fail(sqlstate::kInvalidPassword,
                                   "server asks for a cleartext password but pgwarden has none "
                                   "for user " +
                                       credentials.user);
                }
                pgwire::encode_password(out, credentials.password);
                break;
            case 5: {
                if (credentials.password.empty()) {
                    co_return fail(sqlstate::kInvalidPassword,
                                   "server asks for an md5 password but pgwarden has none for "
                                   "user " +
                                       credentials.user);
                }
                std::array<uint8_t, 4> salt{};
                std::copy(req->payload.begin(), req->payload.end(), salt.begin());
                pgwire::encode_password(
                    out, pgwire::md5::response(credentials.password, credentials.user, salt));
                break;
            }
            case 10: {
                if (req->payload.find("SCRAM-SHA-256") == std::string::npos) {
                    co_return fail(sqlstate::kFeatureNotSupported,
                                   "server offers no SASL mechanism pgwarden supports");
                }
                if (credentials.scram_client_key && credentials.scram_server_key) {
                    scram.emplace(*credentials.scram_client_key, *credentials.scram_server_key);
                } else if (!credentials.password.empty() &&
                           !pgwire::md5::is_md5_secret(credentials.password)) {
                    scram.emplace(credentials.password);
                } else {
                    co_return fail(sqlstate::kInvalidPassword,
                                   "server asks for SCRAM but pgwarden has no usable password "
                                   "for user " +
                                       credentials.user +
                                       " (md5 secrets cannot do SCRAM; a SCRAM secret needs the "
                                       "client to log in with SCRAM first)");
                }
                pgwire::encode_sasl_initial_response(out, "SCRAM-SHA-256", scram->client_first());
                break;
            }
            case 11: {
                if (!scram) {
                    co_return fail(sqlstate::kProtocolViolation, "unexpected SASLContinue");
                }
                auto final_msg = scram->on_server_first(req->payload);
                if (!final_msg) {
                    co_return std::move(final_msg).error();
                }
                pgwire::encode_sasl_response(out, *final_msg);
                break;
            }
            case 12: {
                if (!scram) {
                    co_return fail(sqlstate::kProtocolViolation, "unexpected SASLFinal");
                }
                if (auto st = scram->on_server_final(req->payload); !st) {
                    co_return fail(sqlstate::kInvalidPassword,
                                   "server signature invalid: " + st.error().message);
                }
                break;
            }
            default:
                co_return fail(
                    sqlstate::kFeatureNotSupported,
                    fmt::format("unsupported server authentication method {}", req->code));
            }
            break;
        }
        case 'S': {
            auto ps = pgwire::parse_parameter_status(body);
            if (ps) {
                conn->params[ps->first] = ps->second;
            }
            break;
        }
        case 'K': {
            auto kd = pgwire::parse_backend_key_data(body);
            if (!kd) {
                co_return std::move(kd).error();
            }
            conn->backend_pid = kd->pid;
            conn->backend_key = kd->key;
            break;
        }
        case 'E':
            co_return server_error(body);
        case 'N':
            break;
        case 'Z':
            if (!conn->in.empty()) {
                co_return fail(sqlstate::kProtocolViolation, "server sent data after login");
            }
            co_return std::move(conn);
        default:
            co_return fail(sqlstate::kProtocolViolation,
                           fmt::format("unexpected server message '{}' during login", type));
        }
    }
}

}  // namespace pgwarden::pool
