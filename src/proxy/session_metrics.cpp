// ClientSession's observability hooks: the metrics handles of its (database, user, class),
// its visible state for SHOW CLIENTS and the dashboard, and PAUSE/KILL. Kept apart from the
// relay so the data path's files show only one-line calls.
#include "pgwire/sqlstate.hpp"
#include "proxy/client_session.hpp"

#include <chrono>

namespace pgwarden::proxy {

using SteadyClock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;

namespace {

double seconds(SteadyClock::duration d) {
    return std::chrono::duration<double>(d).count();
}

// The statement's first kMaxStatement bytes, cut at a UTF-8 character boundary.
std::string truncate_statement(std::string sql) {
    if (sql.size() <= SessionInfo::kMaxStatement) {
        return sql;
    }
    size_t cut = SessionInfo::kMaxStatement;
    while (cut > 0 && (static_cast<unsigned char>(sql[cut]) & 0xC0) == 0x80) {
        --cut;
    }
    sql.resize(cut);
    return sql;
}

}  // namespace

const char* to_string(ClientState state) {
    switch (state) {
    case ClientState::Login:
        return "login";
    case ClientState::Idle:
        return "idle";
    case ClientState::Waiting:
        return "waiting";
    case ClientState::Active:
        return "active";
    }
    return "unknown";
}

SessionInfo ClientSession::info() {
    SessionInfo i;
    SessionActivity a;
    SteadyClock::time_point state_since;
    {
        auto lock = shared_lock();
        i = shared_.info;
        i.state = shared_.state;
        if (shared_.attached) {
            i.checkout_since = shared_.checkout_since;
            i.server_id = shared_.server_id;
            i.server_pid = shared_.server_pid;
            i.server_addr = shared_.server_addr;
        }
        a = activity_locked();
        state_since = shared_.state_since;
    }
    // The hot path keeps steady-clock times only; wall-clock time is derived here, for the
    // (rare) reader.
    const auto now = SteadyClock::now();
    if (state_since != SteadyClock::time_point{}) {
        i.state_since = SystemClock::now() -
                        std::chrono::duration_cast<SystemClock::duration>(now - state_since);
    }
    if (!a.application_name.empty()) {
        i.application_name = a.application_name;
    }
    i.transaction_state = a.transaction_state;
    if (class_ != nullptr && !i.admin) {
        i.workload_class = class_->name;
        i.last_statement = truncate_statement(
            class_->mask_literals ? config::mask_sql_literals(a.last_statement) : a.last_statement);
        // The governor's conditions for a suspected leak, evaluated on this copy.
        const bool running = a.query_since != SteadyClock::time_point{};
        const bool in_txn = a.transaction_state == 'T' || a.transaction_state == 'E';
        i.suspected_leak =
            a.attached && ((class_->idle_transaction_timeout.count() > 0 && !running && in_txn &&
                            now - a.idle_since >= class_->idle_transaction_timeout) ||
                           (class_->max_checkout_time.count() > 0 &&
                            now - a.checkout_since >= class_->max_checkout_time));
    }
    return i;
}

SessionActivity ClientSession::activity_locked() const {
    const auto& sh = shared_;
    SessionActivity a;
    a.attached = sh.attached;
    a.checkout_seq = sh.checkout_seq;
    a.checkout_since = sh.checkout_since;
    a.query_since = sh.query_since;
    a.query_seq = sh.query_seq;
    a.idle_since = sh.idle_since;
    a.transaction_state = sh.transaction_state;
    a.application_name = sh.application_name;
    a.last_statement = sh.last_statement;
    if (sh.attached) {
        a.server = CancelTarget{sh.server_host, sh.server_port, sh.server_pid, sh.server_key};
    }
    return a;
}

void ClientSession::observe_login() {
    if (rt_.metrics != nullptr) {
        metrics_ = &rt_.metrics->for_class(database_, user_, class_->name);
    }
    if (pool_ && !pool_client_) {
        pool_client_ = count_pool_client(rt_.pools, pool_);
    }
    const auto app = wanted_params_.find("application_name");
    const auto now = SteadyClock::now();
    update_shared([&](Shared& sh) {
        auto& i = sh.info;
        i.id = id_;
        i.peer = peer_;
        i.database = database_;
        i.user = user_;
        i.application_name = app == wanted_params_.end() ? std::string() : app->second;
        i.connect_time = SystemClock::now();
        sh.state = ClientState::Idle;
        sh.state_since = now;
        // Where a CancelRequest goes: the pool's server, fixed for the session.
        sh.server_host = settings_.endpoint.host;
        sh.server_port = settings_.endpoint.port;
    });
}

void ClientSession::observe_logout() {
    pool_client_.release();
}

void ClientSession::observe_waiting(SteadyClock::time_point now) {
    update_shared([&](Shared& sh) {
        sh.state = ClientState::Waiting;
        sh.state_since = now;
    });
}

void ClientSession::observe_attached(SteadyClock::time_point now, SteadyClock::duration waited) {
    if (metrics_ != nullptr) {
        metrics_->admission_wait.observe(seconds(waited));
    }
    update_shared([&](Shared& sh) {
        sh.state = ClientState::Active;
        sh.state_since = now;
        sh.attached = true;
        ++sh.checkout_seq;
        sh.checkout_since = now;
        sh.idle_since = now;
        sh.transaction_state = 'I';
        sh.server_id = lease_->id;
        sh.server_pid = lease_->backend_pid;
        sh.server_key = lease_->backend_key;
        if (sh.server_addr != lease_->remote) {
            sh.server_addr = lease_->remote;
        }
    });
}

void ClientSession::observe_detached(SteadyClock::time_point now) {
    txn_running_ = false;
    query_running_ = false;
    update_shared([&](Shared& sh) {
        if (sh.state == ClientState::Active || sh.state == ClientState::Waiting) {
            sh.state = ClientState::Idle;
            sh.state_since = now;
        }
        sh.attached = false;
        sh.query_since = {};
    });
}

void ClientSession::observe_request(char type, SteadyClock::time_point now) {
    const bool starts_round_trip = pending_rfq_ == 0 && !batch_open_;
    if (starts_round_trip && !query_running_) {
        query_start_ = now;
        query_running_ = true;
    }
    if (starts_round_trip && txn_status_ == 'I' && !txn_running_) {
        txn_start_ = query_running_ ? query_start_ : now;
        txn_running_ = true;
    }
    if (metrics_ != nullptr && (type == 'Q' || type == 'E')) {
        metrics_->queries.inc();
    }
}

void ClientSession::observe_ready(char status, SteadyClock::time_point now) {
    if (metrics_ == nullptr) {
        return;
    }
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

void ClientSession::observe_server_error(std::string_view body) {
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

void ClientSession::observe_error_sent(std::string_view sqlstate) {
    if (metrics_ != nullptr) {
        metrics_->error(sqlstate);
    }
}

void ClientSession::observe_timeout(observe::TimeoutKind kind) {
    if (metrics_ != nullptr) {
        metrics_->timeout(kind);
        if (kind == observe::TimeoutKind::AdmissionWait) {
            metrics_->error(pgwire::sqlstate::kTooManyConnections);
        }
    }
}

void ClientSession::observe_bytes_in(size_t n) {
    if (metrics_ != nullptr && n > 0) {
        metrics_->received_bytes.inc(n);
    }
}

net::awaitable<void> ClientSession::wait_while_paused() {
    if (!rt_.pause.paused(database_)) {
        co_return;
    }
    observe_waiting(SteadyClock::now());
    for (;;) {
        const auto ticket = rt_.changes.ticket();
        if (!rt_.pause.paused(database_) || killed_ || rt_.draining.load()) {
            co_return;
        }
        co_await rt_.changes.wait(ticket);
    }
}

void ClientSession::request_kill() {
    net::asio::post(io_.socket.get_executor(), [self = shared_from_this()] {
        self->killed_ = true;
        self->rt_.changes.notify_all();  // it may be waiting in wait_while_paused
        net::error_code ec;
        if (self->lease_) {
            self->lease_.mark_dirty();
            self->lease_->socket.close(ec);
        }
        self->io_.socket.close(ec);
    });
}

}  // namespace pgwarden::proxy
