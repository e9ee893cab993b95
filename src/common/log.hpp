#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace pgwarden::common {

enum class LogFormat {
    Text,  // human-readable lines
    Json,  // one JSON object per line, for log shippers
};

// Configures the process-wide spdlog default logger (stderr). Called once at start-up
// from main and again on reload; safe from any thread.
void setup_logging(LogFormat format, const std::string& level);

// Escapes a string for embedding inside a JSON string literal in log lines.
std::string json_escape(const std::string& s);

}  // namespace pgwarden::common
