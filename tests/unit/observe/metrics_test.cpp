#include "observe/metrics.hpp"
#include "observe/process_metrics.hpp"
#include "observe/proxy_metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

namespace pgwarden::observe {
namespace {

std::string label_value(std::string_view v) {
    std::string out;
    append_label_value(out, v);
    return out;
}

std::string help_text(std::string_view v) {
    std::string out;
    append_help(out, v);
    return out;
}

std::string value_text(double v) {
    std::string out;
    append_value(out, v);
    return out;
}

TEST(Escaping, LabelValuesEscapeBackslashQuoteNewline) {
    EXPECT_EQ(label_value("plain"), "plain");
    EXPECT_EQ(label_value("a\\b"), "a\\\\b");
    EXPECT_EQ(label_value("say \"hi\""), "say \\\"hi\\\"");
    EXPECT_EQ(label_value("two\nlines"), "two\\nlines");
    EXPECT_EQ(label_value("tab\tstays"), "tab\tstays");
    EXPECT_EQ(label_value("ünïcode"), "ünïcode");
}

TEST(Escaping, HelpEscapesBackslashAndNewlineButNotQuotes) {
    EXPECT_EQ(help_text("a \"quoted\" word"), "a \"quoted\" word");
    EXPECT_EQ(help_text("back\\slash\nnext"), "back\\\\slash\\nnext");
}

TEST(Values, IntegersSpecialsAndShortestDoubles) {
    EXPECT_EQ(value_text(0), "0");
    EXPECT_EQ(value_text(42), "42");
    EXPECT_EQ(value_text(-3), "-3");
    EXPECT_EQ(value_text(0.7), "0.7");
    EXPECT_EQ(value_text(0.005), "0.005");
    EXPECT_EQ(value_text(1e-05), "1e-05");
    EXPECT_EQ(value_text(NAN), "NaN");
    EXPECT_EQ(value_text(INFINITY), "+Inf");
    EXPECT_EQ(value_text(-INFINITY), "-Inf");
    std::string big;
    append_value(big, uint64_t{18446744073709551615u});
    EXPECT_EQ(big, "18446744073709551615");
}

TEST(Names, MetricAndLabelNameRules) {
    EXPECT_TRUE(valid_metric_name("pgwarden_queries_total"));
    EXPECT_TRUE(valid_metric_name("job:rate5m"));
    EXPECT_FALSE(valid_metric_name("9lives"));
    EXPECT_FALSE(valid_metric_name("has-dash"));
    EXPECT_FALSE(valid_metric_name(""));
    EXPECT_TRUE(valid_label_name("database"));
    EXPECT_FALSE(valid_label_name("__reserved"));
    EXPECT_FALSE(valid_label_name("a:b"));
}

TEST(Exposition, GoldenCounterGaugeHistogram) {
    Registry registry;
    registry.counter("pgwarden_test_total", "A \\ help\nwith newline", {"path"})
        .with({"a\"b\\c\nd"})
        .inc(3);
    registry.gauge("pgwarden_temperature_celsius", "A gauge without labels.").with({}).set(1.5);
    auto& h = registry.histogram("pgwarden_wait_seconds", "Waits.", {"class"}, {0.125, 1, 2.5});
    auto& api = h.with({"api"});
    for (double v : {0.0625, 0.125, 0.5, 3.0}) {
        api.observe(v);
    }
    h.with({"jobs"});  // a series with no observations still renders, all zero
    const std::string expected =
        "# HELP pgwarden_test_total A \\\\ help\\nwith newline\n"
        "# TYPE pgwarden_test_total counter\n"
        "pgwarden_test_total{path=\"a\\\"b\\\\c\\nd\"} 3\n"
        "# HELP pgwarden_temperature_celsius A gauge without labels.\n"
        "# TYPE pgwarden_temperature_celsius gauge\n"
        "pgwarden_temperature_celsius 1.5\n"
        "# HELP pgwarden_wait_seconds Waits.\n"
        "# TYPE pgwarden_wait_seconds histogram\n"
        "pgwarden_wait_seconds_bucket{class=\"api\",le=\"0.125\"} 2\n"
        "pgwarden_wait_seconds_bucket{class=\"api\",le=\"1\"} 3\n"
        "pgwarden_wait_seconds_bucket{class=\"api\",le=\"2.5\"} 3\n"
        "pgwarden_wait_seconds_bucket{class=\"api\",le=\"+Inf\"} 4\n"
        "pgwarden_wait_seconds_sum{class=\"api\"} 3.6875\n"
        "pgwarden_wait_seconds_count{class=\"api\"} 4\n"
        "pgwarden_wait_seconds_bucket{class=\"jobs\",le=\"0.125\"} 0\n"
        "pgwarden_wait_seconds_bucket{class=\"jobs\",le=\"1\"} 0\n"
        "pgwarden_wait_seconds_bucket{class=\"jobs\",le=\"2.5\"} 0\n"
        "pgwarden_wait_seconds_bucket{class=\"jobs\",le=\"+Inf\"} 0\n"
        "pgwarden_wait_seconds_sum{class=\"jobs\"} 0\n"
        "pgwarden_wait_seconds_count{class=\"jobs\"} 0\n";
    std::string text = registry.render();
    EXPECT_EQ(text, expected);
    auto valid = check_exposition(text);
    EXPECT_TRUE(valid.ok()) << valid.error().message;
}

TEST(Exposition, SameLabelValuesReturnTheSameSeries) {
    Registry registry;
    auto& family = registry.counter("pgwarden_x_total", "x", {"a", "b"});
    family.with({"1", "2"}).inc();
    family.with({"1", "2"}).inc();
    // Values that would collide if joined naively ("1,2" + "" vs "1" + ",2").
    family.with({"1,2", ""}).inc();
    family.with({"1", ",2"}).inc();
    EXPECT_EQ(family.with({"1", "2"}).value(), 2u);
    std::string text = registry.render();
    EXPECT_TRUE(check_exposition(text).ok()) << text;
    EXPECT_NE(text.find("pgwarden_x_total{a=\"1\",b=\"2\"} 2\n"), std::string::npos);
}

TEST(Exposition, RegisteringTwiceReturnsTheExistingFamily) {
    Registry registry;
    auto& a = registry.counter("pgwarden_y_total", "y", {"k"});
    auto& b = registry.counter("pgwarden_y_total", "y", {"k"});
    EXPECT_EQ(&a, &b);
}

TEST(Exposition, CollectorsMergeIntoOneFamilyBlockEachWithOneTypeLine) {
    Registry registry;
    registry.gauge("pgwarden_g", "from the registry", {"src"}).with({"registry"}).set(1);
    // Two collectors emitting into the same family, interleaved with another family.
    registry.add_collector([](ScrapeBuilder& out) {
        out.family("pgwarden_c", MetricType::Gauge, "from collectors")
            .sample(LabelSet{{"src", "c1"}}, 2);
        out.family("pgwarden_other", MetricType::Gauge, "other").sample(LabelSet{}, 7);
    });
    registry.add_collector([](ScrapeBuilder& out) {
        out.family("pgwarden_c", MetricType::Gauge, "ignored: the first help wins")
            .sample(LabelSet{{"src", "c2"}}, 3);
    });
    const std::string expected =
        "# HELP pgwarden_g from the registry\n"
        "# TYPE pgwarden_g gauge\n"
        "pgwarden_g{src=\"registry\"} 1\n"
        "# HELP pgwarden_c from collectors\n"
        "# TYPE pgwarden_c gauge\n"
        "pgwarden_c{src=\"c1\"} 2\n"
        "pgwarden_c{src=\"c2\"} 3\n"
        "# HELP pgwarden_other other\n"
        "# TYPE pgwarden_other gauge\n"
        "pgwarden_other 7\n";
    EXPECT_EQ(registry.render(), expected);
    // A second scrape reuses the builder's buffers and yields the same text.
    EXPECT_EQ(registry.render(), expected);
}

TEST(ExpositionDeathTest, CollectorMayNotSplitARegistryFamily) {
    Registry registry;
    registry.gauge("pgwarden_g", "g").with({}).set(1);
    registry.add_collector([](ScrapeBuilder& out) {
        out.family("pgwarden_g", MetricType::Gauge, "g").sample(LabelSet{}, 2);
    });
    EXPECT_DEATH(registry.render(), "registry family");
}

TEST(Exposition, FamilyWriterExtraLabelAndHistogram) {
    ScrapeBuilder out;
    LabelSet pool{{"database", "app"}, {"user", "u\"1"}};
    out.family("pgwarden_server_connections", MetricType::Gauge, "by state")
        .sample(pool, "state", "idle", 4);
    HistogramSnapshot snap{{1, 2}, 0.5, 2};
    out.family("pgwarden_h_seconds", MetricType::Histogram, "h").histogram(pool, {0.25}, snap);
    const std::string expected =
        "# HELP pgwarden_server_connections by state\n"
        "# TYPE pgwarden_server_connections gauge\n"
        "pgwarden_server_connections{database=\"app\",user=\"u\\\"1\",state=\"idle\"} 4\n"
        "# HELP pgwarden_h_seconds h\n"
        "# TYPE pgwarden_h_seconds histogram\n"
        "pgwarden_h_seconds_bucket{database=\"app\",user=\"u\\\"1\",le=\"0.25\"} 1\n"
        "pgwarden_h_seconds_bucket{database=\"app\",user=\"u\\\"1\",le=\"+Inf\"} 2\n"
        "pgwarden_h_seconds_sum{database=\"app\",user=\"u\\\"1\"} 0.5\n"
        "pgwarden_h_seconds_count{database=\"app\",user=\"u\\\"1\"} 2\n";
    EXPECT_EQ(out.finish(), expected);
    EXPECT_TRUE(check_exposition(expected).ok());
}

TEST(Histogram, BoundsAreInclusiveAndCountMatchesInf) {
    Histogram h({1, 2});
    h.observe(1);    // le="1"
    h.observe(1.5);  // le="2"
    h.observe(2);    // le="2"
    h.observe(99);   // +Inf only
    auto s = h.snapshot();
    EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{1, 3, 4}));
    EXPECT_EQ(s.count, 4u);
    EXPECT_DOUBLE_EQ(s.sum, 103.5);
}

TEST(Histogram, ConcurrentObserversLoseNothing) {
    Histogram h(duration_buckets());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&h] {
            for (int i = 0; i < 100000; ++i) {
                h.observe(0.001);
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(h.snapshot().count, 400000u);
    EXPECT_NEAR(h.snapshot().sum, 400.0, 1e-6);
}

TEST(CheckExposition, RejectsWhatPrometheusWouldReject) {
    auto bad = [](const std::string& text) { return !check_exposition(text).ok(); };
    EXPECT_TRUE(bad("# TYPE a gauge\na 1\n# TYPE a gauge\n"));         // second TYPE
    EXPECT_TRUE(bad("# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n"));  // duplicate series
    EXPECT_TRUE(bad("# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"2\"} 1\n"));  // split
    EXPECT_TRUE(bad("a 1\n"));                                                     // no TYPE
    EXPECT_TRUE(bad("# TYPE a gauge\na{x=\"1} 1\n"));                              // unterminated
    EXPECT_TRUE(bad("# TYPE a gauge\na{x=\"\\t\"} 1\n"));                          // bad escape
    EXPECT_TRUE(bad("# TYPE c counter\nc 1\n"));                                   // no _total
    EXPECT_TRUE(bad("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n"));  // no +Inf
    EXPECT_TRUE(
        bad("# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n"
            "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"));  // descending
    EXPECT_TRUE(bad("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n"));
    EXPECT_TRUE(bad("# TYPE a gauge\na 1"));  // no final newline
    EXPECT_FALSE(bad("# HELP a x\n# TYPE a gauge\na{b=\"\\\"\\n\\\\\"} 1\n"));
}

PoolSnapshot sample_pool(const std::string& db) {
    PoolSnapshot p;
    p.database = db;
    p.user = "svc";
    p.pool_size = 20;
    p.server_active = 15;
    p.server_idle = 3;
    p.server_login = 1;
    ClassSnapshot api;
    api.name = "api";
    api.server_connections = 5;
    api.max_connections = 10;
    api.clients_waiting = 2;
    api.oldest_wait_seconds = 1.25;
    ClassSnapshot jobs;
    jobs.name = "jobs";
    jobs.server_connections = 10;
    jobs.suspected_leaks = 1;
    p.classes = {api, jobs};
    return p;
}

TEST(PoolSnapshot, WritesEveryStateFamilyAsValidExposition) {
    ScrapeBuilder out;
    write_pool_snapshot(out, {sample_pool("app"), sample_pool("reports")});
    std::string text = out.finish();
    auto valid = check_exposition(text);
    ASSERT_TRUE(valid.ok()) << valid.error().message << "\n" << text;
    for (const char* line : {
             "pgwarden_pool_utilization_ratio{database=\"app\",user=\"svc\"} 0.8\n",
             "pgwarden_server_connections{database=\"app\",user=\"svc\",state=\"login\"} 1\n",
             "pgwarden_client_connections{database=\"app\",user=\"svc\",class=\"api\","
             "state=\"waiting\"} 2\n",
             "pgwarden_oldest_wait_seconds{database=\"reports\",user=\"svc\",class=\"api\"} 1.25\n",
             "pgwarden_class_utilization_ratio{database=\"app\",user=\"svc\",class=\"api\"} 0.5\n",
             "pgwarden_class_max_connections{database=\"app\",user=\"svc\",class=\"jobs\"} 20\n",
             "pgwarden_suspected_leaks{database=\"app\",user=\"svc\",class=\"jobs\"} 1\n",
         }) {
        EXPECT_NE(text.find(line), std::string::npos) << line;
    }
}

TEST(PoolSnapshot, EmptySnapshotStillDeclaresFamilies) {
    ScrapeBuilder out;
    write_pool_snapshot(out, {});
    std::string text = out.finish();
    EXPECT_TRUE(check_exposition(text).ok());
    EXPECT_NE(text.find("# TYPE pgwarden_pool_utilization_ratio gauge\n"), std::string::npos);
}

TEST(PoolSnapshot, ObservationsForTheAlertRules) {
    auto obs = observations_from({sample_pool("app")});
    ASSERT_EQ(obs.size(), 5u);  // utilization + (leak, wait) per class
    EXPECT_EQ(obs[0].kind, AlertKind::Utilization);
    EXPECT_DOUBLE_EQ(obs[0].value, 0.8);
    EXPECT_EQ(obs[2].kind, AlertKind::ClassWait);
    EXPECT_DOUBLE_EQ(obs[2].value, 1.25);
    EXPECT_EQ(obs[3].kind, AlertKind::SuspectedLeak);
    EXPECT_EQ(obs[3].workload_class, "jobs");
}

TEST(ProxyMetrics, EveryFamilyRendersValidWithErrorsAndTimeouts) {
    Registry registry;
    ProxyMetrics metrics(registry);
    ClassMetrics& api = metrics.for_class("app", "svc", "api");
    EXPECT_EQ(&api, &metrics.for_class("app", "svc", "api"));
    api.admission_wait.observe(0.002);
    api.transaction_duration.observe(0.05);
    api.query_duration.observe(0.01);
    api.transactions.inc();
    api.queries.inc(2);
    api.received_bytes.inc(100);
    api.sent_bytes.inc(1000);
    api.error("53300");
    api.error("53300");
    api.timeout(TimeoutKind::AdmissionWait);
    std::string text = registry.render();
    auto valid = check_exposition(text);
    ASSERT_TRUE(valid.ok()) << valid.error().message;
    EXPECT_NE(text.find("pgwarden_errors_total{database=\"app\",user=\"svc\",class=\"api\","
                        "sqlstate=\"53300\"} 2\n"),
              std::string::npos);
    EXPECT_NE(text.find("pgwarden_timeouts_total{database=\"app\",user=\"svc\",class=\"api\","
                        "kind=\"admission_wait\"} 1\n"),
              std::string::npos);
    EXPECT_NE(text.find("pgwarden_admission_wait_seconds_bucket{database=\"app\",user=\"svc\","
                        "class=\"api\",le=\"0.0025\"} 1\n"),
              std::string::npos);
}

TEST(ProcessMetrics, ReadsProcSelf) {
    auto stats = read_process_stats();
    ASSERT_TRUE(stats.open_fds.has_value());
    EXPECT_GE(*stats.open_fds, 3u);  // stdin, stdout, stderr at least
    ASSERT_TRUE(stats.resident_memory_bytes.has_value());
    EXPECT_GT(*stats.resident_memory_bytes, 1024u * 1024u);
    ASSERT_TRUE(stats.threads.has_value());
    EXPECT_GE(*stats.threads, 1u);
    ASSERT_TRUE(stats.start_time_seconds.has_value());
    EXPECT_GT(*stats.start_time_seconds, 1.6e9);
    ScrapeBuilder out;
    write_process_metrics(out, stats);
    std::string text = out.finish();
    EXPECT_TRUE(check_exposition(text).ok()) << text;
    EXPECT_NE(text.find("# TYPE process_resident_memory_bytes gauge\n"), std::string::npos);
    EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos);
    EXPECT_NE(text.find("pgwarden_process_threads "), std::string::npos);
}

}  // namespace
}  // namespace pgwarden::observe
