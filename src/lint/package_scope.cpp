#include "lint/package_scope.hpp"

namespace pgwarden::lint {

namespace {

bool is_version(std::string_view s) {
    if (s.size() < 2 || s[0] != 'v') {
        return false;
    }
    for (char c : s.substr(1)) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

}  // namespace

std::string_view default_import_name(std::string_view path) {
    std::size_t slash = path.rfind('/');
    std::string_view last = slash == std::string_view::npos ? path : path.substr(slash + 1);
    if (is_version(last) && slash != std::string_view::npos) {
        return default_import_name(path.substr(0, slash));
    }
    std::size_t dot = last.rfind('.');
    if (dot != std::string_view::npos && is_version(last.substr(dot + 1))) {
        last = last.substr(0, dot);  // gopkg.in/yaml.v3
    }
    return last;
}

std::vector<std::string_view> param_names(const Node* func_type, bool& variadic) {
    std::vector<std::string_view> out;
    variadic = false;
    if (func_type == nullptr) {
        return out;
    }
    for (const Node* f : func_type->list) {
        if (f->list.empty()) {
            out.emplace_back();
        }
        for (const Node* n : f->list) {
            out.push_back(n->text);
        }
        variadic = f->x != nullptr && f->x->kind == NodeKind::Ellipsis;
    }
    return out;
}

PackageScope::PackageScope(std::vector<PackageFile> files) : files_(std::move(files)) {
    for (const PackageFile& pf : files_) {
        for (const Node* decl : pf.parsed->file->list) {
            if (decl->kind == NodeKind::FuncDecl && decl->z != nullptr) {
                bool method = decl->x != nullptr && !decl->x->list.empty();
                (method ? methods_ : functions_)[decl->text].push_back(FuncRef{decl, &pf});
            } else if (decl->kind == NodeKind::GenDecl && decl->tok == TokenKind::Import) {
                for (const Node* spec : decl->list) {
                    std::string_view path = import_path(spec);
                    std::string_view name =
                        spec->text.empty() ? default_import_name(path) : spec->text;
                    imports_.push_back(Import{pf.parsed, name, path});
                }
            }
        }
    }
}

std::vector<FuncRef> PackageScope::lookup(std::string_view package, std::string_view name,
                                          bool method) const {
    std::vector<FuncRef> out;
    const auto& table = method ? methods_ : functions_;
    auto it = table.find(name);
    if (it == table.end()) {
        return out;
    }
    for (const FuncRef& f : it->second) {
        // foo and foo_test share a directory but not their functions.
        if (f.file->parsed->file->text == package) {
            out.push_back(f);
        }
    }
    return out;
}

bool PackageScope::is_import(const ParsedFile* file, std::string_view name,
                             std::string_view& path) const {
    for (const Import& i : imports_) {
        if (i.file == file && i.name == name) {
            path = i.path;
            return true;
        }
    }
    return false;
}

const PackageFile* PackageScope::file_of(const ParsedFile* parsed) const {
    for (const PackageFile& f : files_) {
        if (f.parsed == parsed) {
            return &f;
        }
    }
    return nullptr;
}

const RowsSummary* PackageScope::cached(const Node* decl, std::uint32_t param) const {
    auto it = summaries_.find({decl, param});
    return it == summaries_.end() ? nullptr : &it->second;
}

void PackageScope::store(const Node* decl, std::uint32_t param, const RowsSummary& s) {
    summaries_[{decl, param}] = s;
}

}  // namespace pgwarden::lint
