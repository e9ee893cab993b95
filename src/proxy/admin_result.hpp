#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgwarden::proxy {

// Column types the admin console reports; clients (and pgbouncer exporters) read the OID.
enum class ColumnType {
    Text,  // text, OID 25
    Int8,  // bigint, OID 20: counts, bytes, microseconds
};

struct Column {
    std::string name;
    ColumnType type = ColumnType::Text;
};

// One admin console result: RowDescription, DataRows and CommandComplete ("SHOW").
class ResultSet {
public:
    explicit ResultSet(std::vector<Column> columns) : columns_(std::move(columns)) {}
    // `values` has one entry per column (nullopt: NULL).
    void row(std::vector<std::optional<std::string>> values) { rows_.push_back(std::move(values)); }
    const std::vector<Column>& columns() const { return columns_; }
    size_t size() const { return rows_.size(); }
    // Appends the protocol messages to `out`.
    void encode(std::string& out, std::string_view tag = "SHOW") const;

private:
    std::vector<Column> columns_;
    std::vector<std::vector<std::optional<std::string>>> rows_;
};

// Appends an ErrorResponse (severity ERROR: the console stays open).
void encode_admin_error(std::string& out, const char* code, std::string_view message);

}  // namespace pgwarden::proxy
