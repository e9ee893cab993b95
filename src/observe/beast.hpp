#pragma once

// The one place observe includes Boost.Beast, so its (slow to compile) headers stay out of the
// module's public headers: only the .cpp files that speak HTTP include this.
#include "net/asio.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace pgwarden::observe {

namespace beast = boost::beast;
namespace http = boost::beast::http;

}  // namespace pgwarden::observe
