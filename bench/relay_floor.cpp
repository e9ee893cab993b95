// relay_floor: the least a transaction-pooling PostgreSQL relay can do, to measure what this
// machine allows any pooler to reach. Not a product and not used by pgwarden: one thread, one
// epoll set (edge-triggered, every socket registered once), trust authentication only, no
// parameter tracking, no prepared statements, no timeouts, no metrics. A client's bytes are
// forwarded to the server connection it holds; a server connection goes back to the pool (or
// straight to the oldest waiting client) when it reports ReadyForQuery 'I'.
//
// bench/ab_compare.sh runs it beside pgwarden and PgBouncer (FLOOR=1): if even this relay
// cannot pass PgBouncer under `pgbench -S`, no change to pgwarden's user-space code can.
//
// Usage: relay_floor LISTEN_PORT SERVER_PORT POOL_SIZE USER DATABASE   (all on 127.0.0.1)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

constexpr uint32_t kSslRequest = 80877103;
constexpr uint32_t kGssEncRequest = 80877104;
constexpr uint32_t kProtocol30 = 196608;
constexpr size_t kChunk = size_t{16} * 1024;

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

uint32_t be32(const char* p) {
    uint32_t v = 0;
    std::memcpy(&v, p, 4);
    return ntohl(v);
}

void put32(std::string& out, uint32_t v) {
    v = htonl(v);
    out.append(reinterpret_cast<const char*>(&v), 4);
}

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    int get() const { return fd_; }

private:
    int fd_;
};

// Follows message boundaries in a byte stream without buffering it: enough to see each
// message's type and the first byte of its body (ReadyForQuery's transaction status).
class MessageScanner {
public:
    // Feeds `n` bytes; returns true when they end exactly after a ReadyForQuery 'I'.
    bool feed(const char* p, size_t n) {
        bool idle_at_end = false;
        while (n > 0) {
            if (header_have_ < header_.size()) {
                const size_t take = std::min(header_.size() - header_have_, n);
                std::memcpy(header_.data() + header_have_, p, take);
                header_have_ += take;
                p += take;
                n -= take;
                if (header_have_ == header_.size()) {
                    type_ = header_[0];
                    body_left_ = be32(header_.data() + 1) - 4;
                    first_body_byte_ = true;
                }
                idle_at_end = false;
                continue;
            }
            if (body_left_ > 0 && first_body_byte_) {
                status_ = *p;
                first_body_byte_ = false;
            }
            const size_t take = std::min<size_t>(body_left_, n);
            body_left_ -= static_cast<uint32_t>(take);
            p += take;
            n -= take;
            if (body_left_ == 0) {
                idle_at_end = type_ == 'Z' && status_ == 'I';
                header_have_ = 0;
            }
        }
        return idle_at_end;
    }
    char last_type() const { return type_; }

private:
    std::array<char, 5> header_{};
    size_t header_have_ = 0;
    uint32_t body_left_ = 0;
    char type_ = 0;
    char status_ = 0;
    bool first_body_byte_ = false;
};

struct Conn {
    explicit Conn(int fd, bool server) : fd(fd), is_server(server) {}
    Fd fd;
    bool is_server;
    bool started = false;    // client: startup packet answered
    std::string in;          // client: bytes not yet forwarded (no server held, or startup)
    std::string out;         // bytes the socket did not take yet
    Conn* peer = nullptr;    // the client a server serves, or the server a client holds
    MessageScanner scanner;  // server: replies; client: requests (to see Terminate)
};

class Relay {
public:
    Relay(uint16_t listen_port, uint16_t server_port, int pool_size, const std::string& user,
          const std::string& database)
        : epoll_(::epoll_create1(EPOLL_CLOEXEC)),
          listener_(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {
        if (epoll_.get() < 0 || listener_.get() < 0) {
            fail("socket");
        }
        const int one = 1;
        ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr = loopback(listen_port);
        if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(listener_.get(), 1024) != 0) {
            fail("listen on port " + std::to_string(listen_port));
        }
        for (int i = 0; i < pool_size; ++i) {
            open_server(server_port, user, database);
        }
        watch(listener_.get(), nullptr);
    }

    [[noreturn]] void run() {
        std::array<epoll_event, 256> events{};
        for (;;) {
            const int n = ::epoll_wait(epoll_.get(), events.data(), events.size(), -1);
            if (n < 0 && errno != EINTR) {
                fail("epoll_wait");
            }
            for (int i = 0; i < n; ++i) {
                auto* c = static_cast<Conn*>(events[static_cast<size_t>(i)].data.ptr);
                if (c == nullptr) {
                    accept_all();
                } else if (!doomed(*c)) {
                    if ((events[static_cast<size_t>(i)].events & EPOLLOUT) != 0) {
                        flush(*c);
                    }
                    readable(*c);
                }
            }
            for (Conn* c : doomed_) {
                conns_.erase(c->fd.get());
            }
            doomed_.clear();
        }
    }

private:
    static sockaddr_in loopback(uint16_t port) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return a;
    }

    void watch(int fd, Conn* c) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
        ev.data.ptr = c;
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
            fail("epoll_ctl");
        }
    }

    // Blocking login at start-up; the relay replays the first server's ParameterStatus and
    // BackendKeyData messages to every client.
    void open_server(uint16_t port, const std::string& user, const std::string& database) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        auto conn = std::make_unique<Conn>(fd, true);
        sockaddr_in addr = loopback(port);
        if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            fail("connect to port " + std::to_string(port));
        }
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::string body;
        put32(body, kProtocol30);
        for (const auto& [k, v] : {std::pair<std::string, std::string>{"user", user},
                                   std::pair<std::string, std::string>{"database", database}}) {
            body.append(k).push_back('\0');
            body.append(v).push_back('\0');
        }
        body.push_back('\0');
        std::string packet;
        put32(packet, static_cast<uint32_t>(body.size() + 4));
        packet += body;
        if (::send(fd, packet.data(), packet.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(packet.size())) {
            fail("send startup");
        }
        // Trust only: AuthenticationOk, ParameterStatus..., BackendKeyData, ReadyForQuery.
        std::string got;
        size_t pos = 0;
        std::string greeting;
        for (bool ready = false; !ready;) {
            std::array<char, 4096> buf{};
            const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
            if (n <= 0) {
                fail("server login");
            }
            got.append(buf.data(), static_cast<size_t>(n));
            while (!ready && got.size() - pos >= 5 && got.size() - pos >= 1 + be32(&got[pos + 1])) {
                const char type = got[pos];
                const size_t len = 1 + be32(&got[pos + 1]);
                if (type == 'R' && be32(&got[pos + 5]) != 0) {
                    throw std::runtime_error("server asks for a password: trust only");
                }
                if (type == 'E') {
                    throw std::runtime_error("server refused the login");
                }
                if (type == 'S' || type == 'K') {
                    greeting.append(got, pos, len);
                }
                ready = type == 'Z';
                pos += len;
            }
        }
        if (greeting_.empty()) {
            greeting_ = greeting;
        }
        if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
            fail("fcntl");
        }
        watch(fd, conn.get());
        idle_.push_back(conn.get());
        conns_.emplace(fd, std::move(conn));
    }

    void accept_all() {
        for (;;) {
            const int fd =
                ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                return;  // EAGAIN, or a transient error: the next connection retries
            }
            const int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            auto conn = std::make_unique<Conn>(fd, false);
            watch(fd, conn.get());
            conns_.emplace(fd, std::move(conn));
        }
    }

    // Edge-triggered: read until a read comes back short (the socket is drained; new data
    // raises a new edge).
    void readable(Conn& c) {
        for (;;) {
            const ssize_t n = ::recv(c.fd.get(), buf_.data(), buf_.size(), 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                close(c);
                return;
            }
            if (n < 0) {
                return;
            }
            const auto len = static_cast<size_t>(n);
            if (c.is_server) {
                from_server(c, buf_.data(), len);
            } else {
                from_client(c, buf_.data(), len);
            }
            if (len < buf_.size() || doomed(c)) {
                return;
            }
        }
    }

    void from_server(Conn& s, const char* p, size_t n) {
        const bool idle = s.scanner.feed(p, n);
        Conn* client = s.peer;
        if (client == nullptr) {
            close(s);  // a notice or an error between transactions: not worth the complexity
            return;
        }
        write(*client, p, n);
        if (idle) {
            client->peer = nullptr;
            s.peer = nullptr;
            give(s);
        }
    }

    void from_client(Conn& c, const char* p, size_t n) {
        if (!c.started) {
            c.in.append(p, n);
            startup(c);
            return;
        }
        c.scanner.feed(p, n);
        if (c.scanner.last_type() == 'X') {
            close(c);  // mid-transaction, it takes its server connection along
            return;
        }
        if (c.peer != nullptr) {
            write(*c.peer, p, n);
            return;
        }
        const bool was_waiting = !c.in.empty();
        c.in.append(p, n);
        if (was_waiting) {
            return;
        }
        if (idle_.empty()) {
            waiting_.push_back(&c);
            return;
        }
        Conn* s = idle_.back();
        idle_.pop_back();
        attach(c, *s);
    }

    void attach(Conn& c, Conn& s) {
        c.peer = &s;
        s.peer = &c;
        std::string pending;
        pending.swap(c.in);
        write(s, pending.data(), pending.size());
    }

    void give(Conn& s) {
        if (waiting_.empty()) {
            idle_.push_back(&s);
            return;
        }
        Conn* c = waiting_.front();
        waiting_.pop_front();
        attach(*c, s);
    }

    void startup(Conn& c) {
        while (c.in.size() >= 8 && c.in.size() >= be32(c.in.data())) {
            const uint32_t len = be32(c.in.data());
            const uint32_t code = be32(c.in.data() + 4);
            c.in.erase(0, len);
            if (code == kSslRequest || code == kGssEncRequest) {
                write(c, "N", 1);
                continue;
            }
            if (code != kProtocol30) {
                close(c);
                return;
            }
            std::string hello;
            hello.push_back('R');
            put32(hello, 8);
            put32(hello, 0);
            hello += greeting_;
            hello.push_back('Z');
            put32(hello, 5);
            hello.push_back('I');
            write(c, hello.data(), hello.size());
            c.started = true;
            if (!c.in.empty()) {
                std::string rest;
                rest.swap(c.in);
                from_client(c, rest.data(), rest.size());
            }
            return;
        }
    }

    void write(Conn& c, const char* p, size_t n) {
        if (c.out.empty()) {
            while (n > 0) {
                const ssize_t w = ::send(c.fd.get(), p, n, MSG_NOSIGNAL);
                if (w < 0) {
                    if (errno == EAGAIN) {
                        break;
                    }
                    close(c);
                    return;
                }
                p += w;
                n -= static_cast<size_t>(w);
            }
        }
        c.out.append(p, n);  // EPOLLOUT (registered with the socket) says when to go on
    }

    void flush(Conn& c) {
        if (c.out.empty() || doomed(c)) {
            return;
        }
        std::string rest;
        rest.swap(c.out);
        write(c, rest.data(), rest.size());
    }

    bool doomed(const Conn& c) const {
        for (const Conn* d : doomed_) {
            if (d == &c) {
                return true;
            }
        }
        return false;
    }

    // A server connection closed mid-transaction is lost to the pool (this relay does not
    // reconnect); a client that goes away mid-transaction takes its server with it.
    void close(Conn& c) {
        if (doomed(c)) {
            return;
        }
        doomed_.push_back(&c);
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
        if (c.is_server) {
            std::erase(idle_, &c);
            std::fprintf(stderr, "relay_floor: lost a server connection\n");
        } else {
            std::erase(waiting_, &c);
        }
        if (Conn* peer = c.peer; peer != nullptr) {
            c.peer = nullptr;
            peer->peer = nullptr;
            close(*peer);
        }
    }

    Fd epoll_;
    Fd listener_;
    std::unordered_map<int, std::unique_ptr<Conn>> conns_;
    std::vector<Conn*> idle_;
    std::deque<Conn*> waiting_;
    std::vector<Conn*> doomed_;
    std::string greeting_;
    std::array<char, kChunk> buf_{};
};

// A decimal in [lo, hi], or an exception naming the argument.
int number(const char* text, const char* what, int lo, int hi) {
    const std::string_view sv(text);
    int v = 0;
    const auto [end, ec] = std::from_chars(sv.data(), sv.data() + sv.size(), v);
    if (ec != std::errc{} || end != sv.data() + sv.size() || v < lo || v > hi) {
        throw std::runtime_error(std::string(what) + " must be a number from " +
                                 std::to_string(lo) + " to " + std::to_string(hi) + ", not '" +
                                 text + "'");
    }
    return v;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr,
                     "usage: relay_floor LISTEN_PORT SERVER_PORT POOL_SIZE USER DATABASE\n");
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    // A shell starts background jobs with SIGINT ignored; the bench scripts stop it with it.
    std::signal(SIGINT, SIG_DFL);
    try {
        Relay relay(static_cast<uint16_t>(number(argv[1], "LISTEN_PORT", 1, 65535)),
                    static_cast<uint16_t>(number(argv[2], "SERVER_PORT", 1, 65535)),
                    number(argv[3], "POOL_SIZE", 1, 10000), argv[4], argv[5]);
        relay.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "relay_floor: %s\n", e.what());
        return 1;
    }
}
