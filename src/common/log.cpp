#include "common/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <fmt/format.h>

#include <cctype>
#include <string_view>

namespace pgwarden::common {

namespace {

// Log lines are written logfmt-style ("conn=7 client=1.2.3.4:5 db=app ... text"). In JSON
// mode the leading key=value tokens become JSON fields and the rest becomes "msg", so log
// shippers can index connection id, client, database, user and application_name.
class JsonPayload final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        std::string_view rest(msg.payload.data(), msg.payload.size());
        std::string out;
        for (;;) {
            const size_t space = rest.find(' ');
            const std::string_view token = rest.substr(0, space);
            const size_t eq = token.find('=');
            if (space == std::string_view::npos || eq == std::string_view::npos || eq == 0 ||
                !is_key(token.substr(0, eq))) {
                break;
            }
            out += fmt::format("\"{}\":\"{}\",", token.substr(0, eq),
                               json_escape(std::string(token.substr(eq + 1))));
            rest.remove_prefix(space + 1);
        }
        out += "\"msg\":\"" + json_escape(std::string(rest)) + "\"";
        dest.append(out.data(), out.data() + out.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<JsonPayload>();
    }

private:
    static bool is_key(std::string_view k) {
        for (char c : k) {
            if (!std::islower(static_cast<unsigned char>(c)) && c != '_') {
                return false;
            }
        }
        return true;
    }
};

}  // namespace

void setup_logging(LogFormat format, const std::string& level) {
    spdlog::drop("pgwarden");
    auto logger = spdlog::stderr_logger_mt("pgwarden");
    if (format == LogFormat::Json) {
        auto formatter = std::make_unique<spdlog::pattern_formatter>();
        formatter->add_flag<JsonPayload>('*').set_pattern(
            R"({"ts":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l",%*})");
        logger->set_formatter(std::move(formatter));
    } else {
        logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");
    }
    logger->set_level(spdlog::level::from_str(level));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

std::string json_escape(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c < 0x20) {
                out += fmt::format("\\u{:04x}", c);
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out;
}

}  // namespace pgwarden::common
