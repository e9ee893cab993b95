#include "proxy/runtime.hpp"

#include "proxy/client_session.hpp"

#include "net/io.hpp"
#include "pgwire/messages.hpp"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

namespace pgwarden::proxy {

std::pair<int32_t, int32_t> SessionRegistry::add(const std::shared_ptr<ClientSession>& session) {
    int32_t key = 0;
    // The key is what keeps strangers from cancelling other people's queries.
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&key), sizeof key) != 1) {
        key = static_cast<int32_t>(reinterpret_cast<uintptr_t>(session.get()));
    }
    std::lock_guard lock(mu_);
    int32_t pid = next_pid_++;
    if (next_pid_ <= 0) {
        next_pid_ = 1;
    }
    sessions_[pid] = {key, session};
    return {pid, key};
}

void SessionRegistry::remove(int32_t pid) {
    std::lock_guard lock(mu_);
    sessions_.erase(pid);
}

std::shared_ptr<ClientSession> SessionRegistry::find(int32_t pid, int32_t key) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(pid);
    if (it == sessions_.end() || it->second.first != key) {
        return nullptr;
    }
    return it->second.second.lock();
}

std::vector<std::shared_ptr<ClientSession>> SessionRegistry::all() {
    std::vector<std::shared_ptr<ClientSession>> out;
    std::lock_guard lock(mu_);
    for (auto& [pid, entry] : sessions_) {
        if (auto s = entry.second.lock()) {
            out.push_back(std::move(s));
        }
    }
    return out;
}

net::awaitable<void> send_cancel(CancelTarget target) {
    net::StreamSocket s(co_await net::asio::this_coro::executor);
    auto ec = co_await net::connect_to(s, target.host, target.port,
                                       pool::Clock::now() + std::chrono::seconds(5));
    if (ec) {
        spdlog::warn("cancel request to {}:{} (backend pid {}) failed: {}", target.host,
                     target.port, target.pid, ec.message());
        co_return;
    }
    std::string out;
    pgwire::encode_cancel_request(out, target.pid, target.key);
    co_await net::write_all(s, out);
    // PostgreSQL closes the cancel connection when done; waiting for that means the cancel
    // was delivered before whoever asked for it hears back (PgBouncer does the same).
    net::Bytes sink;
    co_await net::read_some_until(s, sink, 16, pool::Clock::now() + std::chrono::seconds(5));
}

pool::PoolSettings Runtime::pool_settings(const config::Config& cfg,
                                          const config::DatabaseConfig& db,
                                          const std::string& client_database,
                                          const std::string& client_user) {
    const auto& s = cfg.settings;
    pool::PoolSettings p;
    p.endpoint.host = db.host;
    p.endpoint.port = db.port;
    p.endpoint.dbname = db.dbname.empty() ? client_database : db.dbname;
    if (!db.user.empty()) {
        p.credentials.user = db.user;
        p.credentials.password = db.password;
    } else {
        p.credentials.user = client_user;
        auto it = cfg.users.find(client_user);
        if (it != cfg.users.end() && it->second.secret.rfind("SCRAM-SHA-256$", 0) != 0) {
            p.credentials.password = it->second.secret;
        }
        if (!db.password.empty()) {
            p.credentials.password = db.password;
        }
    }
    p.mode = db.pool_mode.value_or(s.pool_mode);
    p.pool_size = db.pool_size.value_or(s.default_pool_size);
    p.min_pool_size = db.min_pool_size.value_or(s.min_pool_size);
    p.max_db_connections = db.max_db_connections.value_or(s.max_db_connections);
    p.max_user_connections = s.max_user_connections;
    p.max_prepared_statements = s.max_prepared_statements;
    p.server_lifetime = s.server_lifetime;
    p.server_idle_timeout = s.server_idle_timeout;
    p.server_check_delay = s.server_check_delay;
    p.server_connect_timeout = s.server_connect_timeout;
    p.server_reset_query = s.server_reset_query;
    p.server_reset_query_always = s.server_reset_query_always;
    p.max_server_connections = s.max_server_connections;
    p.server_connections_margin = s.server_connections_margin;
    for (const auto& c : cfg.classes) {
        pool::ClassSpec spec;
        spec.name = c.name;
        spec.limits.priority = c.priority;
        if (c.reserve) {
            spec.limits.reserve = c.reserve->resolve(p.pool_size);
        }
        if (c.max) {
            spec.limits.max = c.max->resolve(p.pool_size);
        }
        p.classes.push_back(std::move(spec));
    }
    return p;
}

}  // namespace pgwarden::proxy
