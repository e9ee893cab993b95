#pragma once

#include "net/asio.hpp"
#include "pool/server_conn.hpp"
#include "proxy/runtime.hpp"

#include <cstdint>
#include <unordered_map>

namespace pgwarden::proxy {

// Enforces the per-class timeouts that need a look at every session: query_timeout (cancel
// the query), idle_transaction_timeout and max_checkout_time (suspected leaks: report,
// cancel or terminate). Runs on one loop a few times a second; sessions expose their state
// only through ClientSession::activity(), a copy taken under the session's own lock.
class Governor {
public:
    explicit Governor(Runtime& runtime) : rt_(runtime) {}

    // One pass over every logged-in session. Cancel requests are sent from `exec`.
    void tick(const net::Executor& exec, pool::Clock::time_point now);

private:
    struct Marks {
        uint64_t leak_checkout = 0;    // checkout already reported as a suspected leak
        uint64_t cancelled_query = 0;  // request already cancelled for query_timeout
        uint64_t seen = 0;             // the pass that last saw the session
    };
    Runtime& rt_;
    std::unordered_map<uint64_t, Marks> marks_;  // by session id
    uint64_t pass_ = 0;
};

}  // namespace pgwarden::proxy
