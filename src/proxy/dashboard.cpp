#include "proxy/server.hpp"

namespace pgwarden::proxy {

void Server::add_dashboard() {}

}  // namespace pgwarden::proxy
