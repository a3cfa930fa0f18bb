// SPDX-License-Identifier: Apache-2.0
// The whole path (issue 8, "Throughput and memory"): ADT^A03 over MLLP → committed (encrypted)
// → mapped with the shipped mappings (discharge aftercare, route secure_inbox) → sealed patient
// message → delivery worker → inbox link + PHI-free notification mail over SMTP with verified
// STARTTLS and pooled connections → a local SMTP sink (bench/support/SmtpSink, in this process,
// its certificate from a throwaway CA made by the openssl CLI). The gateway is the product's
// own gw::Gateway, configured from a generated gateway.json (SQLite in a temp dir), in this
// process; the A03s come from the repository's MLLP client (gw::MllpClient), one thread per
// connection, one message in flight on each.
//
//   build-bench/bin/e2e_bench                        # throughput + same-run baseline
//   GW_E2E_MESSAGES=50000 GW_E2E_CONNECTIONS=16 build-bench/bin/e2e_bench
//   GW_E2E_RETENTION_MESSAGES=1000000 build-bench/bin/e2e_bench --benchmark_filter=retention
//
// Every message is a different synthetic patient whose address is e2e-r<run>-<n>@example.invalid;
// the sink sees it in RCPT TO (never any PHI: the notification holds a link only), which
// correlates each mail with its send time.
//
// Cases and counters:
//   e2e_adt_a03/conns:C/rate:0  GW_E2E_MESSAGES (20000) sent as fast as the ACKs come (a burst):
//                               items_per_second = messages DELIVERED per second, from the first
//                               MLLP send to the last mail the sink accepted; p50_ms / p99_ms /
//                               max_ms = MLLP send → sink accepted, per message (in a burst mostly
//                               time queued behind the earlier messages); ack_per_second
//                               (intake alone, within the same run); cpu_us_per_msg (CPU of the
//                               whole process per message: gateway, senders and sink);
//                               store_bytes_per_msg ((db + wal) / messages); rss_mb.
//   e2e_adt_a03_paced/conns:C/rate:R  the same at a steady R messages/s (GW_E2E_RATE, 200) for
//                               GW_E2E_PACED_SECONDS (15): the latency of a feed the pipeline
//                               keeps up with.
//   baseline_mllp_intake_only/conns:C   the same senders against a gateway without mappings:
//                               items_per_second = ACKs per second (commit + encrypt), the ceiling
//                               the pipeline behind it could reach.
//   e2e_retention (only with GW_E2E_RETENTION_MESSAGES): that many messages through the same
//                               path in chunks of GW_E2E_REPORT_EVERY (100000); after each chunk
//                               is delivered it prints RSS, db + wal bytes and bytes per message,
//                               then moves the gateway's wall clock ahead by
//                               GW_E2E_RETENTION_JUMP_DAYS (91) so Housekeeping expires every
//                               delivered message (the mapping's expires_after_days is 90: content
//                               and its data key deleted) and purges every inbound payload
//                               (retention.payload_days 1); audit records and metadata stay.
//                               The chunk's figures are printed before and after that purge.
// Other knobs: GW_E2E_CONNECTIONS (MLLP connections, 8), GW_E2E_WORKERS
// (delivery.workers_per_channel, 2 as shipped), GW_E2E_SMTP_POOL (outbound.email.smtp.pool_size,
// 4 as shipped), GW_BENCH_KEEP=1 keeps the temp directories. On the shared 2-core VM, 2, 4 and 8
// workers delivered the same within the noise (540-660 msg/s): the writer is the limit.
//
// Measured on the shared 2-core VM (load average ~10 from other builds; README "Sizing and
// retention" has the tables): burst of 20,000 → 727 msg/s delivered vs 7,885 msg/s intake alone
// in the same run (0.09), 1.09 ms CPU per message; steady 200 msg/s → p50 1.4 ms, p99 59 ms.
// Retention run (payload_days 1, interval_seconds 1, expires_after_days 90, clock +91 days per
// 20,000 or 40,000): RSS 33-35 MB flat from 20k to 200k messages; db + wal 4.9-5.3 KB per message
// before the purge and still +4.8 KB per message after it (freed in-row space is not reused; VACUUM
// brings a purged database to 2.5 KB per message: metadata and audit records). The bottleneck
// (perf): the single SQLite writer (a third of all CPU: ~5 write transactions per message, WAL page
// writes, file locks) and the mapper's one commit round trip per event.
#include <benchmark/benchmark.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/support/SmtpSink.h"
#include "gateway/daemon/Gateway.h"
#include "gateway/daemon/GatewayConfig.h"
#include "gateway/daemon/Logging.h"
#include "gateway/daemon/MllpClient.h"

namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

std::size_t envSize(const char* name, std::size_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    return fallback;
  }
  const long long parsed = std::atoll(value);
  if (parsed <= 0) {
    std::cerr << "e2e_bench: " << name << " must be a positive number, not \"" << value << "\"\n";
    std::exit(2);
  }
  return static_cast<std::size_t>(parsed);
}

std::int64_t nanos(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// The system clock plus an offset the retention run moves ahead (whole days, so the time of
// day, and with it the quiet-hours decision, stays the same).
class JumpClock final : public gw::Clock {
 public:
  gw::SystemTime now() const override {
    return std::chrono::system_clock::now() + std::chrono::hours(offset_hours_.load());
  }
  gw::SteadyTime steadyNow() const override { return SteadyClock::now(); }
  void advanceDays(std::size_t days) { offset_hours_ += static_cast<std::int64_t>(days) * 24; }

 private:
  std::atomic<std::int64_t> offset_hours_{0};
};

// A fixed-offset IANA zone where it is about noon now, so the shipped mappings' quiet hours
// (21:00-08:00 facility time) never hold a message whenever the benchmark runs.
std::string middayZone() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  int offset = 12 - utc.tm_hour;
  if (offset > 12) {
    offset -= 24;
  }
  if (offset < -11) {
    offset += 24;
  }
  if (offset == 0) {
    return "Etc/UTC";
  }
  // Etc/GMT-5 is UTC+5.
  return "Etc/GMT" + std::string(offset > 0 ? "-" : "+") + std::to_string(std::abs(offset));
}

// One ADT^A03 (inpatient discharge, pneumonia) for synthetic patient `n` of run `run`.
std::string adtA03(std::uint64_t run, std::uint64_t n) {
  const std::string id = std::to_string(run) + "-" + std::to_string(n);
  return "MSH|^~\\&|BENCH_EHR|BENCH_HOSP|PATIENT_GW|BENCH_HOSP|20261125141500||ADT^A03^ADT_A03|E" +
         id +
         "|P|2.5.1\rEVN|A03|20261125141500\r"
         "PID|1||SYN" +
         id +
         "^^^BENCH_HOSP^MR||Benchpatient^Alexa^Q||19800214|F|||100 Example "
         "Street^^Springfield^ZZ^00000||^NET^Internet^e2e-r" +
         id +
         "@example.invalid||en\r"
         "PV1|1|I|4W^401^1^BENCH_HOSP||||1234^Synthetic^Doctor|||MED|||||||||V" +
         id +
         "^^^BENCH_HOSP^VN|||||||||||||||||||||||||20261123083000|20261125141500\r"
         "DG1|1||J18.9^Pneumonia, unspecified organism^I10||20261123|A\r";
}

// Per-message send and receive times of the run in progress (indexed by n), filled by the
// sender threads and by the sink's connection threads.
struct Run {
  std::uint64_t id = 0;
  std::size_t size = 0;
  std::unique_ptr<std::atomic<std::int64_t>[]> sent_ns;
  std::unique_ptr<std::atomic<std::int64_t>[]> received_ns;
  std::atomic<std::size_t> received{0};
  std::atomic<std::size_t> duplicates{0};
  std::atomic<std::size_t> foreign{0};  // mails that belong to no message of this run

  Run(std::uint64_t run_id, std::size_t n)
      : id(run_id),
        size(n),
        sent_ns(new std::atomic<std::int64_t>[n]),
        received_ns(new std::atomic<std::int64_t>[n]) {
    for (std::size_t i = 0; i < n; ++i) {
      sent_ns[i] = 0;
      received_ns[i] = 0;
    }
  }
};

std::mutex g_run_mu;
Run* g_run = nullptr;
std::atomic<std::uint64_t> g_next_run{1};

// The sink's callback: "e2e-r<run>-<n>@example.invalid" → that message's receive time.
void onMail(const gw::bench::SinkMessage& mail) {
  std::lock_guard<std::mutex> lock(g_run_mu);
  if (g_run == nullptr) {
    return;
  }
  unsigned long long run = 0;
  unsigned long long n = 0;
  if (mail.recipients.size() != 1 ||
      std::sscanf(mail.recipients[0].c_str(), "e2e-r%llu-%llu@", &run, &n) != 2 ||
      run != g_run->id || n >= g_run->size) {
    ++g_run->foreign;
    return;
  }
  std::int64_t expected = 0;
  if (!g_run->received_ns[n].compare_exchange_strong(expected, nanos(mail.received_at))) {
    ++g_run->duplicates;
    return;
  }
  ++g_run->received;
}

struct Shared {
  fs::path dir;
  gw::bench::TestPki pki;
  std::unique_ptr<gw::bench::SmtpSink> sink;
};
Shared* g_shared = nullptr;

std::string jsonString(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

// The product, from a generated gateway.json in a fresh directory.
struct BenchGateway {
  fs::path dir;
  std::shared_ptr<JumpClock> clock = std::make_shared<JumpClock>();
  std::unique_ptr<gw::Gateway> gateway;
  int port = 0;
  std::string retention_setting;

  BenchGateway(const std::string& name, bool with_mappings) {
    dir = g_shared->dir / (name + "-" + std::to_string(g_next_run.load()));
    fs::create_directories(dir);
    const std::string var = (dir / "var").string();
    const std::size_t workers = envSize("GW_E2E_WORKERS", 2);
    const std::size_t pool = envSize("GW_E2E_SMTP_POOL", 4);
    retention_setting = "\"retention\": {\"payload_days\": 1, \"interval_seconds\": 1}";
    std::string json = "{\n";
    json += "  \"logging\": {\"level\": \"warning\"},\n";
    json += "  \"keys\": {\"key_file\": " + jsonString(var + "/keys/gateway.keys") +
            ", \"generate_if_missing\": true},\n";
    json += "  \"audit\": {\"signing_key_file\": " + jsonString(var + "/keys/audit-signing.pem") +
            ", \"generate_if_missing\": true},\n";
    json += "  \"store\": {\"path\": " + jsonString(var + "/gateway.db") + "},\n";
    json +=
        "  \"inbound\": {\"mllp\": [{\"name\": \"bench\", \"host\": \"127.0.0.1\", "
        "\"port\": 0}]},\n";
    json +=
        "  \"outbound\": {\n    \"email\": {\"transport\": \"smtp\", \"from\": "
        "\"no-reply@gateway.invalid\", \"smtp\": {\"host\": \"127.0.0.1\", \"port\": " +
        std::to_string(g_shared->sink->port()) + ", \"ca\": " + jsonString(g_shared->pki.ca) +
        ", \"pool_size\": " + std::to_string(pool) + "}},\n";
    json += "    \"secure_inbox\": {\"base_url\": \"\", \"secure_cookies\": false}\n  },\n";
    json += "  \"web\": {\"host\": \"127.0.0.1\", \"port\": 0, \"allow_plain_http\": true},\n";
    if (with_mappings) {
      json += "  \"mappings\": {\"directory\": " +
              jsonString(std::string(GW_SOURCE_DIR) + "/mappings") +
              ", \"pseudonym_key_file\": " + jsonString(var + "/keys/pseudonym.key") +
              ", \"facility_time_zone\": " + jsonString(middayZone()) + "},\n";
    }
    json += "  \"delivery\": {\"workers_per_channel\": " + std::to_string(workers) + "},\n";
    json += "  " + retention_setting + "\n}\n";
    const std::string path = (dir / "gateway.json").string();
    std::ofstream(path) << json;

    gw::GatewayConfig config;
    std::string diagnostics;
    if (!gw::loadGatewayConfig(path, config, diagnostics)) {
      std::cerr << "e2e_bench: generated config refused:\n" << diagnostics;
      std::exit(1);
    }
    if (gw::Status s = gw::configureLogging(config.logging); !s.isOk()) {
      std::cerr << "e2e_bench: " << s.toString() << "\n";
      std::exit(1);
    }
    auto created = gw::Gateway::create(config, clock);
    if (!created.ok()) {
      std::cerr << "e2e_bench: cannot create the gateway: " << created.status().toString() << "\n";
      std::exit(1);
    }
    gateway = std::move(created).value();
    if (gw::Status s = gateway->start(); !s.isOk()) {
      std::cerr << "e2e_bench: cannot start the gateway: " << s.toString() << "\n";
      std::exit(1);
    }
    const std::string address = gateway->listeners().front().second;
    port = std::stoi(address.substr(address.rfind(':') + 1));
  }

  ~BenchGateway() {
    gateway->stop();
    gateway.reset();
    if (std::getenv("GW_BENCH_KEEP") == nullptr) {
      std::error_code ec;
      fs::remove_all(dir, ec);
    } else {
      std::cerr << "kept " << dir << "\n";
    }
  }

  std::uint64_t fileBytes(const char* name) const {
    std::error_code ec;
    const auto size = fs::file_size(dir / "var" / name, ec);
    return ec ? 0 : size;
  }
  // The database file and its write-ahead log.
  std::uint64_t storeBytes() const { return fileBytes("gateway.db") + fileBytes("gateway.db-wal"); }
};

double rssMegabytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::atof(line.c_str() + 6) / 1024.0;  // kB
    }
  }
  return 0;
}

double processCpuSeconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + t.tv_nsec / 1e9;
}

struct SendResult {
  std::size_t not_aa = 0;
  std::string error;
  SteadyClock::time_point first_send;
  SteadyClock::time_point last_ack;
};

// Sends messages [from, to) of `run` over `connections` MLLP connections (message n on
// connection n % connections), one in flight on each; with `rate` > 0 message n leaves no earlier
// than n / rate seconds after the first (an EHR's steady feed instead of a burst).
SendResult sendRange(Run& run, int port, std::size_t connections, std::size_t from, std::size_t to,
                     double rate = 0) {
  SendResult result;
  std::mutex mu;
  std::vector<std::thread> threads;
  result.first_send = SteadyClock::now();
  for (std::size_t c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      gw::MllpClientSettings settings;
      settings.port = port;
      settings.timeout_ms = 60000;
      auto client = gw::MllpClient::connect(settings);
      if (!client.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        result.error = client.status().toString();
        return;
      }
      std::size_t not_aa = 0;
      for (std::size_t n = from + c; n < to; n += connections) {
        const std::string message = adtA03(run.id, n);
        if (rate > 0) {
          std::this_thread::sleep_until(result.first_send +
                                        std::chrono::duration_cast<SteadyClock::duration>(
                                            std::chrono::duration<double>((n - from) / rate)));
        }
        run.sent_ns[n] = nanos(SteadyClock::now());
        auto ack = (*client)->exchange(message);
        if (!ack.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          result.error = ack.status().toString();
          return;
        }
        if (ack->find("MSA|AA|") == std::string::npos) {
          ++not_aa;
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      result.not_aa += not_aa;
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  result.last_ack = SteadyClock::now();
  return result;
}

// Waits until `count` mails of the run arrived; "" or why not (no progress for 60 s).
std::string awaitDelivered(Run& run, std::size_t count, const BenchGateway& g) {
  std::size_t last = run.received.load();
  auto last_progress = SteadyClock::now();
  while (run.received.load() < count) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const std::size_t now = run.received.load();
    if (now != last) {
      last = now;
      last_progress = SteadyClock::now();
    } else if (SteadyClock::now() - last_progress > std::chrono::seconds(60)) {
      const gw::MapperStats m = g.gateway->mapperStats();
      const gw::DeliveryStats d = g.gateway->deliveryStats();
      return "stalled at " + std::to_string(now) + "/" + std::to_string(count) +
             " delivered (mapped " + std::to_string(m.mapped) + ", held " + std::to_string(m.held) +
             ", ignored " + std::to_string(m.ignored) + ", sent " + std::to_string(d.sent) +
             ", retried " + std::to_string(d.retried) + ", dead " + std::to_string(d.dead) + ")";
    }
  }
  return "";
}

// Sends every message of `run` (at `rate` per second, 0: a burst) and waits until the sink has
// all of them; "" or what went wrong.
std::string sendAndDeliver(Run& run, const BenchGateway& g, std::size_t connections, double rate,
                           SendResult& sent) {
  sent = sendRange(run, g.port, connections, 0, run.size, rate);
  if (!sent.error.empty()) {
    return "MLLP: " + sent.error;
  }
  return awaitDelivered(run, run.size, g);
}

class RunScope {
 public:
  explicit RunScope(Run* run) {
    std::lock_guard<std::mutex> lock(g_run_mu);
    g_run = run;
  }
  ~RunScope() {
    std::lock_guard<std::mutex> lock(g_run_mu);
    g_run = nullptr;
  }
};

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(p * sorted.size()))];
}

// range(0): connections; range(1): messages per second, 0 for a burst (as fast as the ACKs come).
void endToEnd(benchmark::State& state) {
  const auto connections = static_cast<std::size_t>(state.range(0));
  const auto rate = static_cast<double>(state.range(1));
  const std::size_t messages =
      rate > 0 ? static_cast<std::size_t>(rate) * envSize("GW_E2E_PACED_SECONDS", 15)
               : envSize("GW_E2E_MESSAGES", 20000);
  for (auto _ : state) {
    BenchGateway g("e2e", true);
    Run run(g_next_run++, messages);
    RunScope scope(&run);
    const double cpu_before = processCpuSeconds();
    SendResult sent;
    if (const std::string failed = sendAndDeliver(run, g, connections, rate, sent);
        !failed.empty()) {
      state.SkipWithError(failed.c_str());
      return;
    }
    const double cpu = processCpuSeconds() - cpu_before;
    std::int64_t last_received = 0;
    std::vector<double> latencies;
    latencies.reserve(messages);
    for (std::size_t n = 0; n < messages; ++n) {
      last_received = std::max(last_received, run.received_ns[n].load());
      latencies.push_back(static_cast<double>(run.received_ns[n] - run.sent_ns[n]) / 1e6);
    }
    const double seconds = static_cast<double>(last_received - nanos(sent.first_send)) / 1e9;
    state.SetIterationTime(seconds);
    std::sort(latencies.begin(), latencies.end());
    state.counters["p50_ms"] = percentile(latencies, 0.50);
    state.counters["p99_ms"] = percentile(latencies, 0.99);
    state.counters["max_ms"] = latencies.back();
    state.counters["ack_per_second"] =
        static_cast<double>(messages) /
        std::chrono::duration<double>(sent.last_ack - sent.first_send).count();
    state.counters["cpu_us_per_msg"] = cpu * 1e6 / static_cast<double>(messages);
    state.counters["store_bytes_per_msg"] =
        static_cast<double>(g.storeBytes()) / static_cast<double>(messages);
    state.counters["rss_mb"] = rssMegabytes();
    state.counters["not_aa"] = static_cast<double>(sent.not_aa);
    state.counters["duplicates"] = static_cast<double>(run.duplicates.load());
    state.counters["smtp_connections"] = static_cast<double>(g_shared->sink->connections());
    state.SetItemsProcessed(static_cast<std::int64_t>(messages));
  }
}

void intakeOnly(benchmark::State& state) {
  const std::size_t messages = envSize("GW_E2E_MESSAGES", 20000);
  const auto connections = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    BenchGateway g("intake", false);
    Run run(g_next_run++, messages);
    const double cpu_before = processCpuSeconds();
    const SendResult sent = sendRange(run, g.port, connections, 0, messages);
    if (!sent.error.empty()) {
      state.SkipWithError(("MLLP: " + sent.error).c_str());
      return;
    }
    state.SetIterationTime(std::chrono::duration<double>(sent.last_ack - sent.first_send).count());
    state.counters["cpu_us_per_msg"] =
        (processCpuSeconds() - cpu_before) * 1e6 / static_cast<double>(messages);
    state.counters["not_aa"] = static_cast<double>(sent.not_aa);
    state.SetItemsProcessed(static_cast<std::int64_t>(messages));
  }
}

// Waits until Housekeeping has expired `messages` patient messages and purged `payloads`
// inbound payloads in total.
bool awaitHousekeeping(const BenchGateway& g, std::uint64_t messages, std::uint64_t payloads) {
  const auto deadline = SteadyClock::now() + std::chrono::minutes(2);
  while (SteadyClock::now() < deadline) {
    const gw::HousekeepingStats h = g.gateway->housekeepingStats();
    if (h.messages_expired >= messages && h.payloads_purged >= payloads) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void retention(benchmark::State& state) {
  const std::size_t total = envSize("GW_E2E_RETENTION_MESSAGES", 1000000);
  const std::size_t every = envSize("GW_E2E_REPORT_EVERY", 100000);
  const std::size_t jump_days = envSize("GW_E2E_RETENTION_JUMP_DAYS", 91);
  const std::size_t connections = envSize("GW_E2E_CONNECTIONS", 8);
  for (auto _ : state) {
    BenchGateway g("retention", true);
    std::printf(
        "retention run: %zu messages, report every %zu; %s; mapping "
        "discharge-aftercare expires_after_days 90; clock moved %zu days after each "
        "chunk\n",
        total, every, g.retention_setting.c_str(), jump_days);
    std::printf("%10s %8s %10s %10s %11s %10s %11s %12s %8s\n", "messages", "rss_mb", "db_mb",
                "wal_mb", "B/msg", "purged_mb", "B/msg", "growth_B/msg", "msg/s");
    double previous_after = 0;
    const auto started = SteadyClock::now();
    std::vector<double> latencies;
    for (std::size_t done = 0; done < total;) {
      const std::size_t chunk = std::min(every, total - done);
      Run run(g_next_run++, chunk);
      RunScope scope(&run);
      const auto chunk_start = SteadyClock::now();
      SendResult sent;
      if (const std::string failed = sendAndDeliver(run, g, connections, 0, sent);
          !failed.empty()) {
        state.SkipWithError(failed.c_str());
        return;
      }
      const double chunk_seconds =
          std::chrono::duration<double>(SteadyClock::now() - chunk_start).count();
      for (std::size_t n = 0; n < chunk; n += 16) {
        latencies.push_back(static_cast<double>(run.received_ns[n] - run.sent_ns[n]) / 1e6);
      }
      done += chunk;
      const double before = static_cast<double>(g.storeBytes());
      // Everything delivered so far passes its expiry and payload retention.
      g.clock->advanceDays(jump_days);
      if (!awaitHousekeeping(g, done, done)) {
        state.SkipWithError("housekeeping did not expire and purge the delivered messages");
        return;
      }
      const double after = static_cast<double>(g.storeBytes());
      std::printf("%10zu %8.1f %10.1f %10.1f %11.0f %10.1f %11.0f %12.0f %8.0f\n", done,
                  rssMegabytes(), static_cast<double>(g.fileBytes("gateway.db")) / 1048576.0,
                  static_cast<double>(g.fileBytes("gateway.db-wal")) / 1048576.0,
                  before / static_cast<double>(done), after / 1048576.0,
                  after / static_cast<double>(done),
                  (after - previous_after) / static_cast<double>(chunk),
                  static_cast<double>(chunk) / chunk_seconds);
      previous_after = after;
      std::fflush(stdout);
    }
    state.SetIterationTime(std::chrono::duration<double>(SteadyClock::now() - started).count());
    std::sort(latencies.begin(), latencies.end());
    state.counters["p50_ms"] = percentile(latencies, 0.50);
    state.counters["p99_ms"] = percentile(latencies, 0.99);
    state.counters["rss_mb"] = rssMegabytes();
    state.counters["store_bytes_per_msg"] =
        static_cast<double>(g.storeBytes()) / static_cast<double>(total);
    state.SetItemsProcessed(static_cast<std::int64_t>(total));
  }
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  benchmark::Initialize(&argc, argv);
  Shared shared;
  shared.dir = fs::temp_directory_path() / ("gw-e2e-bench-" + std::to_string(::getpid()));
  fs::create_directories(shared.dir);
  auto pki = gw::bench::makeTestPki(shared.dir.string());
  if (!pki.ok()) {
    std::cerr << "e2e_bench: " << pki.status().toString() << "\n";
    return 1;
  }
  shared.pki = *pki;
  gw::bench::SmtpSinkSettings sink_settings;
  sink_settings.certificate = shared.pki.server_certificate;
  sink_settings.private_key = shared.pki.server_key;
  sink_settings.on_message = onMail;
  auto sink = gw::bench::SmtpSink::start(sink_settings);
  if (!sink.ok()) {
    std::cerr << "e2e_bench: " << sink.status().toString() << "\n";
    return 1;
  }
  shared.sink = std::move(sink).value();
  g_shared = &shared;

  const auto connections = static_cast<std::int64_t>(envSize("GW_E2E_CONNECTIONS", 8));
  benchmark::RegisterBenchmark("baseline_mllp_intake_only", intakeOnly)
      ->Arg(connections)
      ->ArgName("conns")
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("e2e_adt_a03", endToEnd)
      ->Args({connections, 0})
      ->ArgNames({"conns", "rate"})
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  // Latency at a steady feed the pipeline keeps up with (messages/s).
  benchmark::RegisterBenchmark("e2e_adt_a03_paced", endToEnd)
      ->Args({connections, static_cast<std::int64_t>(envSize("GW_E2E_RATE", 200))})
      ->ArgNames({"conns", "rate"})
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  if (std::getenv("GW_E2E_RETENTION_MESSAGES") != nullptr) {
    benchmark::RegisterBenchmark("e2e_retention", retention)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::cout << "sink accepted " << shared.sink->count() << " mails on "
            << shared.sink->connections() << " connections\n";
  shared.sink->stop();
  g_shared = nullptr;
  if (std::getenv("GW_BENCH_KEEP") == nullptr) {
    std::error_code ec;
    fs::remove_all(shared.dir, ec);
  }
  return 0;
}
