#include "proxy/governance.hpp"

#include <charconv>

namespace pgwarden::proxy {

const char* to_string(LeakKind kind) {
    switch (kind) {
    case LeakKind::IdleInTransaction:
        return "idle_in_transaction";
    case LeakKind::CheckoutTime:
        return "max_checkout_time";
    }
    return "unknown";
}

void LeakLog::set_capacity(size_t capacity) {
    std::lock_guard lock(mu_);
    capacity_ = capacity;
    while (records_.size() > capacity_) {
        records_.pop_back();
    }
}

void LeakLog::record(LeakRecord record) {
    total_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mu_);
    if (capacity_ == 0) {
        return;
    }
    records_.push_front(std::move(record));
    while (records_.size() > capacity_) {
        records_.pop_back();
    }
}

std::vector<LeakRecord> LeakLog::recent() {
    std::lock_guard lock(mu_);
    return {records_.begin(), records_.end()};
}

bool ClassClients::try_enter(const std::string& cls, int limit) {
    std::lock_guard lock(mu_);
    int& n = counts_[cls];
    if (limit > 0 && n >= limit) {
        return false;
    }
    ++n;
    return true;
}

void ClassClients::leave(const std::string& cls) {
    std::lock_guard lock(mu_);
    auto it = counts_.find(cls);
    if (it != counts_.end() && --it->second <= 0) {
        counts_.erase(it);
    }
}

std::map<std::string, int> ClassClients::counts() {
    std::lock_guard lock(mu_);
    return counts_;
}

std::pair<std::string, uint16_t> split_peer(const std::string& peer) {
    const auto colon = peer.rfind(':');
    if (colon == std::string::npos || colon + 1 >= peer.size()) {
        return {std::string(), 0};
    }
    std::string addr = peer.substr(0, colon);
    if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']') {
        addr = addr.substr(1, addr.size() - 2);
    }
    unsigned value = 0;
    const char* first = peer.data() + colon + 1;
    const char* last = peer.data() + peer.size();
    auto [end, ec] = std::from_chars(first, last, value);
    if (ec != std::errc() || end != last || value > 65535) {
        return {addr, 0};
    }
    return {addr, static_cast<uint16_t>(value)};
}

}  // namespace pgwarden::proxy
