#pragma once

#include <map>
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

// Quotes `value` as an SQL escape-string literal (E'...'), safe whatever
// standard_conforming_strings is.
std::string quote_literal(std::string_view value);

}  // namespace pgwarden::proxy
