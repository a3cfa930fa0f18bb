// SPDX-License-Identifier: Apache-2.0
// MLLP round trips against the real gateway (in-process, SQLite in a temp dir, every message
// committed and encrypted before its AA) and, in the same run, against Node simple-hl7's MLLP
// server (ACKs without storing anything) as the baseline.
//
//   build/bin/mllp_bench [--benchmark_min_time=3]
//
// Reported per case: items_per_second (messages/s over all connections) and p50_us / p99_us
// (round-trip latency of every message); the multiplexed cases also server_cpu_us (CPU the server
// used per message, user + system: a figure that the load of other processes on the machine
// does not inflate the way it does latency). The main cases use one client thread multiplexing
// the connections; the "blocking_client" cases use a blocking POCO client thread per connection.
// The gateway runs with the default MLLP I/O model (the epoll reactor) and, in the
// "io_model:threads" cases, with a thread per connection.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/daemon/Gateway.h"
#include "gateway/daemon/MllpClient.h"

namespace {

std::string adtA03(std::uint64_t n) {
  return "MSH|^~\\&|BENCH_EHR|BENCH_HOSP|PATIENT_GW|BENCH_HOSP|20261125141500||ADT^A03^ADT_A03|B" +
         std::to_string(n) +
         "|P|2.5.1\rEVN|A03|20261125141500\r"
         "PID|1||SYN" +
         std::to_string(n % 100000) +
         "^^^BENCH_HOSP^MR||Benchpatient^Alexa^Q||19800214|F|||100 Example "
         "Street^^Springfield^ZZ^00000"
         "||^NET^Internet^bench@example.invalid||en\r"
         "PV1|1|I|4W^401^1^BENCH_HOSP||||1234^Synthetic^Doctor|||MED||||||||V" +
         std::to_string(n) +
         "^^^BENCH_HOSP^VN|||||||||||||||||||||||||20261123083000|20261125141500\r"
         "DG1|1||J18.9^Pneumonia, unspecified organism^I10||20261123|A\r";
}

struct Target {
  std::string name;
  int port = 0;
  pid_t pid = 0;  // a server in another process (the baseline); 0: in this process
};

double seconds(const timespec& t) {
  return static_cast<double>(t.tv_sec) + t.tv_nsec / 1e9;
}

// CPU seconds (user + system) the server has used so far: the other process's, or this
// process's minus the calling (client) thread's.
double serverCpuSeconds(const Target& target) {
  if (target.pid != 0) {
    FILE* stat = std::fopen(("/proc/" + std::to_string(target.pid) + "/stat").c_str(), "r");
    if (stat == nullptr) {
      return 0;
    }
    char line[1024] = "";
    const bool read = std::fgets(line, sizeof(line), stat) != nullptr;
    std::fclose(stat);
    const char* after_name = read ? std::strrchr(line, ')') : nullptr;
    unsigned long utime = 0;
    unsigned long stime = 0;
    if (after_name == nullptr ||
        std::sscanf(after_name + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                    &stime) != 2) {
      return 0;
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  timespec process{};
  timespec thread{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &process);
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &thread);
  return seconds(process) - seconds(thread);
}

std::atomic<std::uint64_t> g_sequence{1};

void roundTrips(benchmark::State& state, const Target* target) {
  gw::MllpClientSettings settings;
  settings.port = target->port;
  auto client = gw::MllpClient::connect(settings);
  if (!client.ok()) {
    state.SkipWithError(client.status().message().c_str());
    return;
  }
  std::vector<double> latencies;
  latencies.reserve(1 << 20);
  std::uint64_t rejected = 0;
  for (auto _ : state) {
    const std::string message = adtA03(g_sequence.fetch_add(1));  // ~1 us, same for every target
    const auto start = std::chrono::steady_clock::now();
    auto ack = (*client)->exchange(message);
    const auto end = std::chrono::steady_clock::now();
    if (!ack.ok()) {
      state.SkipWithError(ack.status().message().c_str());
      break;
    }
    if (ack->find("MSA|AA|") == std::string::npos) {
      ++rejected;
    }
    latencies.push_back(std::chrono::duration<double, std::micro>(end - start).count());
  }
  state.SetItemsProcessed(static_cast<int64_t>(latencies.size()));
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    auto pct = [&](double p) {
      return latencies[std::min(latencies.size() - 1,
                                static_cast<std::size_t>(p * latencies.size()))];
    };
    state.counters["p50_us"] = benchmark::Counter(pct(0.50), benchmark::Counter::kAvgThreads);
    state.counters["p99_us"] = benchmark::Counter(pct(0.99), benchmark::Counter::kAvgThreads);
  }
  state.counters["not_aa"] = benchmark::Counter(static_cast<double>(rejected));
}

// One client thread drives `conns` connections with poll(), one message in flight on each: the
// client costs as little CPU as possible, so the server is what is measured (both servers get
// the same client). Each benchmark iteration is one ACK received.
void multiplexed(benchmark::State& state, const Target* target, int conns) {
  struct Conn {
    int fd = -1;
    std::string in;
    std::chrono::steady_clock::time_point sent_at;
  };
  std::vector<Conn> connections(static_cast<std::size_t>(conns));
  std::vector<pollfd> fds(connections.size());
  auto sendNext = [&](Conn& c) {
    std::string framed = "\x0b" + adtA03(g_sequence.fetch_add(1)) + "\x1c\r";
    c.sent_at = std::chrono::steady_clock::now();
    std::size_t off = 0;
    while (off < framed.size()) {
      const ssize_t n = ::send(c.fd, framed.data() + off, framed.size() - off, MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      off += static_cast<std::size_t>(n);
    }
    return true;
  };
  for (std::size_t i = 0; i < connections.size(); ++i) {
    Conn& c = connections[i];
    c.fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(target->port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      state.SkipWithError("cannot connect");
      return;
    }
    fds[i] = pollfd{c.fd, POLLIN, 0};
  }
  for (Conn& c : connections) {
    sendNext(c);
  }
  const double cpu_before = serverCpuSeconds(*target);
  std::vector<double> latencies;
  latencies.reserve(1 << 20);
  std::uint64_t rejected = 0;
  std::size_t completed = 0;  // ACKs received but not yet counted as iterations
  char buffer[65536];
  for (auto _ : state) {
    while (completed == 0) {
      if (::poll(fds.data(), fds.size(), 10000) <= 0) {
        state.SkipWithError("no ACK within 10 s");
        break;
      }
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if ((fds[i].revents & (POLLIN | POLLERR | POLLHUP)) == 0) {
          continue;
        }
        Conn& c = connections[i];
        const ssize_t n = ::recv(c.fd, buffer, sizeof(buffer), 0);
        if (n <= 0) {
          state.SkipWithError("connection closed");
          break;
        }
        c.in.append(buffer, static_cast<std::size_t>(n));
        std::size_t end;
        while ((end = c.in.find("\x1c\r")) != std::string::npos) {
          const auto now = std::chrono::steady_clock::now();
          latencies.push_back(std::chrono::duration<double, std::micro>(now - c.sent_at).count());
          if (c.in.find("MSA|AA|") == std::string::npos) {
            ++rejected;
          }
          c.in.erase(0, end + 2);
          ++completed;
          sendNext(c);
        }
      }
      if (state.error_occurred()) {
        break;
      }
    }
    if (state.error_occurred()) {
      break;
    }
    --completed;
  }
  const double cpu_used = serverCpuSeconds(*target) - cpu_before;
  for (Conn& c : connections) {
    ::close(c.fd);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  // Server CPU per message: what the server costs, whatever else runs on the machine.
  if (state.iterations() > 0) {
    state.counters["server_cpu_us"] = cpu_used * 1e6 / static_cast<double>(state.iterations());
  }
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    auto pct = [&](double p) {
      return latencies[std::min(latencies.size() - 1,
                                static_cast<std::size_t>(p * latencies.size()))];
    };
    state.counters["p50_us"] = pct(0.50);
    state.counters["p99_us"] = pct(0.99);
  }
  state.counters["not_aa"] = static_cast<double>(rejected);
}

// Starts the gateway in this process on 127.0.0.1:0 with the given durability and MLLP I/O
// model ("auto" is the default: the epoll reactor for plain TCP).
struct InProcessGateway {
  std::filesystem::path dir;
  std::unique_ptr<gw::Gateway> gateway;
  int port = 0;

  InProcessGateway(const std::string& durability, const std::string& io_model) {
    dir = std::filesystem::temp_directory_path() /
          ("gw-bench-" + durability + "-" + io_model + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    gw::GatewayConfig config;
    config.logging.level = "warning";
    config.keys.key_file = (dir / "keys" / "gateway.keys").string();
    config.keys.generate_if_missing = true;
    config.store.path = (dir / "gateway.db").string();
    config.store.durability = durability;
    gw::MllpSettings listener;
    listener.name = "bench";
    listener.host = "127.0.0.1";
    listener.port = 0;
    listener.io_model = io_model;
    config.mllp.push_back(listener);
    auto created = gw::Gateway::create(config);
    if (!created.ok()) {
      std::cerr << "cannot create gateway: " << created.status().toString() << "\n";
      std::exit(1);
    }
    gateway = std::move(created).value();
    if (auto s = gateway->start(); !s.isOk()) {
      std::cerr << "cannot start gateway: " << s.toString() << "\n";
      std::exit(1);
    }
    const std::string address = gateway->listeners().front().second;
    port = std::stoi(address.substr(address.rfind(':') + 1));
  }
  ~InProcessGateway() {
    gateway->stop();
    std::filesystem::remove_all(dir);
  }
};

// Node simple-hl7 in a child process, stopped by its pid (other benchmark runs on the same
// machine keep theirs).
struct NodeBaseline {
  pid_t pid = -1;
  FILE* out = nullptr;
  int port = 0;
  NodeBaseline() {
    const std::string script = std::string(GW_BENCH_DIR) + "/baseline/simple_hl7_server.js";
    if (!std::filesystem::exists(std::string(GW_BENCH_DIR) + "/baseline/node_modules/simple-hl7")) {
      std::cerr << "baseline skipped: run `npm ci --prefix bench/baseline` first\n";
      return;
    }
    int fds[2];
    if (::pipe(fds) != 0) {
      return;
    }
    pid = ::fork();
    if (pid == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execlp("node", "node", script.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    if (pid < 0) {
      ::close(fds[0]);
      return;
    }
    out = ::fdopen(fds[0], "r");
    char line[128];
    if (out != nullptr && std::fgets(line, sizeof(line), out) != nullptr) {
      std::sscanf(line, "listening on %d", &port);
    }
  }
  ~NodeBaseline() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
    if (out != nullptr) {
      std::fclose(out);
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  benchmark::Initialize(&argc, argv);
  NodeBaseline baseline;
  InProcessGateway process_gateway("process", "auto");
  InProcessGateway power_gateway("power", "auto");
  // The thread-per-connection model (TLS listeners, io_model "threads") in the same run.
  InProcessGateway process_threads_gateway("process", "threads");
  InProcessGateway power_threads_gateway("power", "threads");
  static Target node{"simple-hl7", baseline.port, baseline.pid};
  static Target process{"gateway/durability:process", process_gateway.port};
  static Target power{"gateway/durability:power", power_gateway.port};
  static Target process_threads{"gateway/durability:process/threads", process_threads_gateway.port};
  static Target power_threads{"gateway/durability:power/threads", power_threads_gateway.port};

  // (a) one connection, one message in flight; (b) 16 connections, one in flight on each.
  struct Case {
    const char* name;
    const Target* target;
    int conns;
  };
  std::vector<Case> cases;
  if (node.port != 0) {
    cases.push_back({"baseline_simple_hl7/conns:1", &node, 1});
    cases.push_back({"baseline_simple_hl7/conns:16", &node, 16});
  }
  cases.push_back({"gateway_process/conns:1", &process, 1});
  cases.push_back({"gateway_process/conns:16", &process, 16});
  cases.push_back({"gateway_power/conns:1", &power, 1});
  cases.push_back({"gateway_power/conns:16", &power, 16});
  cases.push_back({"gateway_process/io_model:threads/conns:1", &process_threads, 1});
  cases.push_back({"gateway_power/io_model:threads/conns:16", &power_threads, 16});
  for (const Case& c : cases) {
    benchmark::RegisterBenchmark(c.name, multiplexed, c.target, c.conns)->UseRealTime();
  }
  // The same one-thread-per-connection client as `gateway mllp-send` uses (POCO sockets).
  if (node.port != 0) {
    benchmark::RegisterBenchmark("baseline_simple_hl7/blocking_client/conns:1", roundTrips, &node)
        ->Threads(1)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("gateway_process/blocking_client/conns:1", roundTrips, &process)
      ->Threads(1)
      ->UseRealTime();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
