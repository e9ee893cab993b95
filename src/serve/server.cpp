#include "serve/server.hpp"

#include "common/log.hpp"
#include "proxy/client_session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

namespace pgwarden::serve {

namespace asio = net::asio;
using tcp = asio::ip::tcp;

namespace {

sigset_t control_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    return set;
}

int worker_count(const config::Config& cfg) {
    if (cfg.settings.workers > 0) {
        return cfg.settings.workers;
    }
    // Half the cores, as Odyssey's "auto": a pooler usually shares its machine with the
    // applications or with PostgreSQL itself, which need the other cores (docs/benchmarks.md
    // has the one-loop versus two-loop comparison).
    const unsigned n = std::thread::hardware_concurrency();
    return n < 2 ? 1 : static_cast<int>(n / 2);
}

}  // namespace

Server::Server(std::string config_path, const std::shared_ptr<const config::Config>& config)
    : config_path_(std::move(config_path)), runtime_(config, worker_count(*config)) {
    // One thread runs each loop, so Asio skips waking other threads after each handler;
    // posting from other threads stays safe (the scheduler keeps its lock). With a single
    // loop every socket operation also runs on that thread (other threads only post to it),
    // so the reactor's per-socket locks (taken for each read start and each readiness
    // event) are dropped too. Several loops keep them: a server connection moves between
    // loops and the janitor closes idle ones that another loop registered.
    const int hint = runtime_.workers() == 1 ? BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO : 1;
    for (int i = 0; i < runtime_.workers(); ++i) {
        loops_.push_back(std::make_unique<asio::io_context>(hint));
        guards_.push_back(asio::make_work_guard(*loops_.back()));
    }
}

Server::~Server() {
    if (scheduler_) {
        scheduler_->stop();
    }
    stop_signals_.store(true);
    if (signal_thread_.joinable()) {
        signal_thread_.join();
    }
    stop_all();
    for (auto& t : threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
    // Sessions' coroutine frames are destroyed with the loops, returning their leases;
    // runtime_ (and the pools) outlive them because loops_ is declared after it. Returned
    // connections must be closed right there, not parked in the pool, or their sockets would
    // outlive their io_context.
    runtime_.pools.begin_shutdown();
    if (probe_) {
        probe_->release();
    }
    runtime_.metrics = nullptr;
    runtime_.alerts = nullptr;
    dashboard_.reset();
    observe_.reset();
    tcp_acceptors_.clear();
    unix_acceptor_.reset();
    loops_.clear();
    if (!unix_path_.empty()) {
        std::error_code ec;
        std::filesystem::remove(unix_path_, ec);
    }
}

void Server::stop_all() {
    if (observe_) {
        observe_->stop();
    }
    if (probe_) {
        probe_->stop();
    }
    if (dashboard_) {
        dashboard_->stop();
    }
    for (auto& g : guards_) {
        g.reset();
    }
    for (auto& l : loops_) {
        l->stop();
    }
}

bool Server::listen() {
    const auto cfg = runtime_.config();
    const auto& s = cfg->settings;
    std::vector<std::string> addrs;
    for (const auto& a : s.listen_addr) {
        if (a == "*") {
            addrs.push_back("0.0.0.0");
            addrs.push_back("::");
        } else if (!a.empty()) {
            addrs.push_back(a);
        }
    }
    for (const auto& addr : addrs) {
        net::error_code ec;
        const auto ip = asio::ip::make_address(addr, ec);
        if (ec) {
            spdlog::error("listen_addr \"{}\" is not an IP address", addr);
            return false;
        }
        // SO_REUSEPORT would let a second pgwarden share the port silently; a plain bind
        // first proves nobody listens there yet.
        {
            tcp::acceptor probe(*loops_[0]);
            const tcp::endpoint ep(ip, s.listen_port);
            probe.open(ep.protocol(), ec);
            if (!ec && ip.is_v6()) {
                probe.set_option(asio::ip::v6_only(true), ec);
            }
            if (!ec) {
                probe.set_option(tcp::acceptor::reuse_address(true), ec);
            }
            if (!ec) {
                probe.bind(ep, ec);
            }
            if (ec) {
                spdlog::error("cannot listen on {}:{}: {}", addr, s.listen_port, ec.message());
                return false;
            }
        }
        // One acceptor per loop with SO_REUSEPORT: the kernel spreads new connections over
        // the loops, with no hand-off between threads.
        for (int w = 0; w < runtime_.workers(); ++w) {
            tcp::acceptor acc(*loops_[static_cast<size_t>(w)]);
            const tcp::endpoint ep(ip, s.listen_port);
            acc.open(ep.protocol(), ec);
            if (!ec && ip.is_v6()) {
                acc.set_option(asio::ip::v6_only(true), ec);
            }
            if (!ec) {
                acc.set_option(tcp::acceptor::reuse_address(true), ec);
            }
            if (!ec) {
                const int one = 1;
                if (::setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) !=
                    0) {
                    ec = net::error_code(errno, boost::system::system_category());
                }
            }
            if (!ec) {
                acc.bind(ep, ec);
            }
            if (!ec) {
                acc.listen(asio::socket_base::max_listen_connections, ec);
            }
            if (ec) {
                spdlog::error("cannot listen on {}:{}: {}", addr, s.listen_port, ec.message());
                return false;
            }
            tcp_acceptors_.push_back(std::move(acc));
            tcp_acceptor_worker_.push_back(w);
        }
        spdlog::info("listening on {}:{}", addr, s.listen_port);
    }
    if (!s.unix_socket_dir.empty()) {
        unix_path_ = fmt::format("{}/.s.PGSQL.{}", s.unix_socket_dir, s.listen_port);
        std::error_code fec;
        std::filesystem::remove(unix_path_, fec);
        net::error_code ec;
        unix_acceptor_ = std::make_unique<asio::local::stream_protocol::acceptor>(*loops_[0]);
        const asio::local::stream_protocol::endpoint ep(unix_path_);
        unix_acceptor_->open(ep.protocol(), ec);
        if (!ec) {
            unix_acceptor_->bind(ep, ec);
        }
        if (!ec) {
            unix_acceptor_->listen(asio::socket_base::max_listen_connections, ec);
        }
        if (ec) {
            spdlog::error("cannot listen on {}: {}", unix_path_, ec.message());
            unix_path_.clear();
            return false;
        }
        spdlog::info("listening on {}", unix_path_);
    }
    return true;
}

void Server::start_session(int worker, net::StreamSocket socket, std::string peer) {
    auto session = std::make_shared<proxy::ClientSession>(runtime_, worker, std::move(socket),
                                                          std::move(peer));
    asio::co_spawn(*loops_[static_cast<size_t>(worker)],
                   proxy::ClientSession::run(std::move(session)), [](const std::exception_ptr& e) {
                       if (e) {
                           try {
                               std::rethrow_exception(e);
                           } catch (const std::exception& ex) {
                               spdlog::error("session ended by exception: {}", ex.what());
                           }
                       }
                   });
}

net::awaitable<void> Server::accept_loop(size_t index) {
    auto& acceptor = tcp_acceptors_[index];
    const int worker = tcp_acceptor_worker_[index];
    for (;;) {
        auto [ec, sock] = co_await acceptor.async_accept(net::as_result);
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            // EMFILE and friends: back off briefly instead of spinning.
            spdlog::warn("accept failed: {}", ec.message());
            asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(50));
            co_await t.async_wait(net::as_result);
            continue;
        }
        net::error_code oec;
        sock.set_option(tcp::no_delay(true), oec);
        auto ep = sock.remote_endpoint(oec);
        std::string peer = oec ? "?" : fmt::format("{}:{}", ep.address().to_string(), ep.port());
        const auto protocol = sock.local_endpoint(oec).protocol();
        const int fd = sock.release(oec);
        start_session(
            worker,
            net::StreamSocket(loops_[static_cast<size_t>(worker)]->get_executor(),
                              asio::generic::stream_protocol(protocol.family(), IPPROTO_TCP), fd),
            std::move(peer));
    }
}

net::awaitable<void> Server::accept_unix() {
    for (;;) {
        auto [ec, sock] = co_await unix_acceptor_->async_accept(net::as_result);
        if (ec == asio::error::operation_aborted || !unix_acceptor_->is_open()) {
            co_return;
        }
        if (ec) {
            spdlog::warn("accept on {} failed: {}", unix_path_, ec.message());
            asio::steady_timer t(unix_acceptor_->get_executor(), std::chrono::milliseconds(50));
            co_await t.async_wait(net::as_result);
            continue;
        }
        // Unix-socket clients are spread round-robin; the fd moves to the chosen loop.
        const int worker = next_unix_worker_;
        next_unix_worker_ = (next_unix_worker_ + 1) % runtime_.workers();
        net::error_code oec;
        const int fd = sock.release(oec);
        start_session(worker,
                      net::StreamSocket(loops_[static_cast<size_t>(worker)]->get_executor(),
                                        asio::generic::stream_protocol(AF_UNIX, 0), fd),
                      "unix");
    }
}

void Server::reload() {
    auto loaded = config::load_file(config_path_);
    if (!loaded.ok()) {
        for (const auto& d : loaded.errors) {
            spdlog::error("reload: {}", d.to_string());
        }
        spdlog::error("reload of {} failed; keeping the running configuration", config_path_);
        return;
    }
    const auto old = runtime_.config();
    const auto& next = loaded.config->settings;
    if (next.listen_port != old->settings.listen_port ||
        next.listen_addr != old->settings.listen_addr ||
        next.unix_socket_dir != old->settings.unix_socket_dir ||
        next.workers != old->settings.workers) {
        spdlog::warn("reload: listen and workers settings take effect only after a restart");
    }
    warn_if_jobs_changed(*old, *loaded.config);
    runtime_.set_config(loaded.config);
    runtime_.leaks.set_capacity(static_cast<size_t>(next.leak_history));
    // Existing pools pick up new sizes and limits now; sessions keep the snapshot they
    // logged in with for everything else.
    for (const auto& st : runtime_.pools.stats()) {
        const auto* db = loaded.config->find_database(st.database);
        if (db) {
            runtime_.pools.get_pool(
                st.database, st.user,
                proxy::Runtime::pool_settings(*loaded.config, *db, st.database, st.user));
        }
    }
    // Replacing the default logger while other loops log is a data race (spdlog reads it
    // without a lock; ThreadSanitizer caught it on RELOAD from the admin console), so a reload
    // only changes the level, an atomic of the existing logger.
    if (next.log_format != old->settings.log_format) {
        spdlog::warn("reload: log_format takes effect only after a restart");
    }
    spdlog::set_level(spdlog::level::from_str(next.log_level));
    spdlog::info("configuration reloaded from {}", config_path_);
}

net::awaitable<void> Server::drain() {
    spdlog::info(
        "SIGTERM: draining (no new connections; transactions may finish, "
        "shutdown_timeout {} ms)",
        runtime_.config()->settings.shutdown_timeout.count());
    runtime_.draining.store(true);
    if (scheduler_) {
        // Running jobs are cancelled first, while the listeners still accept: a SQL job's
        // cancel request is a new connection to pgwarden.
        scheduler_->request_stop();
        asio::steady_timer wait(co_await asio::this_coro::executor);
        const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(3);
        while (!scheduler_->stopped() && std::chrono::steady_clock::now() < limit) {
            wait.expires_after(std::chrono::milliseconds(20));
            co_await wait.async_wait(net::as_result);
        }
    }
    for (auto& acc : tcp_acceptors_) {
        asio::post(acc.get_executor(), [&acc] {
            net::error_code ec;
            acc.close(ec);
        });
    }
    if (unix_acceptor_) {
        net::error_code ec;
        unix_acceptor_->close(ec);
    }
    for (auto& session : runtime_.sessions.all()) {
        session->request_drain();
    }
    runtime_.changes.notify_all();  // sessions waiting on a PAUSE end now
    const auto deadline =
        std::chrono::steady_clock::now() + runtime_.config()->settings.shutdown_timeout;
    for (;;) {
        const auto ticket = runtime_.changes.ticket();
        if (runtime_.clients_active.load() == 0 || std::chrono::steady_clock::now() >= deadline) {
            break;
        }
        co_await runtime_.changes.wait(ticket, deadline);
    }
    const auto left = runtime_.clients_active.load();
    if (left > 0) {
        spdlog::warn("shutdown_timeout reached with {} client(s) still connected", left);
    }
    runtime_.pools.close_idle();
    spdlog::info("drained; exiting");
    stop_all();
}

// The control signals stay blocked in every thread for the whole run (threads inherit the
// mask, including ones libraries start later, such as Asio's resolver), and this thread
// collects them with sigtimedwait. So no signal ever meets its default action: a supervisor
// that sends SIGTERM twice, or SIGINT right after SIGTERM, cannot kill pgwarden mid-cleanup.
void Server::watch_signals() {
    const sigset_t set = control_signals();
    while (!stop_signals_.load()) {
        const timespec wait{0, 200L * 1000 * 1000};
        const int sig = sigtimedwait(&set, nullptr, &wait);
        if (sig > 0) {
            asio::post(*loops_[0], [this, sig] { on_signal(sig); });
        }
    }
}

void Server::on_signal(int sig) {
    if (sig == SIGHUP) {
        reload();
    } else if (sig == SIGTERM) {
        if (!runtime_.draining.load()) {
            asio::co_spawn(*loops_[0], drain(), asio::detached);
        }
    } else if (!fast_stop_) {
        fast_stop_ = true;
        spdlog::info("SIGINT: fast shutdown");
        runtime_.draining.store(true);
        if (scheduler_) {
            scheduler_->request_stop();
        }
        runtime_.pools.close_idle();
        stop_all();
    }
}

net::awaitable<void> Server::janitor() {
    asio::steady_timer t(co_await asio::this_coro::executor);
    int next_worker = 0;
    for (;;) {
        t.expires_after(std::chrono::seconds(1));
        auto [ec] = co_await t.async_wait(net::as_result);
        if (ec) {
            co_return;
        }
        for (auto& [pool, missing] : runtime_.pools.janitor(std::chrono::steady_clock::now())) {
            for (int i = 0; i < missing; ++i) {
                const int w = next_worker;
                next_worker = (next_worker + 1) % runtime_.workers();
                asio::co_spawn(*loops_[static_cast<size_t>(w)], runtime_.pools.prewarm(pool, w),
                               asio::detached);
            }
        }
    }
}

net::awaitable<void> Server::govern() {
    // Four passes a second: leaks are reported within their threshold plus a quarter second,
    // query_timeout cancels land as close to the limit.
    asio::steady_timer t(co_await asio::this_coro::executor);
    const auto exec = co_await asio::this_coro::executor;
    for (;;) {
        t.expires_after(std::chrono::milliseconds(250));
        auto [ec] = co_await t.async_wait(net::as_result);
        if (ec) {
            co_return;
        }
        governor_.tick(exec, std::chrono::steady_clock::now());
    }
}

int Server::run() {
    // A write to a vanished peer must be an error code, not a process-killing signal.
    std::signal(SIGPIPE, SIG_IGN);
    const sigset_t set = control_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);  // never unblocked: see watch_signals()
    if (!listen() || !start_observe()) {
        return 1;
    }
    for (size_t i = 0; i < tcp_acceptors_.size(); ++i) {
        asio::co_spawn(*loops_[static_cast<size_t>(tcp_acceptor_worker_[i])], accept_loop(i),
                       asio::detached);
    }
    if (unix_acceptor_) {
        asio::co_spawn(*loops_[0], accept_unix(), asio::detached);
    }
    asio::co_spawn(*loops_[0], janitor(), asio::detached);
    asio::co_spawn(*loops_[0], govern(), asio::detached);
    start_scheduler();
    for (size_t i = 1; i < loops_.size(); ++i) {
        threads_.emplace_back([this, i] { loops_[i]->run(); });
    }
    signal_thread_ = std::thread([this] { watch_signals(); });
    spdlog::info("pgwarden serving with {} event loop(s)", runtime_.workers());
    loops_[0]->run();
    stop_all();
    for (auto& t : threads_) {
        t.join();
    }
    threads_.clear();
    return 0;
}

}  // namespace pgwarden::serve
