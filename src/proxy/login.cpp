#include "proxy/login.hpp"

#include "net/io.hpp"
#include "pgwire/frame.hpp"
#include "pgwire/md5.hpp"
#include "pgwire/sqlstate.hpp"
#include "proxy/auth_query.hpp"
#include "proxy/client_session.hpp"
#include "proxy/session_params.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <strings.h>

#include <array>
#include <cctype>

namespace pgwarden::proxy {

namespace sqlstate = pgwire::sqlstate;
using Clock = std::chrono::steady_clock;

namespace {

bool valid_parameter_name(std::string_view name) {
    if (name.empty() || name.size() > 63) {
        return false;
    }
    for (char c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') {
            return false;
        }
    }
    return !std::isdigit(static_cast<unsigned char>(name[0]));
}

common::Error login_error(const char* code, std::string message) {
    return common::make_error(code, std::move(message));
}

std::string random_salt() {
    std::string salt(16, '\0');
    RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), 16);
    return salt;
}

}  // namespace

bool is_admin_database(std::string_view name) {
    return name == "pgbouncer" || name == "pgwarden";
}

net::awaitable<common::Result<pgwire::StartupMessage>> Login::read_startup(CloseReason& reason) {
    const auto deadline = Clock::now() + out_.cfg->settings.client_login_timeout;
    auto& in = io_.in;
    for (;;) {
        auto h = pgwire::decode_startup_header(in);
        if (h.status == pgwire::DecodeStatus::Error) {
            reason = CloseReason::ProtocolError;
            co_return login_error(h.error_code, h.error);
        }
        if (h.status == pgwire::DecodeStatus::NeedMore) {
            auto ec = co_await net::read_some_until(io_.socket, in, h.need < 512 ? 512 : h.need,
                                                    deadline);
            if (ec == net::asio::error::timed_out) {
                reason = CloseReason::LoginTimeout;
                co_return login_error(sqlstate::kProtocolViolation,
                                      "client_login_timeout: no startup packet in time");
            }
            if (ec) {
                reason = CloseReason::ClientGone;
                co_return login_error(sqlstate::kConnectionFailure, ec.message());
            }
            continue;
        }
        std::string_view packet(reinterpret_cast<const char*>(in.data()), h.length);
        auto parsed = pgwire::parse_startup_packet(packet);
        in.erase(in.begin(), in.begin() + h.length);
        if (!parsed) {
            reason = CloseReason::ProtocolError;
            co_return std::move(parsed).error();
        }
        if (std::holds_alternative<pgwire::SslRequest>(*parsed) ||
            std::holds_alternative<pgwire::GssEncRequest>(*parsed)) {
            if (!in.empty()) {
                // Bytes after an SSLRequest before our answer would be a downgrade attack.
                reason = CloseReason::ProtocolError;
                co_return login_error(sqlstate::kProtocolViolation,
                                      "unexpected data after SSL/GSSENC request");
            }
            pgwire::encode_ssl_refused(io_.out);
            if (!co_await io_.flush()) {
                reason = CloseReason::ClientGone;
                co_return login_error(sqlstate::kConnectionFailure, "client went away");
            }
            continue;
        }
        if (auto* cancel = std::get_if<pgwire::CancelRequest>(&*parsed)) {
            reason = CloseReason::CancelRequest;
            auto target = rt_.sessions.find(cancel->pid, cancel->key);
            std::optional<CancelTarget> where = target ? target->cancel_target() : std::nullopt;
            if (where) {
                co_await send_cancel(*where);
            }
            co_return login_error(sqlstate::kQueryCanceled, "cancel request");
        }
        in.shrink_to_fit();
        co_return std::get<pgwire::StartupMessage>(std::move(*parsed));
    }
}

net::awaitable<common::Result<std::string>> Login::read_password_message() {
    const auto deadline = Clock::now() + out_.cfg->settings.client_login_timeout;
    auto& in = io_.in;
    for (;;) {
        auto h = pgwire::decode_header(in, pgwire::kMaxStartupPacket);
        if (h.status == pgwire::DecodeStatus::Error) {
            co_return login_error(h.error_code, h.error);
        }
        if (h.status == pgwire::DecodeStatus::Frame && in.size() >= h.length) {
            if (h.type != 'p') {
                co_return login_error(sqlstate::kProtocolViolation,
                                      fmt::format("expected password message, got '{}'", h.type));
            }
            std::string body(reinterpret_cast<const char*>(in.data()) + pgwire::kHeaderSize,
                             h.length - pgwire::kHeaderSize);
            in.erase(in.begin(), in.begin() + h.length);
            co_return body;
        }
        auto ec = co_await net::read_some_until(io_.socket, in, 1024, deadline);
        if (ec) {
            co_return login_error(sqlstate::kConnectionFailure, ec == net::asio::error::timed_out
                                                                    ? "client_login_timeout"
                                                                    : "client went away");
        }
    }
}

net::awaitable<common::Status> Login::scram_exchange(const pgwire::scram::Secret& secret,
                                                     bool passthrough, bool fake) {
    pgwire::encode_auth_sasl(io_.out, "SCRAM-SHA-256");
    if (!co_await io_.flush()) {
        co_return login_error(sqlstate::kConnectionFailure, "client went away");
    }
    auto first = co_await read_password_message();
    if (!first) {
        co_return std::move(first).error();
    }
    auto init = pgwire::parse_sasl_initial_response(*first);
    if (!init) {
        co_return std::move(init).error();
    }
    if (init->mechanism != "SCRAM-SHA-256") {
        co_return login_error(sqlstate::kProtocolViolation,
                              "client selected an invalid SASL authentication mechanism");
    }
    pgwire::scram::ServerExchange exchange(secret);
    auto server_first = exchange.on_client_first(init->data);
    if (!server_first) {
        co_return std::move(server_first).error();
    }
    pgwire::encode_auth_sasl_continue(io_.out, *server_first);
    if (!co_await io_.flush()) {
        co_return login_error(sqlstate::kConnectionFailure, "client went away");
    }
    auto final_msg = co_await read_password_message();
    if (!final_msg) {
        co_return std::move(final_msg).error();
    }
    auto server_final = exchange.on_client_final(*final_msg);
    if (!server_final || fake) {
        co_return login_error(
            sqlstate::kInvalidPassword,
            fmt::format("password authentication failed for user \"{}\"", out_.user));
    }
    if (auto key = exchange.client_key(); key && out_.pool && passthrough) {
        rt_.pools.set_scram_keys(*out_.pool, *key, secret.server_key);
    }
    pgwire::encode_auth_sasl_final(io_.out, *server_final);
    co_return common::ok_status();
}

net::awaitable<common::Status> Login::authenticate() {
    const auto& cfg = *out_.cfg;
    const auto& s = cfg.settings;
    const std::string& user = out_.user;
    auto it = cfg.users.find(user);
    const config::UserEntry* entry = it == cfg.users.end() ? nullptr : &it->second;
    std::optional<config::UserEntry> looked_up;
    if (!entry && !s.auth_user.empty()) {
        // Not in auth_file: ask the server, as auth_user, what this user's secret is.
        pool::ServerCredentials auth;
        auth.user = s.auth_user;
        if (auto a = cfg.users.find(s.auth_user);
            a != cfg.users.end() && !pgwire::scram::is_scram_secret(a->second.secret)) {
            auth.password = a->second.secret;
        }
        auto found = co_await run_auth_query(out_.settings.endpoint, auth, s.auth_query, user,
                                             s.server_connect_timeout);
        if (!found) {
            spdlog::warn("conn={} auth_query for user={} failed: {}", id_, user,
                         found.error().message);
            co_return login_error(sqlstate::kInvalidAuthorization,
                                  "authentication lookup failed (see pgwarden's log)");
        }
        if (*found) {
            looked_up = config::UserEntry{user, **found};
            entry = &*looked_up;
            if (pgwire::md5::is_md5_secret(entry->secret) && out_.pool) {
                // The md5 hash also logs pgwarden in to a server using md5.
                rt_.pools.set_password(*out_.pool, entry->secret);
            }
        }
    }
    const auto failed = [&] {
        return login_error(sqlstate::kInvalidPassword,
                           fmt::format("password authentication failed for user \"{}\"", user));
    };
    if (s.auth_type == config::AuthType::Trust) {
        if (!entry && !cfg.users.empty()) {
            co_return failed();
        }
        co_return common::ok_status();
    }
    const std::string secret = entry ? entry->secret : std::string();
    const bool scram_secret = pgwire::scram::is_scram_secret(secret);
    const bool md5_secret = pgwire::md5::is_md5_secret(secret);

    // Like PgBouncer: md5 with a SCRAM secret upgrades to SCRAM; SCRAM with an md5 secret
    // falls back to md5 (an md5 hash cannot answer a SCRAM exchange).
    const bool use_md5 = (s.auth_type == config::AuthType::Md5 && !scram_secret) ||
                         (s.auth_type == config::AuthType::ScramSha256 && md5_secret);
    if (!use_md5 && s.auth_type != config::AuthType::Plain) {
        if (!entry) {
            // Run the exchange against a throwaway secret so an unknown user looks exactly
            // like a wrong password to the client.
            co_return co_await scram_exchange(pgwire::scram::make_secret("x", random_salt(), 4096),
                                              false, true);
        }
        if (scram_secret) {
            auto parsed = pgwire::scram::parse_secret(secret);
            if (!parsed) {
                co_return failed();
            }
            co_return co_await scram_exchange(*parsed, true, false);
        }
        // Plaintext secret: derive a verifier once per login.
        co_return co_await scram_exchange(pgwire::scram::make_secret(secret, random_salt(), 4096),
                                          false, false);
    }

    if (use_md5) {
        std::array<uint8_t, 4> salt{};
        RAND_bytes(salt.data(), 4);
        pgwire::encode_auth_md5(io_.out, salt);
        if (!co_await io_.flush()) {
            co_return login_error(sqlstate::kConnectionFailure, "client went away");
        }
        auto msg = co_await read_password_message();
        if (!msg) {
            co_return std::move(msg).error();
        }
        std::string_view answer(*msg);
        if (!answer.empty() && answer.back() == '\0') {
            answer.remove_suffix(1);
        }
        if (!entry || secret.empty() || pgwire::md5::response(secret, user, salt) != answer) {
            co_return failed();
        }
        co_return common::ok_status();
    }

    // Plain: the client sends its password in the clear (the deployment's choice).
    pgwire::encode_auth_cleartext(io_.out);
    if (!co_await io_.flush()) {
        co_return login_error(sqlstate::kConnectionFailure, "client went away");
    }
    auto msg = co_await read_password_message();
    if (!msg) {
        co_return std::move(msg).error();
    }
    std::string password(*msg);
    if (!password.empty() && password.back() == '\0') {
        password.pop_back();
    }
    if (!entry) {
        co_return failed();
    }
    bool ok = false;
    if (scram_secret) {
        auto parsed = pgwire::scram::parse_secret(secret);
        if (parsed) {
            auto derived = pgwire::scram::make_secret(password, parsed->salt, parsed->iterations);
            ok = derived.stored_key == parsed->stored_key;
        }
    } else if (md5_secret) {
        ok = pgwire::md5::password_hash(password, user) == secret;
    } else {
        ok = password == secret;
    }
    co_return ok ? common::ok_status() : common::Status(failed());
}

net::awaitable<CloseReason> Login::reject(const char* code, std::string message) {
    rt_.count_login_failure();
    spdlog::warn("conn={} client={} db={} user={} login failed: {}", id_, peer_, out_.database,
                 out_.user, message);
    co_await io_.send_fatal(code, message);
    co_return CloseReason::LoginFailed;
}

net::awaitable<std::optional<CloseReason>> Login::admin_login(
    const pgwire::StartupMessage& startup) {
    out_.admin = true;
    out_.role = admin_role(*out_.cfg, out_.user);
    // Authenticate first, so the answer does not tell strangers which users are admins.
    if (auto auth = co_await authenticate(); !auth) {
        rt_.count_login_failure();
        spdlog::warn("conn={} client={} admin console login failed for user={}: {}", id_, peer_,
                     out_.user, auth.error().message);
        co_await io_.send_fatal(auth.error().code, auth.error().message);
        co_return CloseReason::LoginFailed;
    }
    if (out_.role == AdminRole::None) {
        rt_.count_login_failure();
        spdlog::warn(
            "conn={} client={} user={} refused on the admin console (not in "
            "admin_users or stats_users)",
            id_, peer_, out_.user);
        co_await io_.send_fatal(sqlstate::kInsufficientPrivilege,
                                fmt::format("user \"{}\" is not allowed on the admin console "
                                            "(admin_users or stats_users)",
                                            out_.user));
        co_return CloseReason::LoginFailed;
    }
    out_.application_name = startup.get("application_name");
    // The governor reads every registered session's class; the console never holds a server
    // connection, so the default class (always last) is only a placeholder.
    out_.cls = &out_.cfg->classes.back();
    auto& o = io_.out;
    pgwire::encode_auth_ok(o);
    // What PgBouncer reports on its console, so drivers that read these find them.
    pgwire::encode_parameter_status(o, "server_version", "0.1.0/pgwarden");
    pgwire::encode_parameter_status(o, "server_encoding", "UTF8");
    pgwire::encode_parameter_status(o, "client_encoding", "UTF8");
    pgwire::encode_parameter_status(o, "DateStyle", "ISO");
    pgwire::encode_parameter_status(o, "integer_datetimes", "on");
    pgwire::encode_parameter_status(o, "standard_conforming_strings", "on");
    pgwire::encode_parameter_status(o, "application_name", out_.application_name);
    co_return std::nullopt;
}

common::Status Login::take_parameters(const pgwire::StartupMessage& startup) {
    for (const auto& [key, value] : startup.params) {
        if (key == "user" || key == "database") {
            continue;
        }
        if (key == "replication") {
            return login_error(sqlstate::kFeatureNotSupported,
                               "replication connections are not supported");
        }
        if (key == "options") {
            if (!value.empty()) {
                spdlog::info("conn={} ignores startup options \"{}\"", id_, value);
            }
            continue;
        }
        if (!valid_parameter_name(key)) {
            return login_error(sqlstate::kProtocolViolation,
                               fmt::format("invalid startup parameter name \"{}\"", key));
        }
        if (is_tracked(key)) {
            // PostgreSQL reports these with canonical capitalisation.
            for (const auto& name : tracked_parameters()) {
                if (strcasecmp(name.c_str(), key.c_str()) == 0) {
                    out_.wanted_params[name] = value;
                }
            }
        } else {
            out_.wanted_extra[key] = value;
        }
    }
    return common::ok_status();
}

net::awaitable<std::optional<CloseReason>> Login::reply() {
    auto server_params = rt_.pools.server_params(*out_.pool);
    if (server_params.empty()) {
        // Clients must see the server's parameters at login; the first client of a pool
        // borrows a connection to learn them (and proves the server accepts the login).
        const auto now = Clock::now();
        std::shared_ptr<pool::Waiter> waiter;
        auto lease = co_await rt_.pools.acquire(
            out_.pool, out_.class_index, worker_, now,
            now + out_.cls->query_wait_timeout.value_or(out_.cfg->settings.query_wait_timeout),
            waiter);
        if (!lease) {
            co_return co_await reject(lease.error().code.c_str(),
                                      "server login failed: " + lease.error().message);
        }
        server_params = rt_.pools.server_params(*out_.pool);
    }
    auto& wanted = out_.wanted_params;
    for (const auto& [name, value] : server_params) {
        if (is_tracked(name) && wanted.count(name) == 0) {
            wanted[name] = value;
        }
    }
    wanted.try_emplace("search_path", "");

    pgwire::encode_auth_ok(io_.out);
    for (const auto& [name, value] : server_params) {
        auto it = wanted.find(name);
        pgwire::encode_parameter_status(io_.out, name, it != wanted.end() ? it->second : value);
    }
    co_return std::nullopt;
}

net::awaitable<std::variant<LoggedIn, CloseReason>> Login::run() {
    const auto& s = out_.cfg->settings;
    rt_.count_client_accepted();

    CloseReason reason = CloseReason::ClientGone;
    auto startup = co_await read_startup(reason);
    if (!startup) {
        if (reason == CloseReason::ProtocolError || reason == CloseReason::LoginTimeout) {
            rt_.count_protocol_error();
            spdlog::warn("conn={} client={} startup rejected: {}", id_, peer_,
                         startup.error().message);
            co_await io_.send_fatal(startup.error().code, startup.error().message);
        }
        co_return reason;
    }
    out_.user = startup->get("user");
    out_.database = startup->get("database");
    if (out_.database.empty()) {
        out_.database = out_.user;
    }
    if (out_.user.empty()) {
        co_return co_await reject(sqlstate::kInvalidAuthorization,
                                  "no PostgreSQL user name specified in startup packet");
    }
    if (rt_.draining.load()) {
        co_return co_await reject(sqlstate::kCannotConnectNow, "pgwarden is shutting down");
    }
    auto slot = take_client_slot(rt_, s.max_client_conn);
    if (!slot) {
        rt_.count_login_failure();
        spdlog::warn("conn={} client={} refused: max_client_conn ({}) reached", id_, peer_,
                     s.max_client_conn);
        co_await io_.send_fatal(
            sqlstate::kTooManyConnections,
            fmt::format("no more connections allowed (max_client_conn={})", s.max_client_conn));
        co_return CloseReason::TooManyClients;
    }
    out_.client_slot = std::move(*slot);

    if (is_admin_database(out_.database)) {
        if (auto refused = co_await admin_login(*startup)) {
            co_return *refused;
        }
        co_return std::move(out_);
    }
    {
        const auto address = split_peer(peer_).first;
        out_.cls = &out_.cfg->match_class(startup->get("application_name"), out_.user,
                                          out_.database, address);
    }
    const auto& cls = *out_.cls;
    out_.class_seat = take_class_seat(rt_.class_clients, cls.name, cls.max_client_conn);
    if (!out_.class_seat) {
        spdlog::warn("conn={} client={} refused: class {} max_client_conn ({}) reached", id_, peer_,
                     cls.name, cls.max_client_conn);
        co_await io_.send_fatal(sqlstate::kTooManyConnections,
                                fmt::format("no more connections allowed for class \"{}\" "
                                            "(max_client_conn={})",
                                            cls.name, cls.max_client_conn));
        co_return CloseReason::ClassLimit;
    }

    const config::DatabaseConfig* db = out_.cfg->find_database(out_.database);
    if (!db) {
        co_return co_await reject(sqlstate::kInvalidCatalogName,
                                  fmt::format("no such database: {}", out_.database));
    }
    if (auto taken = take_parameters(*startup); !taken) {
        co_return co_await reject(taken.error().code.c_str(), taken.error().message);
    }
    out_.settings = Runtime::pool_settings(*out_.cfg, *db, out_.database, out_.user);
    out_.pool = rt_.pools.get_pool(out_.database, out_.user, out_.settings);
    out_.class_index = rt_.pools.class_index(*out_.pool, cls.name);
    if (auto auth = co_await authenticate(); !auth) {
        co_return co_await reject(auth.error().code.c_str(), auth.error().message);
    }
    if (auto refused = co_await reply()) {
        co_return *refused;
    }
    co_return std::move(out_);
}

}  // namespace pgwarden::proxy
