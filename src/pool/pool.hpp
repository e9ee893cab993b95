#pragma once

#include "common/futex_mutex.hpp"
#include "common/result.hpp"
#include "config/config.hpp"
#include "net/asio.hpp"
#include "pool/admission.hpp"
#include "pool/server_conn.hpp"

#include <boost/container/small_vector.hpp>

#include <array>
#include <deque>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace pgwarden::pool {

class PoolManager;

// A workload class's limits in one pool, resolved against that pool's size.
struct ClassSpec {
    std::string name;
    admission::Limits limits;
};

// No class: prewarmed connections and other pgwarden-internal checkouts.
inline constexpr size_t kNoClass = static_cast<size_t>(-1);

// Everything a pool needs from the config, resolved for one (database, user).
struct PoolSettings {
    ServerEndpoint endpoint;
    ServerCredentials credentials;
    config::PoolMode mode = config::PoolMode::Transaction;
    int pool_size = 20;
    int min_pool_size = 0;
    int max_db_connections = 0;    // 0 = unlimited
    int max_user_connections = 0;  // 0 = unlimited
    int max_prepared_statements = 200;
    std::chrono::milliseconds server_lifetime{3600 * 1000};
    std::chrono::milliseconds server_idle_timeout{600 * 1000};
    // An idle connection is checked (a non-blocking MSG_PEEK: did PostgreSQL close it or send
    // its goodbye?) before it is handed out, unless it was released less than this long ago.
    // The check is a system call per checkout (one of the handful a transaction costs); a
    // connection that busy is alive with near certainty, and if not, its client gets the
    // server's error (57P01/08006) as with a mid-query kill.
    std::chrono::milliseconds server_check_delay{100};
    std::chrono::milliseconds server_connect_timeout{15 * 1000};
    std::string server_reset_query = "DISCARD ALL";
    bool server_reset_query_always = false;
    // In matching order, the default class last. Empty: one unlimited "default" class.
    std::vector<ClassSpec> classes;
    // Server-wide budget for the endpoint (see config::Settings::max_server_connections).
    int max_server_connections = 0;
    int server_connections_margin = 2;
};

// A client waiting for a server connection. Granted under the manager's lock; woken on its
// own executor.
struct Waiter {
    Waiter(const net::Executor& exec, int loop) : timer(exec), worker(loop) {}
    net::SteadyTimer timer;
    int worker;                        // the event loop the waiting session runs on
    size_t cls = 0;                    // index of its class in the pool
    std::unique_ptr<ServerConn> conn;  // granted: an idle connection
    bool may_open = false;             // granted: permission to open a new connection
    bool queued = true;
    Clock::time_point since = Clock::now();
};

// The waiters one release (or failure) wakes: nearly always zero or one, so no allocation.
using WakeList = boost::container::small_vector<std::shared_ptr<Waiter>, 2>;
// One class's queue of waiters, oldest first.
using WaiterQueue = std::deque<std::shared_ptr<Waiter>>;

// Upper bounds (seconds) of the admission-wait histogram buckets; one more bucket counts
// the waits above the last bound.
inline constexpr double kAdmissionWaitBounds[] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0};
inline constexpr size_t kAdmissionWaitBuckets = std::size(kAdmissionWaitBounds) + 1;

// Admission waits of one class: per-bucket counts (not cumulative), their sum and count.
struct WaitHistogram {
    std::array<int64_t, kAdmissionWaitBuckets> buckets{};
    double sum_seconds = 0;
    int64_t count = 0;
    void observe(double seconds);
    // The smallest bucket bound at or under which `q` of the waits fell (an upper estimate).
    double quantile(double q) const;
};

// One class's share of one pool, for SHOW CLASSES and metrics.
struct ClassStats {
    std::string name;
    admission::Limits limits;
    int held = 0;  // server connections leased to (or opening for) its sessions
    int waiting = 0;
    double max_wait_seconds = 0;
    int64_t granted = 0;        // checkouts, ever
    int64_t wait_timeouts = 0;  // query_wait_timeout expiries, ever
    WaitHistogram admission_wait;
    // The cap that applies in a pool of `pool_size`: an uncapped class can hold the pool.
    int effective_max(int pool_size) const {
        return limits.max == INT_MAX ? pool_size : limits.max;
    }
};

// Counts for SHOW POOLS and metrics (taken under the manager's lock).
struct PoolStats {
    std::string database;
    std::string user;
    config::PoolMode mode = config::PoolMode::Transaction;
    int pool_size = 0;
    int server_active = 0;
    int server_idle = 0;
    int server_login = 0;
    // PgBouncer's sv_used/sv_tested: pgwarden checks a parked connection with a non-blocking
    // peek at checkout instead of a check query, so neither state lasts; kept for SHOW POOLS.
    int server_used = 0;
    int server_tested = 0;
    int clients = 0;  // logged-in clients of this pool (active, waiting and idle)
    int waiting = 0;
    double max_wait_seconds = 0;
    std::vector<ClassStats> classes;
};

// The server-wide connection budget of one PostgreSQL server (host:port).
struct BudgetStats {
    std::string endpoint;
    int limit = 0;  // 0 = not known yet, or unlimited
    int open = 0;
    bool known = false;
};

// A parked server connection, for SHOW SERVERS.
struct IdleServer {
    std::string database;
    std::string user;
    uint64_t id = 0;
    int32_t backend_pid = 0;
    std::string remote;
};

// One pool of server connections for a (database, user). Its mutable state is guarded by
// the PoolManager's mutex; the object itself is shared by every session that uses it.
class Pool {
public:
    Pool(std::string database, std::string user, PoolSettings settings, int workers);
    const std::string& database() const { return database_; }
    const std::string& user() const { return user_; }

private:
    friend class PoolManager;
    std::string database_;
    std::string user_;
    PoolSettings settings_;
    std::vector<std::vector<std::unique_ptr<ServerConn>>> idle_;  // per worker, LIFO
    int idle_count_ = 0;
    int active_ = 0;            // leased out
    int connecting_ = 0;        // slots taken by connections being opened
    int clients_ = 0;           // logged-in clients (count_client)
    int waiting_ = 0;           // sum of the classes' queue lengths
    std::string endpoint_key_;  // "host:port": the server-wide budget this pool draws on

    struct ClassSlot {
        std::string name;
        admission::Limits limits;
        int held = 0;
        WaiterQueue waiters;  // FIFO
        int64_t granted = 0;
        int64_t wait_timeouts = 0;
        WaitHistogram admission_wait;
        // A checkout of this class was granted after waiting `waited_seconds`.
        void count_grant(double waited_seconds) {
            ++held;
            ++granted;
            admission_wait.observe(waited_seconds);
        }
    };
    std::vector<ClassSlot> classes_;  // indices are stable for the pool's lifetime
    std::vector<std::pair<std::string, std::string>> server_params_;  // from the first login
};

// A checked-out server connection. Move-only; returns the connection to its pool when
// destroyed, or closes it when it is not known to be idle and clean.
class Lease {
public:
    Lease() = default;
    Lease(PoolManager* manager, std::shared_ptr<Pool> pool, std::unique_ptr<ServerConn> conn,
          size_t cls)
        : manager_(manager), pool_(std::move(pool)), conn_(std::move(conn)), cls_(cls) {}
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { reset(); }

    ServerConn* operator->() const { return conn_.get(); }
    ServerConn& operator*() const { return *conn_; }
    explicit operator bool() const { return conn_ != nullptr; }
    Pool& pool() const { return *pool_; }
    // The connection's state is unknown (transaction open, COPY aborted, I/O error):
    // it will be closed instead of reused.
    void mark_dirty() noexcept { dirty_ = true; }
    void reset() noexcept;

private:
    PoolManager* manager_ = nullptr;
    std::shared_ptr<Pool> pool_;
    std::unique_ptr<ServerConn> conn_;
    size_t cls_ = kNoClass;
    bool dirty_ = false;
};

// Owns every pool and the limits they share (per database, per user, server-wide).
// Thread-safe: one mutex guards all pool state; no I/O is done while holding it.
class PoolManager {
public:
    explicit PoolManager(int workers) : workers_(workers) {}

    // The pool for (database, user), created on first use. Settings of an existing pool are
    // replaced (a reload); connections opened under old settings retire at release.
    std::shared_ptr<Pool> get_pool(const std::string& database, const std::string& user,
                                   const PoolSettings& settings);

    // The index of the named class in `pool` (the default class when the name is unknown
    // to this pool's settings); stable for the pool's lifetime, across reloads.
    size_t class_index(Pool& pool, const std::string& name);

    // A checkout in steps, so that a session can run it inline in its own coroutine (a
    // coroutine call costs a frame per transaction): begin_checkout takes a live idle
    // connection (Leased, `out` set), reserves a new one (Open: co_await open_lease), or
    // queues `waiter` (Queued: wait on its timer, then end_wait; created on first use).
    // Only end_wait says Busy (woken without a grant: begin again). acquire() runs the same
    // steps as one coroutine.
    enum class CheckoutStep { Leased, Open, Queued, Busy };
    CheckoutStep begin_checkout(const std::shared_ptr<Pool>& pool, size_t cls, int worker,
                                const net::Executor& exec, Clock::time_point now,
                                std::shared_ptr<Waiter>& waiter, std::optional<Lease>& out);
    // After the waiter's timer completed: Leased or Open when granted; Queued when woken
    // early (wait again); Busy when woken without a grant (look again with begin_checkout);
    // 53300 once `deadline` has passed.
    common::Result<CheckoutStep> end_wait(const std::shared_ptr<Pool>& pool, size_t cls, int worker,
                                          const net::Executor& exec, Clock::time_point deadline,
                                          Waiter& waiter, std::optional<Lease>& out);
    // Opens the connection a checkout reserved (Open).
    net::awaitable<common::Result<Lease>> open_lease(std::shared_ptr<Pool> pool, size_t cls,
                                                     int worker);
    // The rest of a checkout begin_checkout did not finish: waits (Queued), looks again
    // (Busy), opens (Open) or hands over `out` (Leased), until `deadline`. acquire() and a
    // session's inline checkout both end here, so the waiting logic exists once.
    net::awaitable<common::Result<Lease>> finish_checkout(std::shared_ptr<Pool> pool, size_t cls,
                                                          int worker, CheckoutStep step,
                                                          Clock::time_point deadline,
                                                          std::shared_ptr<Waiter>& waiter,
                                                          std::optional<Lease>& out);

    // Checks out a server connection for a session of class `cls` running on event loop
    // `worker`, waiting until `deadline` at most. Errors: 53300 (timed out; the message
    // names the pool and the class), 08006 (cannot connect) or the server's login error.
    // `now` is the caller's clock reading (it asked just now). `waiter`: the session's own
    // queue entry and timer, created on first use and reused for every later wait, so a
    // checkout that has to queue allocates nothing.
    net::awaitable<common::Result<Lease>> acquire(std::shared_ptr<Pool> pool, size_t cls,
                                                  int worker, Clock::time_point now,
                                                  Clock::time_point deadline,
                                                  std::shared_ptr<Waiter>& waiter);

    // The ParameterStatus values clients of this pool are shown at login (from the first
    // server login); empty before any server connection exists.
    std::vector<std::pair<std::string, std::string>> server_params(const Pool& pool);

    // Stores SCRAM keys recovered from a client login so later server logins can use them.
    void set_scram_keys(Pool& pool, const pgwire::scram::Key& client_key,
                        const pgwire::scram::Key& server_key);

    // Sets the password (plain or md5 hash) later server logins of `pool` use, unless the
    // database table forces a user and password.
    void set_password(Pool& pool, const std::string& password);

    // Housekeeping, called about once a second from one thread: closes connections past
    // server_idle_timeout or server_lifetime; returns the pools below min_pool_size with
    // how many connections each should open.
    std::vector<std::pair<std::shared_ptr<Pool>, int>> janitor(Clock::time_point now);
    // Opens one connection for `pool` and parks it idle (min_pool_size warm-up).
    net::awaitable<void> prewarm(std::shared_ptr<Pool> pool, int worker);

    std::vector<PoolStats> stats();
    // A client of `pool` logged in (+1) or left (-1); for SHOW POOLS and client-state metrics.
    void count_client(Pool& pool, int delta);
    // Closes the idle connections of every pool of `database` (admin KILL).
    void close_idle_of(const std::string& database);
    std::vector<IdleServer> idle_servers();
    std::vector<BudgetStats> budgets();
    int total_server_connections();
    // Closes every idle connection (shutdown).
    void close_idle();
    // Closes the idle connections of every pool, or of `database`'s pools only.
    void close_idle_matching(const std::string* database);
    // From now on released connections are closed, never parked: called before the event
    // loops are destroyed, so no socket outlives the io_context it is registered with.
    void begin_shutdown();

private:
    friend class Lease;
    struct Budget {
        int limit = 0;         // 0 = unlimited (or not known yet)
        int open = 0;          // connections open or opening to this server
        bool known = false;    // limit read from the server, configured, or given up on
        bool probing = false;  // one opener is reading max_connections right now
    };

    void release(Pool& pool, size_t cls, std::unique_ptr<ServerConn> conn, bool reusable);
    bool can_open_locked(const Pool& pool) const;
    // Takes a slot for a new connection if every limit allows it, evicting an idle
    // connection of another pool when only the server-wide budget stands in the way.
    bool try_open_locked(Pool& pool, std::vector<std::unique_ptr<ServerConn>>& evicted);
    void count_open_locked(const Pool& pool, int delta);
    void apply_classes_locked(Pool& pool, const PoolSettings& settings);
    void unhold_locked(Pool& pool, size_t cls);
    // Grants free connections to waiters, best class first; connections evicted for the
    // server budget land in `evicted`, to be closed once the lock is released.
    void grant_waiters_locked(WakeList& woken, std::vector<std::unique_ptr<ServerConn>>& evicted);
    bool grant_one_locked(Pool& pool, WakeList& woken,
                          std::vector<std::unique_ptr<ServerConn>>& evicted);
    std::unique_ptr<ServerConn> take_idle_locked(Pool& pool, int worker);
    bool expired(const Pool& pool, const ServerConn& conn, Clock::time_point now) const;
    // The waiter a released connection goes to: the oldest one on the connection's own
    // event loop (no cross-thread wake-up, no socket move), unless the oldest waiter of all
    // has waited longer than kHandoffFairness, which bounds the unfairness.
    WaiterQueue::iterator pick_waiter_locked(WaiterQueue& queue, int worker, Clock::time_point now);
    // Takes the waiter at `it` out of its class's queue and the pool's waiting counts.
    std::shared_ptr<Waiter> dequeue_locked(Pool& pool, Pool::ClassSlot& slot,
                                           WaiterQueue::iterator it);
    // Grants the waiter at `it`: `conn` (an idle connection) or, when null, permission to
    // open one; dequeues it, counts the grant and adds it to `woken`.
    void grant_locked(Pool& pool, Pool::ClassSlot& slot, WaiterQueue::iterator it,
                      std::unique_ptr<ServerConn> conn, Clock::time_point now, WakeList& woken);
    net::awaitable<common::Result<std::unique_ptr<ServerConn>>> open(std::shared_ptr<Pool> pool,
                                                                     size_t cls, int worker);
    // Reads the server's connection limit on a fresh connection (the first to that server).
    // Returns false when the connection broke on the way.
    net::awaitable<bool> probe_budget(std::shared_ptr<Pool> pool, ServerConn& conn, int margin);
    static void wake(WakeList& woken);
    static void close_all(std::vector<std::unique_ptr<ServerConn>>& conns);
    // Under mu_: takes an idle connection for class `cls` when admission allows it, counting
    // the checkout; an expired one goes to `to_close` instead (the caller looks again).
    std::unique_ptr<ServerConn> checkout_idle_locked(
        Pool& pool, size_t cls, int worker, Clock::time_point now,
        std::vector<std::unique_ptr<ServerConn>>& to_close);
    // A checked-out connection found dead (the peer's goodbye or EOF unread): uncount and
    // close it, and let a waiter have the freed slot.
    void discard_dead(Pool& pool, size_t cls, std::unique_ptr<ServerConn> conn);

    int workers_;
    common::FutexMutex mu_;  // locked 2-3 times per transaction; see futex_mutex.hpp
    bool shutting_down_ = false;
    std::map<std::pair<std::string, std::string>, std::shared_ptr<Pool>> pools_;
    std::map<std::string, int> per_db_;
    std::map<std::string, int> per_user_;
    std::map<std::string, Budget> budgets_;  // by "host:port"
    int total_waiting_ = 0;
};

// Sends Terminate without waiting and closes the socket.
void close_server(std::unique_ptr<ServerConn> conn);
// True when an idle connection has nothing unread and is not closed (one non-blocking peek).
bool server_alive(ServerConn& conn);
// Moves a connection's socket onto another event loop (a pool is shared by all loops).
void rehome(ServerConn& conn, const net::Executor& exec, int worker);

}  // namespace pgwarden::pool
