#include "lint/walker.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <system_error>

namespace pgwarden::lint {

namespace fs = std::filesystem;

namespace {

bool wanted_file(const fs::path& p, const WalkOptions& options) {
    std::string name = p.filename().string();
    if (p.extension() != ".go" || name.starts_with(".") || name.starts_with("_")) {
        return false;
    }
    return options.include_tests || !name.ends_with("_test.go");
}

bool skipped_dir(const std::string& name, const WalkOptions& options) {
    if (name.starts_with(".") || name.starts_with("_")) {
        return name != "." && name != "..";
    }
    return !options.include_vendor && (name == "vendor" || name == "testdata");
}

std::string display(const fs::path& p) {
    std::string s = p.lexically_normal().generic_string();
    return s.empty() ? "." : s;
}

void add_dir_files(const fs::path& dir, const WalkOptions& options,
                   std::map<std::string, std::vector<std::string>>& by_dir) {
    std::error_code ec;
    fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
    if (ec) {
        return;
    }
    for (const auto& entry : it) {
        std::error_code fec;
        if (entry.is_regular_file(fec) && wanted_file(entry.path(), options)) {
            by_dir[display(dir)].push_back(display(entry.path()));
        }
    }
}

// Built with append: g++ 12 warns falsely (-Wrestrict) on `"literal" + std::string`.
std::string describe(std::string_view what, const std::string& arg) {
    std::string s(what);
    s.append(arg);
    return s;
}

}  // namespace

common::Result<std::vector<Package>> expand_paths(const std::vector<std::string>& args,
                                                  const WalkOptions& options) {
    std::map<std::string, std::vector<std::string>> by_dir;
    for (const std::string& arg : args) {
        std::string path = arg;
        bool recursive = false;
        if (path == "..." || path.ends_with("/...")) {
            recursive = true;
            if (path.size() <= 4) {
                path.clear();
                path.push_back('.');
            } else {
                path.resize(path.size() - 4);
            }
        }
        std::error_code ec;
        fs::file_status st = fs::status(path, ec);
        if (ec || !fs::exists(st)) {
            return common::make_error("usage", describe("no such file or directory: ", arg));
        }
        if (fs::is_regular_file(st)) {
            fs::path p(path);
            by_dir[display(p.parent_path().empty() ? fs::path(".") : p.parent_path())].push_back(
                display(p));
            continue;
        }
        if (!fs::is_directory(st)) {
            return common::make_error("usage", describe("not a file or directory: ", arg));
        }
        add_dir_files(path, options, by_dir);
        if (!recursive) {
            continue;
        }
        fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied,
                                            ec);
        fs::recursive_directory_iterator end;
        while (!ec && it != end) {
            std::error_code dec;
            if (it->is_directory(dec) && !it->is_symlink(dec)) {
                if (skipped_dir(it->path().filename().string(), options)) {
                    it.disable_recursion_pending();
                } else {
                    add_dir_files(it->path(), options, by_dir);
                }
            }
            it.increment(ec);
        }
    }
    std::vector<Package> out;
    for (auto& [dir, files] : by_dir) {
        std::sort(files.begin(), files.end());
        files.erase(std::unique(files.begin(), files.end()), files.end());
        out.push_back(Package{dir, std::move(files)});
    }
    return out;
}

}  // namespace pgwarden::lint
