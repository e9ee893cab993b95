#include "proxy/session_slots.hpp"

namespace pgwarden::proxy {

void GiveClientSlot::operator()() const noexcept {
    rt->clients_active.fetch_sub(1);
    if (rt->draining.load()) {
        rt->changes.notify_all();  // the drain waits for the last client
    }
}

std::optional<ClientSlot> take_client_slot(Runtime& rt, int64_t limit) {
    if (rt.clients_active.fetch_add(1) >= limit) {
        rt.clients_active.fetch_sub(1);
        return std::nullopt;
    }
    return ClientSlot(GiveClientSlot{&rt});
}

void GiveClassSeat::operator()() const noexcept {
    clients->leave(cls);
}

std::optional<ClassSeat> take_class_seat(ClassClients& clients, const std::string& cls, int limit) {
    if (!clients.try_enter(cls, limit)) {
        return std::nullopt;
    }
    return ClassSeat(GiveClassSeat{&clients, cls});
}

void GivePoolClient::operator()() const noexcept {
    pools->count_client(*pool, -1);
}

PoolClient count_pool_client(pool::PoolManager& pools, std::shared_ptr<pool::Pool> pool) {
    pools.count_client(*pool, 1);
    return PoolClient(GivePoolClient{&pools, std::move(pool)});
}

}  // namespace pgwarden::proxy
