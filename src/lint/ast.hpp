#pragma once

#include "lint/token.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace pgwarden::lint {

// Bump allocator for AST nodes. Nodes are trivially destructible, so freeing the arena
// frees the whole tree at once; one file's tree lives exactly as long as its Arena.
class Arena {
public:
    Arena() = default;
    Arena(const Arena&) = delete;
    Arena& operator=(const Arena&) = delete;
    Arena(Arena&&) = default;
    Arena& operator=(Arena&&) = default;

    // `align` must be a power of two. The fast path is inline: the parser allocates a node
    // for nearly every token.
    void* allocate(std::size_t size, std::size_t align) {
        auto addr = reinterpret_cast<std::uintptr_t>(cur_);
        std::size_t pad = (0 - addr) & (align - 1);
        if (cur_ != nullptr && pad + size <= left_) {
            std::byte* p = cur_ + pad;
            cur_ = p + size;
            left_ -= pad + size;
            return p;
        }
        return allocate_slow(size, align);
    }

    template <typename T>
    T* make() {
        return new (allocate(sizeof(T), alignof(T))) T{};
    }

private:
    void* allocate_slow(std::size_t size, std::size_t align);

    std::vector<std::unique_ptr<std::byte[]>> blocks_;
    std::byte* cur_ = nullptr;
    std::size_t left_ = 0;
};

struct Node;

// An arena-owned array of child pointers.
struct NodeList {
    Node** items = nullptr;
    std::uint32_t size = 0;

    Node** begin() const { return items; }
    Node** end() const { return items + size; }
    bool empty() const { return size == 0; }
    Node* operator[](std::uint32_t i) const { return items[i]; }
};

// Node kinds, with the fields each one uses (fields not listed are null/empty).
enum class NodeKind : std::uint8_t {
    // Expressions.
    Bad,           // unparsable expression or statement
    Ident,         // text = name
    BasicLit,      // tok = literal kind, text = spelling
    CompositeLit,  // x = type (null when elided), list = elements
    FuncLit,       // x = FuncType, y = body Block
    Paren,         // x
    Selector,      // x . text
    Index,         // x [ list ]  (several indices: generic instantiation)
    Slice,         // x [ y : z : w ]
    TypeAssert,    // x . ( y ); y null for .(type)
    Call,          // x ( list ), flag = has trailing ...
    Star,          // * x  (dereference or pointer type)
    Unary,         // tok x
    Binary,        // x tok y
    KeyValue,      // x : y
    // Types.
    ArrayType,      // [ x ] y; x null for a slice, Ellipsis node for [...]
    StructType,     // list = Fields
    FuncType,       // list = params (Fields), list2 = results (Fields)
    InterfaceType,  // list = Fields (methods and embedded types)
    MapType,        // map [ x ] y
    ChanType,       // tok = Arrow for <-chan, Chan for chan<-, else Chan/Eof; x = element
    Ellipsis,       // ... x
    Field,          // list = names (Idents), x = type, y = tag
    // Statements.
    DeclStmt,  // x = GenDecl
    EmptyStmt,
    LabeledStmt,     // text = label, x = statement
    ExprStmt,        // x
    SendStmt,        // x <- y
    IncDecStmt,      // x tok
    AssignStmt,      // list = lhs, tok = = := += ..., list2 = rhs
    GoStmt,          // x = call
    DeferStmt,       // x = call
    ReturnStmt,      // list = results
    BranchStmt,      // tok = Break/Continue/Goto/Fallthrough, text = label
    BlockStmt,       // list = statements
    IfStmt,          // x = init, y = cond, z = then Block, w = else (IfStmt or Block)
    CaseClause,      // list = expressions (empty for default), list2 = body, flag = default
    SwitchStmt,      // x = init, y = tag, z = body Block of CaseClauses
    TypeSwitchStmt,  // x = init, y = AssignStmt or ExprStmt holding x.(type), z = body
    CommClause,      // x = send/receive statement (null for default), list2 = body
    SelectStmt,      // z = body Block of CommClauses
    ForStmt,         // x = init, y = cond, z = post, w = body
    RangeStmt,       // x = key, y = value, tok = Define/Assign/Eof, z = range expr, w = body
    // Declarations.
    GenDecl,     // tok = Import/Const/Type/Var, list = specs
    ImportSpec,  // text = local name ("" when none), y = path BasicLit
    ValueSpec,   // list = names, x = type, list2 = values
    TypeSpec,    // text = name, x = type, list = type parameters
    FuncDecl,    // text = name, x = receiver Field list holder (FuncType), y = FuncType,
                 // z = body Block (null for external functions)
    File,        // text = package name, list = declarations
};

// One AST node. A single struct for all kinds keeps allocation and traversal cheap; the
// enum above documents which fields each kind uses.
struct Node {
    NodeKind kind = NodeKind::Bad;
    TokenKind tok = TokenKind::Eof;
    bool flag = false;
    std::uint32_t pos = 0;  // byte offset of the node's first token
    std::uint32_t end = 0;  // byte offset just past the node's last token (statements)
    std::string_view text;
    Node* x = nullptr;
    Node* y = nullptr;
    Node* z = nullptr;
    Node* w = nullptr;
    NodeList list;
    NodeList list2;
};

// Unwraps parentheses: ((x)) -> x.
inline const Node* unparen(const Node* n) {
    while (n != nullptr && n->kind == NodeKind::Paren) {
        n = n->x;
    }
    return n;
}

inline bool is_ident(const Node* n, std::string_view name) {
    return n != nullptr && n->kind == NodeKind::Ident && n->text == name;
}

// Calls `fn(node)` on every node of the subtree in source order, parent first; `fn` returns
// false to skip the node's children.
template <typename Fn>
void walk(const Node* n, Fn&& fn) {
    if (n == nullptr || !fn(n)) {
        return;
    }
    walk(n->x, fn);
    for (const Node* c : n->list) {
        walk(c, fn);
    }
    walk(n->y, fn);
    walk(n->z, fn);
    walk(n->w, fn);
    for (const Node* c : n->list2) {
        walk(c, fn);
    }
}

}  // namespace pgwarden::lint
