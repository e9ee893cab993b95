#include "common/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <fmt/format.h>

namespace pgwarden::common {

void setup_logging(LogFormat format, const std::string& level) {
    spdlog::drop("pgwarden");
    auto logger = spdlog::stderr_logger_mt("pgwarden");
    if (format == LogFormat::Json) {
        // Messages logged in JSON mode are already `"key":value` fragments (see proxy logs).
        logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l",%v})");
    } else {
        logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
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
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
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
