#pragma once

#include "pool/server_conn.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

// Session parameters a client sets at startup or with SET at top level, which must follow
// the client from one server connection to the next in transaction pooling. Pure code.
namespace pgwarden::proxy {

// The parameters pgwarden carries across server connections.
const std::vector<std::string>& tracked_parameters();
bool is_tracked(std::string_view name);

// Returns the query that makes a server whose known values are `server` match `wanted`
// (empty when nothing differs). Values are quoted as SQL literals; an empty wanted value
// for search_path means the server default (RESET).
// `wanted_extra`/`server_extra` are the non-reported startup parameters; an extra the server
// has but the client does not want is RESET. Both server maps are updated to the values the
// query will establish.
std::string sync_query(const std::map<std::string, std::string>& wanted,
                       std::map<std::string, std::string>& server,
                       const std::map<std::string, std::string>& wanted_extra,
                       std::map<std::string, std::string>& server_extra);

// PostgreSQL 15 reports most tracked parameters with ParameterStatus but not search_path, so
// a top-level "SET [SESSION] search_path TO|= ..." is recognised from the query text.
// Returns true and the value text (as written, e.g. "public, app") when `query` is one;
// RESET search_path, RESET ALL and DISCARD ALL give an empty value (the server default).
bool parse_set_search_path(std::string_view query, std::string& value);

// The parameters a session wants on its server connection, shared by every session that
// wants the same ones. A server connection remembers the set it was last made to match, so a
// checkout by any session with that same set skips comparing the maps: with many clients and
// few servers, connections change hands every transaction between sessions whose parameters
// are all alike.
using pool::ParamSet;

// Hands out one shared ParamSet per distinct content among the recently seen ones. Consulted
// only when a session's parameters change (login, SET), never per transaction. Bounded: an
// evicted set stays valid for the sessions holding it; it is just no longer shared with
// newcomers, which costs a comparison, never correctness.
class ParamSetCache {
public:
    std::shared_ptr<const ParamSet> intern(ParamSet set);

private:
    static constexpr size_t kMaxSets = 64;
    std::mutex mu_;
    std::vector<std::shared_ptr<const ParamSet>> sets_;  // most recently used last
};

// Quotes `value` as an SQL escape-string literal (E'...'), safe whatever
// standard_conforming_strings is.
std::string quote_literal(std::string_view value);

}  // namespace pgwarden::proxy
