#pragma once

#include "pool/pool.hpp"
#include "proxy/runtime.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace pgwarden::proxy {

// A count a session takes at login and gives back exactly once: by release(), or when it is
// destroyed, so a session whose coroutine is destroyed mid-way gives back what it held too.
// Move-only; `Give` gives the count back and must not throw.
template <typename Give>
class Held {
public:
    Held() = default;
    explicit Held(Give give) : give_(std::move(give)), held_(true) {}
    Held(Held&& other) noexcept
        : give_(std::move(other.give_)), held_(std::exchange(other.held_, false)) {}
    Held& operator=(Held&& other) noexcept {
        if (this != &other) {
            release();
            give_ = std::move(other.give_);
            held_ = std::exchange(other.held_, false);
        }
        return *this;
    }
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    ~Held() { release(); }

    void release() noexcept {
        if (held_) {
            held_ = false;
            give_();
        }
    }
    explicit operator bool() const noexcept { return held_; }

private:
    Give give_{};
    bool held_ = false;
};

// A logged-in client's place under max_client_conn (Runtime::clients_active).
struct GiveClientSlot {
    Runtime* rt = nullptr;
    void operator()() const noexcept;
};
using ClientSlot = Held<GiveClientSlot>;
// Nothing when `limit` clients are logged in already.
std::optional<ClientSlot> take_client_slot(Runtime& rt, int64_t limit);

// A client's place under its workload class's max_client_conn.
struct GiveClassSeat {
    ClassClients* clients = nullptr;
    std::string cls;
    void operator()() const noexcept;
};
using ClassSeat = Held<GiveClassSeat>;
// Nothing when the class has `limit` clients already (0: no limit).
std::optional<ClassSeat> take_class_seat(ClassClients& clients, const std::string& cls, int limit);

// A client counted in its pool's client count (SHOW POOLS, client-state metrics).
struct GivePoolClient {
    pool::PoolManager* pools = nullptr;
    std::shared_ptr<pool::Pool> pool;
    void operator()() const noexcept;
};
using PoolClient = Held<GivePoolClient>;
PoolClient count_pool_client(pool::PoolManager& pools, std::shared_ptr<pool::Pool> pool);

}  // namespace pgwarden::proxy
