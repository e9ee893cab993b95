#pragma once

#include "lint/ast.hpp"
#include "lint/lexer.hpp"
#include "lint/parser.hpp"

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pgwarden::lint {

// One file of the package being analysed.
struct PackageFile {
    const ParsedFile* parsed = nullptr;
    const LineIndex* lines = nullptr;
    std::string_view path;
};

// A function declaration with a body, and where it lives.
struct FuncRef {
    const Node* decl = nullptr;  // NodeKind::FuncDecl
    const PackageFile* file = nullptr;
};

// What a function does with rows it receives as one of its parameters, judged over every
// path through its body.
enum class RowsFate : std::uint8_t {
    Never,       // never closed there: the caller still has to close them
    ClosesSome,  // closed on some paths, still open when the function leaves on another
    // Being summarised further up the stack (recursion): that path does what the function's
    // other paths do, so it neither closes nor leaks on its own.
    Pending,
    Closes,   // closed on every path
    HandsOn,  // returned, stored, captured or passed to code we cannot see: not judged
};

// How a path leaves a function with a resource still live.
enum class LeakExit : std::uint8_t { Return, Panic, End, Overwrite };

struct RowsSummary {
    RowsFate fate = RowsFate::HandsOn;
    // For Never and ClosesSome: the first path that leaves with the rows open.
    LeakExit exit = LeakExit::End;
    std::uint32_t line = 0;
    const PackageFile* file = nullptr;
    // ClosesSome because a helper it calls closes only on some paths: the innermost such
    // helper, whose path `exit`/`line`/`file` then describe.
    std::string via;
};

// The functions of one package (a directory's files sharing a package clause), so that a
// call can be followed into a helper whose body is in the analysed package. Summaries are
// computed on first use and cached: each (function, parameter) is analysed once.
class PackageScope {
public:
    explicit PackageScope(std::vector<PackageFile> files);
    PackageScope(const PackageScope&) = delete;
    PackageScope& operator=(const PackageScope&) = delete;

    // Package-level functions (`method` false) or methods named `name`, declared in files
    // whose package clause is `package`.
    std::vector<FuncRef> lookup(std::string_view package, std::string_view name, bool method) const;

    // True if `name` is the name under which `file` imports a package; `path` receives the
    // import path.
    bool is_import(const ParsedFile* file, std::string_view name, std::string_view& path) const;

    const PackageFile* file_of(const ParsedFile* parsed) const;

    // How many (function, parameter) summaries have been computed.
    std::size_t summaries() const { return summaries_.size(); }

    // The cached summary of `decl`'s parameter `param`; null when not computed yet.
    const RowsSummary* cached(const Node* decl, std::uint32_t param) const;
    // Records a summary; recording a placeholder first lets recursion find it.
    void store(const Node* decl, std::uint32_t param, const RowsSummary& s);

    // Summaries computed inside summaries nest on the stack; a chain deeper than
    // kMaxSummaryDepth is treated as opaque. enter() returns false at the limit.
    bool enter() {
        if (depth_ >= kMaxSummaryDepth) {
            return false;
        }
        ++depth_;
        return true;
    }
    void leave() { --depth_; }
    static constexpr int kMaxSummaryDepth = 16;

private:
    struct Import {
        const ParsedFile* file;
        std::string_view name;
        std::string_view path;
    };

    std::vector<PackageFile> files_;
    std::unordered_map<std::string_view, std::vector<FuncRef>> functions_;
    std::unordered_map<std::string_view, std::vector<FuncRef>> methods_;
    std::vector<Import> imports_;
    std::map<std::pair<const Node*, std::uint32_t>, RowsSummary> summaries_;
    int depth_ = 0;
};

// The name a package is referred to by when imported without a local name: the last path
// element, skipping a major-version suffix (`github.com/jackc/pgx/v5` -> `pgx`) and a
// `.vN` gopkg.in suffix.
std::string_view default_import_name(std::string_view path);

// The parameter names of a FuncType in order; unnamed parameters are "". `variadic` tells
// whether the last one is `...T`.
std::vector<std::string_view> param_names(const Node* func_type, bool& variadic);

}  // namespace pgwarden::lint
