#include "proxy/admin_result.hpp"

#include "pgwire/message_writer.hpp"
#include "pgwire/messages.hpp"

namespace pgwarden::proxy {

void ResultSet::encode(std::string& out, std::string_view tag) const {
    pgwire::MessageWriter w(out);
    w.begin('T').int16(static_cast<int16_t>(columns_.size()));
    for (const auto& c : columns_) {
        const bool int8 = c.type == ColumnType::Int8;
        // table oid, attnum, type oid, typlen, typmod, text format (protocol section 55.7)
        w.cstring(c.name).int32(0).int16(0).int32(int8 ? 20 : 25).int16(int8 ? 8 : -1);
        w.int32(-1).int16(0);
    }
    w.end();
    for (const auto& r : rows_) {
        pgwire::encode_data_row(out, r);
    }
    pgwire::encode_command_complete(out, tag);
}

void encode_admin_error(std::string& out, const char* code, std::string_view message) {
    pgwire::encode_error(out, code, message, {}, "ERROR");
}

}  // namespace pgwarden::proxy
