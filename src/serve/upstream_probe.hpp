#pragma once

#include "net/asio.hpp"
#include "proxy/runtime.hpp"

#include <memory>
#include <mutex>
#include <string>

namespace pgwarden::serve {

// Whether the PostgreSQL servers in the config accept TCP connections, checked every
// `interval` on loop 0 so /readyz answers from a cached flag and never waits on the network.
// A server counts as reachable from its last probe; before the first probe finishes, as
// reachable (a probe that cannot run yet must not fail a fresh instance's readiness check).
class UpstreamProbe : public std::enable_shared_from_this<UpstreamProbe> {
public:
    struct State {
        bool reachable = true;
        std::string reason;  // the first unreachable server and why
    };

    explicit UpstreamProbe(proxy::Runtime& runtime) : rt_(runtime) {}
    // Starts the probe loop on `exec`; it ends after stop().
    void start(net::Executor exec, std::chrono::milliseconds interval);
    void stop();
    // Destroys the timer while its io_context still exists. Call once no loop runs, before
    // the loops are destroyed: the probe coroutine's frame (which owns a reference to this
    // object) is only destroyed with the io_context, and must not find a timer whose service
    // is already gone.
    void release();
    State state() const;

private:
    static net::awaitable<void> loop(std::shared_ptr<UpstreamProbe> self, net::Executor exec,
                                     std::chrono::milliseconds interval);

    proxy::Runtime& rt_;
    mutable std::mutex mu_;
    State state_;
    std::unique_ptr<net::SteadyTimer> timer_;
    bool stopped_ = false;
};

}  // namespace pgwarden::serve
