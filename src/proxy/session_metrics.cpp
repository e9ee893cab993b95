// ClientSession's observability hooks: the metrics handles of its (database, user, class),
// its visible state for SHOW CLIENTS and the dashboard, and PAUSE/KILL. Kept apart from the
// relay so the data path's files show only one-line calls.
#include "pgwire/messages.hpp"
#include "pgwire/sqlstate.hpp"
#include "proxy/client_session.hpp"

#include <chrono>

namespace pgwarden::proxy {

using SteadyClock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;

namespace {

// Until workload classes exist every session belongs to one class.
constexpr const char* kDefaultClass = "default";

double seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

// The statement's first kMaxStatement bytes, cut at a UTF-8 character boundary so the
// dashboard's JSON stays valid.
std::string truncate_statement(std::string_view sql) {
    if (sql.size() <= SessionStatus::kMaxStatement) {
        return std::string(sql);
    }
    size_t cut = SessionStatus::kMaxStatement;
    while (cut > 0 && (static_cast<unsigned char>(sql[cut]) & 0xC0) == 0x80) {
        --cut;
    }
    return std::string(sql.substr(0, cut));
}

}  // namespace

const char* to_string(ClientState state) {
    switch (state) {
    case ClientState::Login: return "login";
    case ClientState::Idle: return "idle";
    case ClientState::Waiting: return "waiting";
    case ClientState::Active: return "active";
    }
    return "unknown";
}

bool is_admin_database(std::string_view name) { return name == "pgbouncer" || name == "pgwarden"; }

void ClientSession::note_login() {
    if (rt_.metrics != nullptr) {
        metrics_ = &rt_.metrics->for_class(database_, user_, kDefaultClass);
    }
    if (pool_ && !counted_client_) {
        rt_.pools.count_client(*pool_, 1);
        counted_client_ = true;
    }
    const auto app = wanted_params_.find("application_name");
    status_.update([&](SessionInfo& i) {
        i.id = id_;
        i.peer = peer_;
        i.database = database_;
        i.user = user_;
        i.application_name = app == wanted_params_.end() ? std::string() : app->second;
        i.state = ClientState::Idle;
        i.connect_time = SystemClock::now();
        i.state_since = i.connect_time;
    });
}

void ClientSession::note_logout() {
    if (counted_client_) {
        rt_.pools.count_client(*pool_, -1);
        counted_client_ = false;
    }
}

void ClientSession::note_waiting() {
    status_.update([](SessionInfo& i) {
        i.state = ClientState::Waiting;
        i.state_since = SystemClock::now();
    });
}

void ClientSession::note_attached(SteadyClock::duration waited) {
    if (metrics_ != nullptr) {
        metrics_->admission_wait.observe(seconds(waited));
    }
    const auto now = SteadyClock::now();
    status_.update([&](SessionInfo& i) {
        i.state = ClientState::Active;
        i.state_since = SystemClock::now();
        i.checkout_since = now;
        i.server_id = lease_->id;
        i.server_pid = lease_->backend_pid;
        i.server_addr = lease_->remote;
    });
}

void ClientSession::note_detached() {
    txn_running_ = false;
    query_running_ = false;
    status_.update([](SessionInfo& i) {
        if (i.state == ClientState::Active || i.state == ClientState::Waiting) {
            i.state = ClientState::Idle;
            i.state_since = SystemClock::now();
        }
        i.server_id = 0;
        i.server_pid = 0;
        i.server_addr.clear();
    });
}

void ClientSession::note_request(char type, std::string_view body) {
    const bool starts_round_trip = pending_rfq_ == 0 && !batch_open_;
    if (starts_round_trip && !query_running_) {
        query_start_ = SteadyClock::now();
        query_running_ = true;
    }
    if (starts_round_trip && txn_status_ == 'I' && !txn_running_) {
        txn_start_ = query_running_ ? query_start_ : SteadyClock::now();
        txn_running_ = true;
    }
    if (metrics_ != nullptr && (type == 'Q' || type == 'E')) {
        metrics_->queries.inc();
    }
    std::string_view sql;
    if (type == 'Q' && !body.empty()) {
        auto q = pgwire::parse_query(body);
        if (q) {
            sql = *q;
        }
    } else if (type == 'P' && !body.empty()) {
        auto p = pgwire::parse_parse(body);
        if (p) {
            sql = p->query;
        }
    }
    if (!sql.empty()) {
        auto text = truncate_statement(sql);
        status_.update([&](SessionInfo& i) { i.last_statement = std::move(text); });
    }
}

void ClientSession::note_ready(char status) {
    if (metrics_ == nullptr) {
        return;
    }
    const auto now = SteadyClock::now();
    if (query_running_) {
        metrics_->query_duration.observe(seconds(now - query_start_));
        query_running_ = pending_rfq_ > 0;
        query_start_ = now;
    }
    if (status == 'I' && pending_rfq_ == 0) {
        metrics_->transactions.inc();
        if (txn_running_) {
            metrics_->transaction_duration.observe(seconds(now - txn_start_));
            txn_running_ = false;
        }
    }
}

void ClientSession::note_server_error(std::string_view body) {
    if (metrics_ == nullptr) {
        return;
    }
    // The 'C' field of an ErrorResponse, found without building the whole field map.
    size_t pos = 0;
    while (pos < body.size() && body[pos] != '\0') {
        const char field = body[pos];
        const size_t end = body.find('\0', pos + 1);
        if (end == std::string_view::npos) {
            return;
        }
        if (field == 'C') {
            metrics_->error(body.substr(pos + 1, end - pos - 1));
            return;
        }
        pos = end + 1;
    }
}

void ClientSession::note_error_sent(std::string_view sqlstate) {
    if (metrics_ != nullptr) {
        metrics_->error(sqlstate);
    }
}

void ClientSession::note_timeout(observe::TimeoutKind kind) {
    if (metrics_ != nullptr) {
        metrics_->timeout(kind);
        if (kind == observe::TimeoutKind::AdmissionWait) {
            metrics_->error(pgwire::sqlstate::kTooManyConnections);
        }
    }
}

void ClientSession::note_bytes_in(size_t n) {
    if (metrics_ != nullptr && n > 0) {
        metrics_->received_bytes.inc(n);
    }
}

net::awaitable<void> ClientSession::wait_while_paused() {
    if (!rt_.pause.paused(database_)) {
        co_return;
    }
    note_waiting();
    net::SteadyTimer timer(client_.get_executor());
    // Polling keeps PAUSE free for everyone else: no per-database wait queue to maintain,
    // and a 20 ms step is nothing next to an operator's pause.
    while (rt_.pause.paused(database_) && !killed_ && !rt_.draining.load()) {
        timer.expires_after(std::chrono::milliseconds(20));
        co_await timer.async_wait(net::as_result);
    }
}

void ClientSession::request_kill() {
    net::asio::post(client_.get_executor(), [self = shared_from_this()] {
        self->killed_ = true;
        net::error_code ec;
        if (self->lease_) {
            self->lease_.mark_dirty();
            self->lease_->socket.close(ec);
        }
        self->client_.close(ec);
    });
}

}  // namespace pgwarden::proxy
