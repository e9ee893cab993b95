// The message half of the relay: the client's messages parsed into what goes to the server
// (prepared statements renamed, SETs tracked, requests counted), the server's parsed into what
// goes to the client (transaction state, replies to pgwarden's own requests swallowed). Pure
// buffer work: no I/O here.
#include "pgwire/frame.hpp"
#include "pgwire/messages.hpp"
#include "pgwire/sqlstate.hpp"
#include "proxy/client_session.hpp"
#include "proxy/session_params.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

namespace pgwarden::proxy {

namespace sqlstate = pgwire::sqlstate;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint64_t kMaxServerMessage = 1u << 30;

// Server messages the relay reads before forwarding (whole): ReadyForQuery, ParameterStatus,
// ParseComplete, CloseComplete, CopyInResponse, ErrorResponse; CommandComplete only when its
// length could be "DISCARD ALL" or "DEALLOCATE ALL".
constexpr std::array<bool, 256> kInspected = [] {
    std::array<bool, 256> t{};
    for (unsigned char c : {'Z', 'S', '1', '3', 'G', 'E'}) {
        t[c] = true;
    }
    return t;
}();

std::string_view view(const net::Bytes& buf, size_t pos, size_t len) {
    return {reinterpret_cast<const char*>(buf.data()) + pos, len};
}

// Client messages that are read whole before they are acted on; the others (COPY data,
// Execute, Sync, ...) are forwarded as their bytes arrive. A Query is always read whole (its
// text is scanned). Parse, Bind, Describe and Close are read whole when the prepared-
// statement rewrite needs them (`rewrite`), and also before a server connection is borrowed
// for them (`rewrite` true there), so a client that trickles its bytes in does not hold one.
bool read_whole(char type, bool rewrite) {
    return type == 'Q' || type == 'X' ||
           (rewrite && (type == 'P' || type == 'B' || type == 'D' || type == 'C'));
}

}  // namespace

bool ClientSession::client_request_ready() const {
    const size_t avail = io_.in.size() - io_.pos;
    const auto h = pgwire::decode_header({io_.in.data() + io_.pos, avail}, max_packet_);
    if (h.status == pgwire::DecodeStatus::Error) {
        return true;  // let the relay report it
    }
    if (h.status != pgwire::DecodeStatus::Frame) {
        return false;
    }
    return !read_whole(h.type, true) || avail >= h.length;
}

common::Status ClientSession::process_client(bool& terminate) {
    const bool rewrite = pool_mode_ != config::PoolMode::Session && max_prepared_ > 0;
    const uint64_t max_packet = max_packet_;
    Clock::time_point now{};  // read once, at the first request message of this batch
    const auto clock = [&now] {
        if (now == Clock::time_point{}) {
            now = Clock::now();
        }
        return now;
    };
    while (io_.pos < io_.in.size()) {
        const size_t avail = io_.in.size() - io_.pos;
        if (client_stream_left_ > 0) {
            const size_t n = std::min<size_t>(client_stream_left_, avail);
            to_server_.append(view(io_.in, io_.pos, n));
            io_.pos += n;
            client_stream_left_ -= static_cast<uint32_t>(n);
            continue;
        }
        auto h = pgwire::decode_header({io_.in.data() + io_.pos, avail}, max_packet);
        if (h.status == pgwire::DecodeStatus::NeedMore) {
            break;
        }
        if (h.status == pgwire::DecodeStatus::Error) {
            return common::make_error(h.error_code, h.error);
        }
        const char type = h.type;
        if (read_whole(type, rewrite) && avail < h.length) {
            break;
        }
        switch (type) {
        case 'X':
            terminate = true;
            io_.pos += h.length;
            return common::ok_status();
        case 'Q': {
            std::string_view body =
                view(io_.in, io_.pos + pgwire::kHeaderSize, h.length - pgwire::kHeaderSize);
            auto q = pgwire::parse_query(body);
            if (!q) {
                return std::move(q).error();
            }
            observe_request('Q', clock());
            note_request(*q, clock());
            std::string path;
            if (parse_set_search_path(*q, path)) {
                wanted_params_["search_path"] = path;
                lease_->params["search_path"] = path;
                params_changed();
            }
            if (rewrite && PreparedStatements::may_deallocate(*q)) {
                if (auto st =
                        statements_.rewrite(view(io_.in, io_.pos, h.length), lease_->statements,
                                            injected_, max_prepared_, to_server_);
                    !st) {
                    return st;
                }
            } else {
                to_server_.append(view(io_.in, io_.pos, h.length));
            }
            injected_.on_sync_sent();
            ++pending_rfq_;
            batch_open_ = false;
            io_.pos += h.length;
            continue;
        }
        case 'P':
        case 'B':
        case 'D':
        case 'C':
            observe_request(type, clock());
            batch_open_ = true;
            if (type == 'P' && avail >= h.length) {
                // Parsed once, for the leak report's statement text and for the rewrite.
                const auto frame = view(io_.in, io_.pos, h.length);
                auto m = pgwire::parse_parse(frame.substr(pgwire::kHeaderSize));
                if (m) {
                    note_request(m->query, clock());
                }
                if (rewrite) {
                    if (!m) {
                        return std::move(m).error();
                    }
                    if (auto st = statements_.rewrite_parse(frame, *m, lease_->statements,
                                                            injected_, max_prepared_, to_server_);
                        !st) {
                        return st;
                    }
                    io_.pos += h.length;
                    continue;
                }
            } else if (rewrite) {
                if (auto st =
                        statements_.rewrite(view(io_.in, io_.pos, h.length), lease_->statements,
                                            injected_, max_prepared_, to_server_);
                    !st) {
                    return st;
                }
                io_.pos += h.length;
                continue;
            }
            break;
        case 'S':
        case 'F':
            observe_request(type, clock());
            injected_.on_sync_sent();
            ++pending_rfq_;
            batch_open_ = false;
            break;
        case 'E':
            observe_request('E', clock());
            batch_open_ = true;
            note_request({}, clock());
            break;
        case 'c':
        case 'f':
            copy_in_ = false;
            break;
        case 'd':
        case 'H':
            break;
        default:
            return common::make_error(sqlstate::kProtocolViolation,
                                      fmt::format("invalid frontend message type '{}'", type));
        }
        // Forward this message in bulk, whether or not its body has arrived yet.
        client_stream_left_ = h.length;
    }
    return common::ok_status();
}

common::Status ClientSession::process_server(bool direct_ok) {
    auto& in = lease_->in;
    size_t pos = 0;
    common::Status result = common::ok_status();
    // Direct: everything consumed so far, in[0, pos), goes to the client as it is, so it can
    // be written from `in` without copying it into io_.out first (the usual reply). The
    // first byte not forwarded (a reply to pgwarden's own request) ends that.
    bool direct = direct_ok && io_.out.empty();
    const auto forward_bytes = [&](size_t from, size_t n) {
        if (!direct) {
            io_.out.append(view(in, from, n));
        }
    };
    const auto drop_bytes = [&](size_t from) {
        if (direct) {
            io_.out.append(view(in, 0, from));
            direct = false;
        }
    };
    while (pos < in.size()) {
        const size_t avail = in.size() - pos;
        if (server_stream_left_ > 0) {
            const size_t n = std::min<size_t>(server_stream_left_, avail);
            if (!server_stream_drop_) {
                forward_bytes(pos, n);
            } else {
                drop_bytes(pos);
            }
            pos += n;
            server_stream_left_ -= static_cast<uint32_t>(n);
            continue;
        }
        auto h = pgwire::decode_header({in.data() + pos, avail}, kMaxServerMessage);
        if (h.status == pgwire::DecodeStatus::NeedMore) {
            break;
        }
        if (h.status == pgwire::DecodeStatus::Error) {
            result = common::make_error(sqlstate::kProtocolViolation, "server sent " + h.error);
            break;
        }
        const char type = h.type;
        const bool swallowing = injected_.in_injected_sync();
        bool forward = !swallowing;
        const bool inspect = kInspected[static_cast<unsigned char>(type)] ||
                             (type == 'C' && (h.length == 20 || h.length == 17));
        if (avail < h.length) {
            if (inspect) {
                break;  // read whole: wait for the rest
            }
            // Rows, descriptions, most CommandCompletes: forwarded (or dropped) unread, as
            // their bytes arrive.
            server_stream_left_ = h.length;
            server_stream_drop_ = !forward;
            continue;
        }
        const std::string_view body =
            inspect ? view(in, pos + pgwire::kHeaderSize, h.length - pgwire::kHeaderSize)
                    : std::string_view();
        switch (type) {
        case 'Z': {
            const char status = body.empty() ? 'I' : body[0];
            if (!injected_.on_server_message('Z', lease_->statements)) {
                if (pending_rfq_ > 0) {
                    --pending_rfq_;
                }
                txn_status_ = status;
                copy_in_ = false;
                ready_at_ = Clock::now();
                if (pending_rfq_ == 0) {
                    note_ready(status, ready_at_);
                }
                observe_ready(status, ready_at_);
            }
            break;
        }
        case 'S': {
            auto ps = pgwire::parse_parameter_status(body);
            if (ps) {
                lease_->params[ps->first] = ps->second;
                if (!swallowing && is_tracked(ps->first)) {
                    // The client changed it (SET at top level): carry it from now on.
                    wanted_params_[ps->first] = ps->second;
                }
                params_changed();
            }
            break;
        }
        case '1':
        case '3':
            if (injected_.on_server_message(type, lease_->statements)) {
                forward = false;
            }
            break;
        case 'G':
            copy_in_ = true;
            break;
        case 'C':
            if (body.starts_with("DISCARD ALL") || body.starts_with("DEALLOCATE ALL")) {
                lease_->statements.clear();
                lease_->extra_params.clear();
                params_changed();
            }
            break;
        case 'E':
            if (injected_.on_server_message('E', lease_->statements)) {
                forward = false;
                auto fields = pgwire::parse_error_fields(body);
                spdlog::warn("conn={} server conn={} rejected a request of pgwarden's own: {}", id_,
                             lease_->id, fields['M']);
            } else {
                observe_server_error(body);
            }
            break;
        default:
            break;
        }
        if (forward) {
            forward_bytes(pos, h.length);
        } else {
            drop_bytes(pos);
        }
        pos += h.length;
    }
    if (direct && result) {
        server_direct_ = pos;  // the caller writes and erases them (write_server_direct)
        return result;
    }
    if (direct) {
        io_.out.append(view(in, 0, pos));
    }
    in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(pos));
    return result;
}

}  // namespace pgwarden::proxy
