#include "observe/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <variant>

namespace pgwarden::observe {

namespace {

// Registration mistakes are programming bugs: fail loudly at start-up, never limp on.
[[noreturn]] void fatal(const std::string& message) {
    std::fprintf(stderr, "pgwarden observe: %s\n", message.c_str());
    std::abort();
}

bool is_name_start(char c, bool colon_ok) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':');
}

bool is_name_char(char c, bool colon_ok) {
    return is_name_start(c, colon_ok) || (c >= '0' && c <= '9');
}

bool valid_name(std::string_view name, bool colon_ok) {
    if (name.empty() || !is_name_start(name[0], colon_ok)) {
        return false;
    }
    return std::all_of(name.begin() + 1, name.end(),
                       [colon_ok](char c) { return is_name_char(c, colon_ok); });
}

void append_labels_block(std::string& out, const std::string& labels, std::string_view extra) {
    if (labels.empty() && extra.empty()) {
        return;
    }
    out += '{';
    out += labels;
    if (!extra.empty()) {
        if (!labels.empty()) {
            out += ',';
        }
        out += extra;
    }
    out += '}';
}

void append_family_header(std::string& out, std::string_view name, MetricType type,
                          std::string_view help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    append_help(out, help);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type_name(type);
    out += '\n';
}

// Batches sample lines in a stack buffer and appends them to the output in large pieces:
// per-line std::string appends (a capacity check and a call per piece) were most of the cost
// of rendering the twenty thousand lines of a 100-pool scrape.
class LineBuffer {
public:
    explicit LineBuffer(std::string& out) : out_(out) {}
    ~LineBuffer() { flush(); }
    LineBuffer(const LineBuffer&) = delete;
    LineBuffer& operator=(const LineBuffer&) = delete;

    // One `prefix value\n` line.
    template <typename V>
    void line(const std::string& prefix, V value) {
        if (prefix.size() + kMaxValue + 1 > kSize - used_) {
            flush();
            if (prefix.size() + kMaxValue + 1 > kSize) {
                out_ += prefix;
                append_value(out_, value);
                out_ += '\n';
                return;
            }
        }
        std::memcpy(buf_ + used_, prefix.data(), prefix.size());
        used_ += prefix.size();
        used_ = static_cast<size_t>(write_value(buf_ + used_, value) - buf_);
        buf_[used_++] = '\n';
    }

    void flush() {
        out_.append(buf_, used_);
        used_ = 0;
    }

private:
    static constexpr size_t kSize = 16 * 1024;
    static constexpr size_t kMaxValue = 32;  // longest rendering of a double or uint64

    static char* write_value(char* p, uint64_t v) {
        fmt::format_int f(v);
        std::memcpy(p, f.data(), f.size());
        return p + f.size();
    }
    static char* write_value(char* p, double v) {
        if (std::isnan(v) || std::isinf(v) ||
            !(v == std::floor(v) && std::fabs(v) < 9007199254740992.0)) {
            std::string tmp;
            append_value(tmp, v);
            std::memcpy(p, tmp.data(), tmp.size());
            return p + tmp.size();
        }
        fmt::format_int f(static_cast<int64_t>(v));
        std::memcpy(p, f.data(), f.size());
        return p + f.size();
    }

    std::string& out_;
    char buf_[kSize];
    size_t used_ = 0;
};

std::string le_label(double bound) {
    std::string out = "le=\"";
    append_value(out, bound);
    out += '"';
    return out;
}

}  // namespace

std::string_view type_name(MetricType type) {
    switch (type) {
    case MetricType::Counter:
        return "counter";
    case MetricType::Gauge:
        return "gauge";
    case MetricType::Histogram:
        return "histogram";
    }
    return "untyped";
}

bool valid_metric_name(std::string_view name) {
    return valid_name(name, true);
}

bool valid_label_name(std::string_view name) {
    return valid_name(name, false) && name.substr(0, 2) != "__";
}

void append_label_value(std::string& out, std::string_view value) {
    for (char c : value) {
        switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case '"':
            out += "\\\"";
            break;
        case '\n':
            out += "\\n";
            break;
        default:
            out += c;
        }
    }
}

void append_help(std::string& out, std::string_view help) {
    for (char c : help) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

void append_value(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "NaN";
        return;
    }
    if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
        return;
    }
    // Integral values (counts, sizes) are the common case and print fastest as integers.
    if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
        fmt::format_int f(static_cast<int64_t>(value));
        out.append(f.data(), f.size());
        return;
    }
    fmt::format_to(std::back_inserter(out), "{}", value);
}

void append_value(std::string& out, uint64_t value) {
    fmt::format_int f(value);
    out.append(f.data(), f.size());
}

LabelSet::LabelSet(std::initializer_list<std::pair<std::string_view, std::string_view>> labels) {
    for (const auto& [name, value] : labels) {
        add(name, value);
    }
}

LabelSet LabelSet::with(std::string_view name, std::string_view value) const {
    LabelSet copy = *this;
    copy.add(name, value);
    return copy;
}

void LabelSet::add(std::string_view name, std::string_view value) {
    if (!valid_label_name(name)) {
        fatal(fmt::format("invalid label name '{}'", name));
    }
    if (!text_.empty()) {
        text_ += ',';
    }
    text_ += name;
    text_ += "=\"";
    append_label_value(text_, value);
    text_ += '"';
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
    if (bounds_.size() > kMaxBounds) {
        fatal("too many histogram buckets");
    }
    for (size_t i = 0; i < bounds_.size(); ++i) {
        if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
            fatal("histogram bounds must be finite and strictly increasing");
        }
    }
    for (size_t i = 0; i <= bounds_.size(); ++i) {
        counts_[i].store(0, std::memory_order_relaxed);
    }
}

void Histogram::observe(double value) noexcept {
    // le is inclusive: a value equal to a bound belongs to that bound's bucket.
    auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
    auto index = static_cast<size_t>(it - bounds_.begin());
    counts_[index].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
}

HistogramSnapshot Histogram::snapshot() const {
    HistogramSnapshot snap;
    snap.cumulative.resize(bounds_.size() + 1);
    uint64_t running = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
        running += counts_[i].load(std::memory_order_relaxed);
        snap.cumulative[i] = running;
    }
    snap.count = running;
    snap.sum = sum_.load(std::memory_order_relaxed);
    return snap;
}

double Histogram::cumulative(uint64_t* out) const {
    uint64_t running = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
        running += counts_[i].load(std::memory_order_relaxed);
        out[i] = running;
    }
    return sum_.load(std::memory_order_relaxed);
}

std::vector<double> duration_buckets() {
    // Fifteen bounds: each is a line per series per scrape, and 300 classes x 3 histograms
    // make these lines most of a scrape's bytes and time.
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

// Each series caches its full line prefixes (`name{labels} `), so rendering a series is a
// copy of those bytes plus the number: this is what keeps a 100-pool scrape under 1 ms.
template <typename T>
struct Family<T>::Series {
    std::unique_ptr<T> metric;
    std::string prefix;                      // counter, gauge
    std::vector<std::string> bucket_prefix;  // histogram: per bound, then +Inf
    std::string sum_prefix;
    std::string count_prefix;
};

template <typename T>
Family<T>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {
    if (!valid_metric_name(name_)) {
        fatal(fmt::format("invalid metric name '{}'", name_));
    }
    for (const auto& label : label_names_) {
        if (!valid_label_name(label) || (type() == MetricType::Histogram && label == "le")) {
            fatal(fmt::format("invalid label name '{}' in {}", label, name_));
        }
    }
}

template <typename T>
Family<T>::~Family() = default;

template <typename T>
MetricType Family<T>::type() const {
    if constexpr (std::is_same_v<T, Counter>) {
        return MetricType::Counter;
    } else if constexpr (std::is_same_v<T, Gauge>) {
        return MetricType::Gauge;
    } else {
        return MetricType::Histogram;
    }
}

template <typename T>
T& Family<T>::with(std::initializer_list<std::string_view> values) {
    return with_range(values.begin(), values.size());
}

template <typename T>
T& Family<T>::with(const std::vector<std::string>& values) {
    std::vector<std::string_view> views(values.begin(), values.end());
    return with_range(views.data(), views.size());
}

template <typename T>
T& Family<T>::with_range(const std::string_view* values, size_t count) {
    if (count != label_names_.size()) {
        fatal(fmt::format("{} takes {} label values, got {}", name_, label_names_.size(), count));
    }
    // Length-prefixed so that no two value lists share a key whatever bytes they hold.
    std::string key;
    for (size_t i = 0; i < count; ++i) {
        key += std::to_string(values[i].size());
        key += ':';
        key += values[i];
    }
    std::lock_guard lock(mu_);
    if (auto it = by_key_.find(key); it != by_key_.end()) {
        return *it->second->metric;
    }
    auto series = std::make_unique<Series>();
    LabelSet labels;
    for (size_t i = 0; i < count; ++i) {
        labels.add(label_names_[i], values[i]);
    }
    auto line = [&](std::string_view suffix, std::string_view extra) {
        std::string out = name_;
        out += suffix;
        append_labels_block(out, labels.text(), extra);
        out += ' ';
        return out;
    };
    if constexpr (std::is_same_v<T, Histogram>) {
        series->metric = std::make_unique<Histogram>(bounds_);
        for (double bound : bounds_) {
            series->bucket_prefix.push_back(line("_bucket", le_label(bound)));
        }
        series->bucket_prefix.push_back(line("_bucket", "le=\"+Inf\""));
        series->sum_prefix = line("_sum", "");
        series->count_prefix = line("_count", "");
    } else {
        series->metric = std::make_unique<T>();
        series->prefix = line("", "");
    }
    T& metric = *series->metric;
    ordered_.push_back(series.get());
    by_key_.emplace(std::move(key), std::move(series));
    return metric;
}

template <typename T>
void Family<T>::write(std::string& body) const {
    // Straight into the output: a second copy of the histogram lines (most of a scrape's
    // bytes) was a third of the scrape time.
    append_family_header(body, name_, type(), help_);
    std::lock_guard lock(mu_);
    LineBuffer lines(body);
    for (const Series* s : ordered_) {
        if constexpr (std::is_same_v<T, Histogram>) {
            uint64_t cumulative[Histogram::kMaxBounds + 1];
            double sum = s->metric->cumulative(cumulative);
            const size_t n = s->bucket_prefix.size();
            for (size_t i = 0; i < n; ++i) {
                lines.line(s->bucket_prefix[i], cumulative[i]);
            }
            lines.line(s->sum_prefix, sum);
            lines.line(s->count_prefix, cumulative[n - 1]);
        } else {
            lines.line(s->prefix, s->metric->value());
        }
    }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

FamilyWriter::FamilyWriter(std::string name, MetricType type, std::string help)
    : name_(std::move(name)), type_(type), help_(std::move(help)) {
    if (!valid_metric_name(name_)) {
        fatal(fmt::format("invalid metric name '{}'", name_));
    }
}

void FamilyWriter::begin_line(std::string_view suffix, const LabelSet& labels) {
    body_ += name_;
    body_ += suffix;
    append_labels_block(body_, labels.text(), {});
    body_ += ' ';
}

void FamilyWriter::sample(const LabelSet& labels, double value) {
    begin_line({}, labels);
    append_value(body_, value);
    body_ += '\n';
}

void FamilyWriter::sample(const LabelSet& labels, std::string_view name, std::string_view value,
                          double v) {
    if (!valid_label_name(name)) {
        fatal(fmt::format("invalid label name '{}'", name));
    }
    body_ += name_;
    body_ += '{';
    if (!labels.empty()) {
        body_ += labels.text();
        body_ += ',';
    }
    body_ += name;
    body_ += "=\"";
    append_label_value(body_, value);
    body_ += "\"} ";
    append_value(body_, v);
    body_ += '\n';
}

void FamilyWriter::histogram(const LabelSet& labels, const std::vector<double>& bounds,
                             const HistogramSnapshot& snapshot) {
    for (size_t i = 0; i <= bounds.size() && i < snapshot.cumulative.size(); ++i) {
        body_ += name_;
        body_ += "_bucket{";
        if (!labels.empty()) {
            body_ += labels.text();
            body_ += ',';
        }
        body_ += "le=\"";
        if (i < bounds.size()) {
            append_value(body_, bounds[i]);
        } else {
            body_ += "+Inf";
        }
        body_ += "\"} ";
        append_value(body_, snapshot.cumulative[i]);
        body_ += '\n';
    }
    begin_line("_sum", labels);
    append_value(body_, snapshot.sum);
    body_ += '\n';
    begin_line("_count", labels);
    append_value(body_, snapshot.count);
    body_ += '\n';
}

FamilyWriter& ScrapeBuilder::family(std::string_view name, MetricType type, std::string_view help) {
    if (auto it = index_.find(name); it != index_.end()) {
        if (it->second == kReserved) {
            fatal(fmt::format("collector emits {}, a registry family", name));
        }
        FamilyWriter& existing = *families_[it->second];
        if (existing.type() != type) {
            fatal(fmt::format("metric {} emitted as both {} and {}", name,
                              type_name(existing.type()), type_name(type)));
        }
        return existing;
    }
    families_.push_back(std::make_unique<FamilyWriter>(std::string(name), type, std::string(help)));
    FamilyWriter& writer = *families_.back();
    index_.emplace(writer.name(), families_.size() - 1);
    return writer;
}

void ScrapeBuilder::reserve(std::string_view name) {
    index_.emplace(name, kReserved);
}

void ScrapeBuilder::clear() {
    for (auto& f : families_) {
        f->body_.clear();
    }
}

void ScrapeBuilder::finish(std::string& out) const {
    size_t total = out.size();
    for (const auto& f : families_) {
        total += f->name_.size() * 2 + f->help_.size() + f->body_.size() + 32;
    }
    out.reserve(total);
    for (const auto& f : families_) {
        append_family_header(out, f->name_, f->type_, f->help_);
        out += f->body_;
    }
}

std::string ScrapeBuilder::finish() const {
    std::string out;
    finish(out);
    return out;
}

struct Registry::Entry {
    std::variant<std::unique_ptr<CounterFamily>, std::unique_ptr<GaugeFamily>,
                 std::unique_ptr<HistogramFamily>>
        family;
    const std::string& name() const {
        return std::visit([](const auto& f) -> const std::string& { return f->name(); }, family);
    }
    void write(std::string& out) const {
        std::visit([&out](const auto& f) { f->write(out); }, family);
    }
};

namespace {

template <typename F, typename Entries>
F& find_or_add(Entries& entries, std::string name, std::string help,
               std::vector<std::string> labels, std::vector<double> bounds) {
    for (auto& e : entries) {
        if (e->name() == name) {
            auto* existing = std::get_if<std::unique_ptr<F>>(&e->family);
            if (existing == nullptr) {
                fatal(fmt::format("metric {} registered twice with different types", name));
            }
            return **existing;
        }
    }
    auto family =
        std::make_unique<F>(std::move(name), std::move(help), std::move(labels), std::move(bounds));
    F& ref = *family;
    entries.push_back(std::make_unique<typename Entries::value_type::element_type>());
    entries.back()->family = std::move(family);
    return ref;
}

}  // namespace

Registry::Registry() = default;
Registry::~Registry() = default;

CounterFamily& Registry::counter(std::string name, std::string help,
                                 std::vector<std::string> label_names) {
    std::lock_guard lock(mu_);
    return find_or_add<CounterFamily>(families_, std::move(name), std::move(help),
                                      std::move(label_names), {});
}

GaugeFamily& Registry::gauge(std::string name, std::string help,
                             std::vector<std::string> label_names) {
    std::lock_guard lock(mu_);
    return find_or_add<GaugeFamily>(families_, std::move(name), std::move(help),
                                    std::move(label_names), {});
}

HistogramFamily& Registry::histogram(std::string name, std::string help,
                                     std::vector<std::string> label_names,
                                     std::vector<double> bounds) {
    std::lock_guard lock(mu_);
    return find_or_add<HistogramFamily>(families_, std::move(name), std::move(help),
                                        std::move(label_names), std::move(bounds));
}

void Registry::add_collector(Collector collector) {
    std::lock_guard lock(mu_);
    collectors_.push_back(std::move(collector));
}

void Registry::render(std::string& out) const {
    std::lock_guard scratch_lock(scratch_mu_);
    ScrapeBuilder& builder = scratch_;
    builder.clear();
    std::vector<Collector> collectors;
    {
        std::lock_guard lock(mu_);
        for (const auto& e : families_) {
            e->write(out);
            builder.reserve(e->name());
        }
        collectors = collectors_;
    }
    // Collectors run without the registry lock: they may take other locks (the pool
    // manager's) and must not be able to deadlock against a concurrent registration.
    for (const auto& c : collectors) {
        c(builder);
    }
    builder.finish(out);
}

std::string Registry::render() const {
    std::string out;
    render(out);
    return out;
}

namespace {

struct ParsedSample {
    std::string name;
    std::vector<std::pair<std::string, std::string>> labels;
    double value = 0;
};

common::Status fail(size_t line_no, const std::string& message) {
    return common::make_error("exposition", fmt::format("line {}: {}", line_no, message));
}

bool parse_value(std::string_view text, double& out) {
    if (text == "+Inf" || text == "Inf") {
        out = INFINITY;
        return true;
    }
    if (text == "-Inf") {
        out = -INFINITY;
        return true;
    }
    if (text == "NaN") {
        out = NAN;
        return true;
    }
    std::string copy(text);
    char* end = nullptr;
    out = std::strtod(copy.c_str(), &end);
    return !copy.empty() && end == copy.c_str() + copy.size();
}

// Parses `name{a="x",b="y"} value [timestamp]`; returns an error message or "".
std::string parse_sample(std::string_view line, ParsedSample& s) {
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') {
        ++i;
    }
    s.name = std::string(line.substr(0, i));
    if (!valid_metric_name(s.name)) {
        return "invalid metric name '" + s.name + "'";
    }
    if (i < line.size() && line[i] == '{') {
        ++i;
        while (i < line.size() && line[i] != '}') {
            size_t start = i;
            while (i < line.size() && line[i] != '=') {
                ++i;
            }
            std::string label(line.substr(start, i - start));
            if (!valid_label_name(label)) {
                return "invalid label name '" + label + "'";
            }
            if (i + 1 >= line.size() || line[i + 1] != '"') {
                return "label value must be quoted";
            }
            i += 2;
            std::string value;
            bool closed = false;
            while (i < line.size()) {
                char c = line[i++];
                if (c == '"') {
                    closed = true;
                    break;
                }
                if (c == '\\') {
                    if (i >= line.size()) {
                        return "dangling escape";
                    }
                    char e = line[i++];
                    if (e == 'n') {
                        value += '\n';
                    } else if (e == '\\' || e == '"') {
                        value += e;
                    } else {
                        return "invalid escape in label value";
                    }
                } else if (c == '\n') {
                    return "raw newline in label value";
                } else {
                    value += c;
                }
            }
            if (!closed) {
                return "unterminated label value";
            }
            for (const auto& [n, v] : s.labels) {
                if (n == label) {
                    return "label '" + label + "' repeated";
                }
            }
            s.labels.emplace_back(std::move(label), std::move(value));
            if (i < line.size() && line[i] == ',') {
                ++i;
            }
        }
        if (i >= line.size()) {
            return "unterminated label set";
        }
        ++i;
    }
    if (i >= line.size() || line[i] != ' ') {
        return "missing value";
    }
    std::string_view rest = line.substr(i + 1);
    auto space = rest.find(' ');
    if (!parse_value(rest.substr(0, space), s.value)) {
        return "invalid value '" + std::string(rest.substr(0, space)) + "'";
    }
    return {};
}

struct FamilyInfo {
    std::string type;
    bool help = false;
    bool has_samples = false;
    bool closed = false;
};

struct HistogramSeries {
    std::vector<std::pair<double, double>> buckets;  // (le, cumulative)
    bool has_count = false;
    double count = 0;
    bool has_sum = false;
};

std::string strip_suffix(const std::string& name, std::string_view suffix) {
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return name.substr(0, name.size() - suffix.size());
    }
    return {};
}

}  // namespace

common::Status check_exposition(std::string_view text) {
    std::map<std::string, FamilyInfo> families;
    std::set<std::string> series_seen;
    std::map<std::string, HistogramSeries> histograms;  // family + labels without le
    std::string current;
    size_t line_no = 0;
    size_t pos = 0;
    if (!text.empty() && text.back() != '\n') {
        return common::make_error("exposition", "output must end with a newline");
    }
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (line.empty()) {
            continue;
        }
        if (line[0] == '#') {
            bool is_help = line.rfind("# HELP ", 0) == 0;
            bool is_type = line.rfind("# TYPE ", 0) == 0;
            if (!is_help && !is_type) {
                continue;
            }
            std::string_view rest = line.substr(7);
            auto space = rest.find(' ');
            std::string name(rest.substr(0, space));
            std::string arg =
                space == std::string_view::npos ? "" : std::string(rest.substr(space + 1));
            if (!valid_metric_name(name)) {
                return fail(line_no, "invalid metric name '" + name + "'");
            }
            FamilyInfo& f = families[name];
            if (f.has_samples) {
                return fail(line_no, "HELP/TYPE for " + name + " after its samples");
            }
            if (is_help) {
                if (f.help) {
                    return fail(line_no, "second HELP for " + name);
                }
                f.help = true;
            } else {
                if (!f.type.empty()) {
                    return fail(line_no, "second TYPE for " + name);
                }
                if (arg != "counter" && arg != "gauge" && arg != "histogram" && arg != "summary" &&
                    arg != "untyped") {
                    return fail(line_no, "unknown type '" + arg + "'");
                }
                if (arg == "counter" && strip_suffix(name, "_total").empty()) {
                    return fail(line_no, "counter " + name + " should end in _total");
                }
                f.type = arg;
            }
            continue;
        }
        ParsedSample s;
        if (auto err = parse_sample(line, s); !err.empty()) {
            return fail(line_no, err);
        }
        std::string family = s.name;
        std::string suffix;
        for (std::string_view sfx : {"_bucket", "_sum", "_count"}) {
            std::string base = strip_suffix(s.name, sfx);
            if (!base.empty()) {
                auto it = families.find(base);
                if (it != families.end() && it->second.type == "histogram") {
                    family = base;
                    suffix = std::string(sfx);
                    break;
                }
            }
        }
        FamilyInfo& f = families[family];
        if (f.type == "histogram" && suffix.empty()) {
            return fail(line_no, "histogram sample without _bucket/_sum/_count");
        }
        if (family != current) {
            if (f.closed) {
                return fail(line_no, "samples of " + family + " are not contiguous");
            }
            if (!current.empty()) {
                families[current].closed = true;
            }
            current = family;
        }
        f.has_samples = true;
        auto sorted = s.labels;
        std::sort(sorted.begin(), sorted.end());
        std::string key = s.name;
        std::string key_without_le = family;
        for (const auto& [n, v] : sorted) {
            key += "\x1f" + n + "=" + v;
            if (n != "le") {
                key_without_le += "\x1f" + n + "=" + v;
            }
        }
        if (!series_seen.insert(key).second) {
            return fail(line_no, "duplicate series " + std::string(line));
        }
        if (f.type == "counter" && (s.value < 0 || std::isnan(s.value))) {
            return fail(line_no, "negative counter");
        }
        if (f.type == "histogram") {
            HistogramSeries& h = histograms[key_without_le];
            if (suffix == "_bucket") {
                auto le = std::find_if(s.labels.begin(), s.labels.end(),
                                       [](const auto& l) { return l.first == "le"; });
                double bound = 0;
                if (le == s.labels.end() || !parse_value(le->second, bound)) {
                    return fail(line_no, "bucket without a valid le label");
                }
                if (!h.buckets.empty() &&
                    (bound <= h.buckets.back().first || s.value < h.buckets.back().second)) {
                    return fail(line_no, "buckets not ascending or not cumulative");
                }
                if (h.has_count || h.has_sum) {
                    return fail(line_no, "bucket after _sum/_count");
                }
                h.buckets.emplace_back(bound, s.value);
            } else if (suffix == "_count") {
                h.has_count = true;
                h.count = s.value;
            } else {
                h.has_sum = true;
            }
        }
    }
    for (const auto& [key, h] : histograms) {
        if (h.buckets.empty() || !std::isinf(h.buckets.back().first)) {
            return common::make_error("exposition", "histogram " + key + " lacks le=\"+Inf\"");
        }
        if (!h.has_count || !h.has_sum) {
            return common::make_error("exposition", "histogram " + key + " lacks _sum/_count");
        }
        if (h.count != h.buckets.back().second) {
            return common::make_error("exposition", "histogram " + key + " _count != +Inf");
        }
    }
    for (const auto& [name, f] : families) {
        if (f.type.empty()) {
            return common::make_error("exposition", "family " + name + " has no TYPE");
        }
    }
    return common::ok_status();
}

}  // namespace pgwarden::observe
