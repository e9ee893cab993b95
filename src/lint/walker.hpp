#pragma once

#include "common/result.hpp"

#include <string>
#include <vector>

namespace pgwarden::lint {

struct WalkOptions {
    bool include_tests = false;   // also *_test.go files found in directories
    bool include_vendor = false;  // also descend into vendor/ and testdata/
};

// The Go files of one directory: rules see a package's imports as a whole.
struct Package {
    std::string dir;
    std::vector<std::string> files;  // sorted
};

// Expands command-line paths the way Go tools do: `./...` and `dir/...` walk a tree (skipping
// vendor/, testdata/ and directories starting with `.` or `_`), a directory means its own
// .go files, a file means itself (even a _test.go file). A path that does not exist is an
// error with code "usage".
common::Result<std::vector<Package>> expand_paths(const std::vector<std::string>& args,
                                                  const WalkOptions& options);

}  // namespace pgwarden::lint
