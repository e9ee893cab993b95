#pragma once

#include "common/result.hpp"
#include "lint/finding.hpp"
#include "lint/lexer.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace pgwarden::lint {

// A finding's identity that does not move with its line: a hash of the rule, the file, the
// enclosing function, the code on the finding's line with spacing and comments removed, and
// how many identical (rule, function, code) findings come before it in the file. Adding or
// removing lines elsewhere, reformatting, or editing other functions keeps it.
std::string fingerprint(std::string_view rule, std::string_view path, std::string_view function,
                        std::string_view code, std::size_t occurrence);

// The code of the line holding `offset`, without whitespace and without the comments (sorted
// by offset, as the lexer produces them) that lie on it.
std::string line_code(std::string_view source, std::uint32_t offset,
                      const std::vector<Comment>& comments);

// Findings already accepted: `--baseline FILE` hides them so that CI gates only new ones.
// An entry matches a finding with the same rule, function and fingerprint; each entry
// accepts one finding, so a second identical leak in the same place is still new.
class Baseline {
public:
    Baseline() = default;

    // Reads a baseline written by to_json(); a malformed document is an error with code
    // "baseline".
    static common::Result<Baseline> parse(std::string_view json);

    // The baseline accepting exactly `findings`, as a JSON document.
    static std::string to_json(const std::vector<Finding>& findings);

    // Removes the findings the baseline accepts; returns how many it removed.
    std::size_t filter(std::vector<Finding>& findings) const;

    std::size_t size() const { return size_; }

private:
    using Key = std::tuple<std::string, std::string, std::string>;  // rule, function, fingerprint
    std::map<Key, std::size_t> accepted_;
    std::size_t size_ = 0;
};

}  // namespace pgwarden::lint
