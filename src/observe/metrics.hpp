#pragma once

#include "common/result.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

// A small Prometheus metrics registry and text-format (version 0.0.4) encoder.
//
// Two ways to produce samples:
//  - event metrics (Counter, Gauge, Histogram) live in families owned by the Registry; the hot
//    path keeps a reference to its series and updates it with one relaxed atomic operation;
//  - collectors are callbacks run at scrape time that turn a snapshot (PoolManager::stats(),
//    /proc/self) into samples, so state gauges cost nothing between scrapes.
// The exposition format: https://prometheus.io/docs/instrumenting/exposition_formats/
namespace pgwarden::observe {

enum class MetricType {
    Counter,    // monotonic; name ends in _total
    Gauge,      // goes up and down
    Histogram,  // cumulative buckets with le labels, plus _sum and _count
};

std::string_view type_name(MetricType type);

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, not reserved (__ prefix).
bool valid_label_name(std::string_view name);

// Appenders used by the encoder, public so tests pin the exact escaping rules.
// Label values escape backslash, double quote and newline.
void append_label_value(std::string& out, std::string_view value);
// HELP text escapes backslash and newline (quotes stay as they are).
void append_help(std::string& out, std::string_view help);
// Integers print exactly; NaN and infinities as NaN, +Inf, -Inf; other values in the shortest
// form that reads back to the same double.
void append_value(std::string& out, double value);
void append_value(std::string& out, uint64_t value);

// Label pairs rendered once into their escaped text form (`a="x",b="y"`, no braces), so a
// collector that reuses one pool's labels across twenty families escapes them only once.
class LabelSet {
public:
    LabelSet() = default;
    // Aborts on an invalid label name: label names are programmer constants.
    LabelSet(std::initializer_list<std::pair<std::string_view, std::string_view>> labels);

    // A copy with one more label appended.
    LabelSet with(std::string_view name, std::string_view value) const;
    void add(std::string_view name, std::string_view value);
    const std::string& text() const { return text_; }
    bool empty() const { return text_.empty(); }

private:
    std::string text_;
};

// A monotonic counter. Thread-safe, lock-free.
class Counter {
public:
    void inc(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> value_{0};
};

// A value that goes up and down. Thread-safe, lock-free.
class Gauge {
public:
    void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
    void add(double d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
    double value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0};
};

// Cumulative bucket counts of a histogram at one moment.
struct HistogramSnapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
};

// Fixed-bucket histogram. observe() is lock-free: one relaxed increment on the bucket and a
// relaxed add on the sum. A scrape concurrent with observe() may see a sum that lags the
// buckets by one event; _count is derived from the buckets so it always equals le="+Inf".
class Histogram {
public:
    static constexpr size_t kMaxBounds = 62;
    // `bounds`: at most kMaxBounds finite upper bounds, strictly increasing (aborts otherwise).
    explicit Histogram(std::vector<double> bounds);

    void observe(double value) noexcept;
    HistogramSnapshot snapshot() const;
    // Cumulative counts into `out` (bounds().size() + 1 entries) without allocating; returns
    // the sum. For the encoder's per-scrape loop.
    double cumulative(uint64_t* out) const;
    const std::vector<double>& bounds() const { return bounds_; }

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1 (last: +Inf)
    std::atomic<double> sum_{0};
};

// Default buckets for durations in seconds: 500 µs to 30 s, a 1-2.5-5 ladder.
std::vector<double> duration_buckets();

class ScrapeBuilder;

// A named family of series of one type with fixed label names. Series are created on first
// use and never removed, so a reference returned by with() stays valid for the family's
// lifetime (the registry's). Thread-safe: series creation takes a mutex; updates do not.
template <typename T>
class Family {
public:
    Family(std::string name, std::string help, std::vector<std::string> label_names,
           std::vector<double> bounds);
    ~Family();

    // The series for these label values (one per label name, in order). Aborts on a count
    // mismatch. Callers on the hot path look it up once and keep the reference.
    T& with(std::initializer_list<std::string_view> values);
    T& with(const std::vector<std::string>& values);

    const std::string& name() const { return name_; }
    const std::string& help() const { return help_; }
    MetricType type() const;
    // Appends HELP, TYPE and every series to `out`.
    void write(std::string& out) const;

private:
    struct Series;
    T& with_range(const std::string_view* values, size_t count);

    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
    std::vector<double> bounds_;  // histograms only
    mutable std::mutex mu_;
    std::unordered_map<std::string, std::unique_ptr<Series>> by_key_;
    std::vector<const Series*> ordered_;  // creation order: stable, deterministic output
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Samples for one family during a scrape. Obtained from ScrapeBuilder::family(); samples are
// appended in the order given and must not repeat a label set (the encoder does not
// de-duplicate: that would cost a hash per sample; check_exposition() catches it in tests).
class FamilyWriter {
public:
    FamilyWriter(std::string name, MetricType type, std::string help);

    void sample(const LabelSet& labels, double value);
    // The same, with one extra label (e.g. state="idle") without building a new LabelSet.
    void sample(const LabelSet& labels, std::string_view name, std::string_view value, double v);
    // A whole histogram series: _bucket lines (ascending, then +Inf), _sum, _count.
    void histogram(const LabelSet& labels, const std::vector<double>& bounds,
                   const HistogramSnapshot& snapshot);
    // Pre-rendered lines (used by registry families that cache their line prefixes).
    std::string& raw() { return body_; }

    const std::string& name() const { return name_; }
    MetricType type() const { return type_; }

private:
    friend class ScrapeBuilder;
    void begin_line(std::string_view suffix, const LabelSet& labels);

    std::string name_;
    MetricType type_;
    std::string help_;
    std::string body_;
};

// Gathers one scrape. Each family appears once, with its HELP and TYPE lines before its
// samples, in first-use order, whatever order collectors emit samples in. Not thread-safe:
// one builder per scrape.
class ScrapeBuilder {
public:
    // The writer for `name`; the first call fixes type and help. Aborts when a later call
    // names a different type (two collectors disagreeing is a programming bug), or names a
    // family reserved by the registry.
    FamilyWriter& family(std::string_view name, MetricType type, std::string_view help);
    // Appends the whole exposition to `out`.
    void finish(std::string& out) const;
    std::string finish() const;
    // Empties every family's samples but keeps the families and their buffers, so a builder
    // reused across scrapes does not allocate (and page-fault in) megabytes each time.
    void clear();
    // Marks a name as written elsewhere in this scrape (a registry family): a collector
    // emitting it would split the family, so family() refuses it. `name` must outlive this.
    void reserve(std::string_view name);

private:
    static constexpr size_t kReserved = static_cast<size_t>(-1);
    std::vector<std::unique_ptr<FamilyWriter>> families_;
    std::unordered_map<std::string_view, size_t> index_;
};

// Owns event-metric families and scrape-time collectors. Registration is thread-safe and
// idempotent (the same name and type returns the existing family); render() may run on any
// thread, concurrently with updates.
class Registry {
public:
    using Collector = std::function<void(ScrapeBuilder&)>;

    Registry();
    ~Registry();

    CounterFamily& counter(std::string name, std::string help,
                           std::vector<std::string> label_names = {});
    GaugeFamily& gauge(std::string name, std::string help,
                       std::vector<std::string> label_names = {});
    HistogramFamily& histogram(std::string name, std::string help,
                               std::vector<std::string> label_names, std::vector<double> bounds);

    // Runs at every scrape, after the registry's own families, on the scraping thread.
    // Collectors share families among themselves but must not emit a registry family's name.
    void add_collector(Collector collector);

    // The text exposition (Content-Type: text/plain; version=0.0.4; charset=utf-8).
    std::string render() const;
    void render(std::string& out) const;

private:
    struct Entry;
    mutable std::mutex mu_;
    std::vector<std::unique_ptr<Entry>> families_;
    std::vector<Collector> collectors_;
    mutable std::mutex scratch_mu_;  // serializes scrapes; guards scratch_
    mutable ScrapeBuilder scratch_;
};

inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// Parses a text exposition and checks what Prometheus would reject or misread: names and
// label syntax, one HELP and TYPE per family before its samples, a family's samples kept
// together, no duplicate series, histogram buckets ascending and ending in +Inf with _count
// equal to it, counters ending in _total. For tests and `pgwarden check`-style tooling.
common::Status check_exposition(std::string_view text);

}  // namespace pgwarden::observe
