#pragma once

#include <cstdint>
#include <string>

namespace pgwarden::lint {

// One reported problem, located like go vet does: file, 1-based line and byte column.
struct Finding {
    std::string path;
    std::uint32_t line = 0;
    std::uint32_t column = 0;
    std::string rule;
    std::string message;
    std::string function;     // the enclosing function: "(*Store).List", "List.func1"
    std::string fingerprint;  // stable across edits elsewhere in the file (see baseline.hpp)
};

}  // namespace pgwarden::lint
