#pragma once

namespace pgwarden::proxy {

// Why a client connection ended; logged and counted once per session.
enum class CloseReason {
    ClientTerminate,    // the client sent Terminate
    ClientGone,         // the client closed its socket or the connection broke
    CancelRequest,      // the connection only carried a CancelRequest
    LoginTimeout,       // no complete startup/authentication within client_login_timeout
    LoginFailed,        // wrong password, unknown user or database, refused by the server
    IdleTimeout,        // client_idle_timeout expired between transactions
    ProtocolError,      // malformed or oversize message from the client
    WaitTimeout,        // no server connection within query_wait_timeout
    ServerUnavailable,  // the server could not be reached or logged in to
    ServerGone,         // the server connection broke while in use
    TooManyClients,     // max_client_conn reached
    Shutdown,           // pgwarden is stopping
    StatementMode,      // a transaction block was opened in statement pooling mode
    ClassLimit,         // the workload class's max_client_conn reached
    LeakTerminated,     // a suspected leak ended by leak_action = terminate
};

// The reason's name in logs and in pgwarden_client_disconnects_total{reason}.
const char* to_string(CloseReason reason);

}  // namespace pgwarden::proxy
