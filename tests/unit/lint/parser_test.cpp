#include "lint/parser.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <string>

namespace pgwarden::lint {
namespace {

ParsedFile parse_ok(std::string_view src) {
    ParsedFile f = parse_file(src);
    EXPECT_TRUE(f.errors.empty()) << (f.errors.empty() ? "" : f.errors[0].message) << "\n" << src;
    return f;
}

// The body of the first function in `src` (wrapped in a package and func).
const Node* body_of(const ParsedFile& f) {
    for (const Node* d : f.file->list) {
        if (d->kind == NodeKind::FuncDecl) {
            return d->z;
        }
    }
    return nullptr;
}

// The parsed tree views its source text, so the wrapped source must outlive the test: it is
// kept for the whole process (a temporary here was a use-after-free that ASan caught).
std::string_view wrap(std::string_view stmts) {
    static std::deque<std::string> sources;
    sources.push_back("package p\nfunc f() {\n" + std::string(stmts) + "\n}\n");
    return sources.back();
}

TEST(Parser, PackageImportsAndDecls) {
    auto f = parse_ok(R"go(package p
import (
	"fmt"
	sq "database/sql"
	_ "github.com/lib/pq"
	. "strings"
)
const (
	A = iota
	B
)
var x, y int = 1, 2
type T struct {
	a, b int `json:"a"`
	*Embedded
	pkg.Other
	G[int]
	arr [4]byte
}
type I interface {
	M(x int) (int, error)
	fmt.Stringer
	~int | ~string
}
type List[T any] struct{ next *List[T] }
type Num interface{ ~int | ~float64 }
func Map[S ~[]E, E any, R any](s S, f func(E) R) []R { return nil }
func (l *List[T]) Push(v T) {}
func external(int) string
)go");
    EXPECT_EQ(f.file->text, "p");
    ASSERT_EQ(f.file->list.size, 10u);
    EXPECT_EQ(import_path(f.file->list[0]->list[1]), "database/sql");
    EXPECT_EQ(f.file->list[0]->list[1]->text, "sq");
    const Node* ext = f.file->list[9];
    EXPECT_EQ(ext->kind, NodeKind::FuncDecl);
    EXPECT_EQ(ext->z, nullptr);
}

TEST(Parser, IfElseWithInit) {
    auto f = parse_ok(wrap(R"go(
	if rows, err := db.Query(q); err != nil {
		return
	} else if x := 1; x > 0 {
	} else {
	}
	if v, ok := m[k]; ok {}
)go"));
    const Node* s = body_of(f)->list[0];
    ASSERT_EQ(s->kind, NodeKind::IfStmt);
    ASSERT_NE(s->x, nullptr);
    EXPECT_EQ(s->x->kind, NodeKind::AssignStmt);
    EXPECT_EQ(s->x->tok, TokenKind::Define);
    EXPECT_EQ(s->x->list.size, 2u);
    EXPECT_EQ(s->y->kind, NodeKind::Binary);
    ASSERT_NE(s->w, nullptr);
    EXPECT_EQ(s->w->kind, NodeKind::IfStmt);
    EXPECT_EQ(s->w->w->kind, NodeKind::BlockStmt);
}

TEST(Parser, CompositeLiteralsVersusBlocksInControlClauses) {
    auto f = parse_ok(wrap(R"go(
	if x == (T{}) {}
	if f(T{a: 1}) {}
	for _, v := range []T{{1}, {2}} { _ = v }
	if a.b.c {}
	switch s.kind {}
	for i := range x.items {}
	if v := (pkg.T{}); v.ok {}
)go"));
    const Node* b = body_of(f);
    ASSERT_EQ(b->list.size, 7u);
    EXPECT_EQ(b->list[2]->kind, NodeKind::RangeStmt);
    EXPECT_EQ(b->list[2]->z->kind, NodeKind::CompositeLit);
    EXPECT_EQ(b->list[3]->y->kind, NodeKind::Selector);
}

TEST(Parser, ForForms) {
    auto f = parse_ok(wrap(R"go(
	for {}
	for cond {}
	for i := 0; i < n; i++ {}
	for ;; {}
	for k, v := range m {}
	for k = range m {}
	for range ch {}
	for rows.Next() {}
)go"));
    const Node* b = body_of(f);
    ASSERT_EQ(b->list.size, 8u);
    EXPECT_EQ(b->list[0]->kind, NodeKind::ForStmt);
    EXPECT_EQ(b->list[0]->y, nullptr);
    EXPECT_EQ(b->list[2]->x->kind, NodeKind::AssignStmt);
    EXPECT_EQ(b->list[2]->z->kind, NodeKind::IncDecStmt);
    EXPECT_EQ(b->list[4]->kind, NodeKind::RangeStmt);
    EXPECT_EQ(b->list[4]->tok, TokenKind::Define);
    EXPECT_EQ(b->list[5]->tok, TokenKind::Assign);
    EXPECT_EQ(b->list[6]->x, nullptr);
    EXPECT_EQ(b->list[7]->y->kind, NodeKind::Call);
}

TEST(Parser, SwitchTypeSwitchSelect) {
    auto f = parse_ok(wrap(R"go(
	switch x := f(); x {
	case 1, 2:
		fallthrough
	case 3:
	default:
	}
	switch {
	case err != nil:
	}
	switch v := i.(type) {
	case *T, []int, map[string]int, func(), chan int, nil:
		_ = v
	}
	switch i.(type) {}
	select {
	case v, ok := <-ch:
		_, _ = v, ok
	case ch <- 1:
	case <-done:
		return
	default:
	}
)go"));
    const Node* b = body_of(f);
    ASSERT_EQ(b->list.size, 5u);
    EXPECT_EQ(b->list[0]->kind, NodeKind::SwitchStmt);
    EXPECT_EQ(b->list[0]->z->list.size, 3u);
    EXPECT_TRUE(b->list[0]->z->list[2]->flag);
    EXPECT_EQ(b->list[0]->z->list[0]->list2[0]->tok, TokenKind::Fallthrough);
    EXPECT_EQ(b->list[1]->y, nullptr);
    EXPECT_EQ(b->list[2]->kind, NodeKind::TypeSwitchStmt);
    EXPECT_EQ(b->list[2]->z->list[0]->list.size, 6u);
    EXPECT_EQ(b->list[3]->kind, NodeKind::TypeSwitchStmt);
    EXPECT_EQ(b->list[4]->kind, NodeKind::SelectStmt);
    EXPECT_EQ(b->list[4]->z->list.size, 4u);
    EXPECT_EQ(b->list[4]->z->list[1]->x->kind, NodeKind::SendStmt);
    EXPECT_EQ(b->list[4]->z->list[3]->x, nullptr);
}

TEST(Parser, DeferGoReturnLabelsClosures) {
    auto f = parse_ok(wrap(R"go(
	defer rows.Close()
	defer func() { _ = rows.Close() }()
	go worker(ctx, jobs)
outer:
	for {
		for {
			if done { break outer }
			continue outer
		}
	}
	goto end
end:
	fn := func(a, b int) (int, error) { return a + b, nil }
	x, err := fn(1, 2)
	return
)go"));
    const Node* b = body_of(f);
    EXPECT_EQ(b->list[0]->kind, NodeKind::DeferStmt);
    EXPECT_EQ(b->list[1]->x->x->kind, NodeKind::FuncLit);
    EXPECT_EQ(b->list[2]->kind, NodeKind::GoStmt);
    EXPECT_EQ(b->list[3]->kind, NodeKind::LabeledStmt);
    EXPECT_EQ(b->list[3]->text, "outer");
    EXPECT_EQ(b->list[3]->x->kind, NodeKind::ForStmt);
    EXPECT_EQ(b->list[4]->kind, NodeKind::BranchStmt);
    EXPECT_EQ(b->list[5]->kind, NodeKind::LabeledStmt);
    EXPECT_EQ(b->list[5]->x->kind, NodeKind::AssignStmt);
    EXPECT_EQ(b->list[5]->x->list2[0]->kind, NodeKind::FuncLit);
    EXPECT_EQ(b->list[6]->list.size, 2u);
    EXPECT_EQ(b->list[7]->kind, NodeKind::ReturnStmt);
}

TEST(Parser, ExpressionsAndChains) {
    auto f = parse_ok(wrap(R"go(
	rows, err := s.db.WithContext(ctx).QueryContext(ctx, q, args...)
	v := a + b*c - -d<<2 &^ e
	p := &T{A: 1, B: []int{1, 2}}
	q := m[k][1:2:3]
	t, ok := x.(*pkg.T)
	y := []byte("s")
	z := (*T)(nil)
	g := Map[int, string](xs, f)
	ch := make(<-chan int)
	<-ch
	x++
	c <- v
	*p = T{}
	a, b = b, a
	n += 1
	var (w int; u = 2)
	const k = 1
	type local struct{}
)go"));
    const Node* b = body_of(f);
    ASSERT_EQ(b->list.size, 18u);
    const Node* call = b->list[0]->list2[0];
    EXPECT_EQ(call->kind, NodeKind::Call);
    EXPECT_TRUE(call->flag);
    EXPECT_EQ(call->x->text, "QueryContext");
    // a + (b*c) - ((-d)<<2 &^ e): precedence climbing, left associative.
    const Node* v = b->list[1]->list2[0];
    EXPECT_EQ(v->tok, TokenKind::Sub);
    EXPECT_EQ(v->x->tok, TokenKind::Add);
    EXPECT_EQ(b->list[3]->list2[0]->kind, NodeKind::Slice);
    EXPECT_EQ(b->list[4]->list2[0]->kind, NodeKind::TypeAssert);
    EXPECT_EQ(b->list[9]->kind, NodeKind::ExprStmt);
    EXPECT_EQ(b->list[10]->kind, NodeKind::IncDecStmt);
    EXPECT_EQ(b->list[11]->kind, NodeKind::SendStmt);
    EXPECT_EQ(b->list[14]->tok, TokenKind::AddAssign);
    EXPECT_EQ(b->list[15]->kind, NodeKind::DeclStmt);
}

TEST(Parser, RecoversAtNextDeclaration) {
    ParsedFile f = parse_file(R"go(package p

func broken() {
	x := 
}

func good() {
	return
}
)go");
    ASSERT_FALSE(f.errors.empty());
    bool found = false;
    for (const Node* d : f.file->list) {
        found = found || (d->kind == NodeKind::FuncDecl && d->text == "good");
    }
    EXPECT_TRUE(found);
}

TEST(Parser, DeepNestingIsAnErrorNotACrash) {
    std::string src = "package p\nvar x = ";
    src += std::string(100000, '(');
    src += "1";
    src += std::string(100000, ')');
    ParsedFile f = parse_file(src);
    ASSERT_FALSE(f.errors.empty());
    EXPECT_NE(f.errors[0].message.find("nesting too deep"), std::string::npos);

    std::string blocks =
        "package p\nfunc f() {" + std::string(50000, '{') + std::string(50000, '}') + "}";
    EXPECT_FALSE(parse_file(blocks).errors.empty());

    std::string chain = "package p\nvar x = 1";
    for (int i = 0; i < 30000; ++i) {
        chain += "+1";
    }
    EXPECT_FALSE(parse_file(chain).errors.empty());
}

TEST(Parser, GarbageNeverHangs) {
    for (const char* src :
         {"", "package", "package p\nfunc", "package p\nfunc (", "}}}}", "package p\n)))",
          "package p\nfunc f() { for { if { switch { case", "package p\ntype T[",
          "package p\nvar x = []int{", "package p\nfunc f() { x.(", "\xff\xfe"}) {
        ParsedFile f = parse_file(src);
        EXPECT_NE(f.file, nullptr);
    }
}

}  // namespace
}  // namespace pgwarden::lint
