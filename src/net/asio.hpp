#pragma once

// The one place that includes Asio and names the aliases the rest of pgwarden uses, so the
// experimental parts (awaitable operators) are pulled in from a single header.
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace pgwarden::net {

// An allocator whose resize() leaves new bytes uninitialised: read buffers grow by a chunk
// before every read, and zero-filling 16 KiB twice per transaction is measurable.
template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
    template <typename U>
    struct rebind {
        using other = DefaultInitAllocator<U>;
    };
    DefaultInitAllocator() = default;
    template <typename U>
    DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}  // NOLINT
    template <typename U>
    void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
        ::new (static_cast<void*>(p)) U;
    }
    template <typename U, typename... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
};

// Socket read buffers.
using Bytes = std::vector<uint8_t, DefaultInitAllocator<uint8_t>>;

namespace asio = boost::asio;
using boost::system::error_code;
// Every I/O object and coroutine names the concrete io_context executor: the type-erased
// any_io_executor costs an indirect call on every operation of the data path.
using Executor = asio::io_context::executor_type;
template <typename T = void>
using awaitable = asio::awaitable<T, Executor>;
inline constexpr asio::use_awaitable_t<Executor> use_awaitable;
using StreamSocket = asio::basic_stream_socket<asio::generic::stream_protocol, Executor>;
using SteadyTimer =
    asio::basic_waitable_timer<std::chrono::steady_clock,
                               asio::wait_traits<std::chrono::steady_clock>, Executor>;

// `co_await op(..., as_result)` yields std::tuple<error_code, ...> instead of throwing:
// environment failures are values on the data path, never exceptions.
inline constexpr auto as_result = asio::as_tuple(use_awaitable);
// The same result for the data path's per-transaction operations: a deferred operation
// co_awaited directly skips the initiating coroutine frame use_awaitable allocates (and
// pumps) for every operation. Not usable with the awaitable operators (||, &&).
inline constexpr auto as_result_direct = asio::as_tuple(asio::deferred);

}  // namespace pgwarden::net
