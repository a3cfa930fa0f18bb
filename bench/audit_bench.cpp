// SPDX-License-Identifier: Apache-2.0
// Audit trail costs: appends with the RFC 6962 Merkle tree maintained, in memory and on the
// SQLite store (commits with their audit records, then the incremental tree update and signed
// checkpoint of AuditLog::writeCheckpoint()), and AuditLog::verify() over 100k records.
//
//   build/bin/audit_bench [--benchmark_min_time=2]
//
// items_per_second is audit records per second.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gateway/audit/AtnaMessage.h"
#include "gateway/audit/AuditEventExport.h"
#include "gateway/audit/AuditLeaf.h"
#include "gateway/audit/AuditLog.h"
#include "gateway/audit/MerkleTree.h"
#include "gateway/crypto/EnvelopeCipher.h"
#include "gateway/crypto/KeyUsageLedger.h"
#include "gateway/store/sqlite/SqliteStore.h"

namespace {

const gw::Deadline kFarDeadline = gw::Deadline::max();

// A fresh directory, removed at the end.
class ScratchDir {
 public:
  ScratchDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("gw-audit-bench-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

gw::NewInboundEvent event(std::uint64_t n) {
  gw::NewInboundEvent e;
  e.dedupe_key = "bench-" + std::to_string(n);
  e.listener = "adt";
  e.peer = "127.0.0.1:40000";
  e.sending_application = "BENCH_EHR";
  e.sending_facility = "BENCH_HOSP";
  e.control_id = "B" + std::to_string(n);
  e.message_type = "ADT^A03^ADT_A03";
  e.version = "2.5.1";
  e.received_at = std::chrono::system_clock::now();
  e.payload_bytes = 600;
  e.sealed_payload = std::string(700, 'x');
  return e;
}

gw::AuditEntry entry(std::uint64_t n) {
  gw::AuditEntry e;
  e.time = gw::fromUnixMillis(1706702400123 + static_cast<std::int64_t>(n));
  e.actor = "listener:adt";
  e.action = "received";
  e.object = "inbound_event:" + std::to_string(n);
  e.outcome = "ok";
  e.source = "10.0.0.5:51234";
  return e;
}

// In memory: the compact range (what AuditLog keeps), leaf hashes precomputed.
void BM_FrontierAppend(benchmark::State& state) {
  std::vector<gw::MerkleHash> leaves;
  for (int i = 0; i < 4096; ++i) {
    leaves.push_back(gw::merkle::hashLeaf("record " + std::to_string(i)));
  }
  gw::MerkleFrontier frontier;
  std::size_t i = 0;
  for (auto _ : state) {
    frontier.append(leaves[i++ & 4095]);
  }
  benchmark::DoNotOptimize(frontier.root());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FrontierAppend);

// In memory: the whole tree (every subtree kept, for proofs).
void BM_FullTreeAppend(benchmark::State& state) {
  std::vector<gw::MerkleHash> leaves;
  for (int i = 0; i < 4096; ++i) {
    leaves.push_back(gw::merkle::hashLeaf("record " + std::to_string(i)));
  }
  auto tree = std::make_unique<gw::MerkleTree>();
  std::size_t i = 0;
  for (auto _ : state) {
    tree->append(leaves[i++ & 4095]);
    if (tree->size() == (1u << 22)) {  // bound memory over long runs
      state.PauseTiming();
      tree = std::make_unique<gw::MerkleTree>();
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FullTreeAppend);

// In memory: canonical encoding + leaf hash of a typical record + frontier append.
void BM_LeafHashAndAppend(benchmark::State& state) {
  gw::MerkleFrontier frontier;
  std::string scratch;
  std::string hex;
  std::uint64_t n = 1;
  const gw::AuditEntry e = entry(42);
  for (auto _ : state) {
    if (!gw::auditLeafHashInto(static_cast<std::int64_t>(n++), e, scratch, hex).isOk()) {
      state.SkipWithError("hash failed");
      break;
    }
    frontier.append(*gw::merkle::fromHex(hex));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LeafHashAndAppend);

struct StoreWithLog {
  ScratchDir dir;
  std::shared_ptr<gw::SqliteStore> store;
  std::shared_ptr<gw::AuditLog> log;
};

std::unique_ptr<StoreWithLog> openStoreWithLog() {
  auto s = std::make_unique<StoreWithLog>();
  gw::SqliteStoreSettings settings;
  settings.path = s->dir.file("gateway.db");
  settings.durability = "process";
  auto store = gw::SqliteStore::open(settings, std::make_shared<gw::SystemClock>());
  auto signer = gw::AuditSigner::generateForTest("bench.invalid/audit");
  if (!store.ok() || !signer.ok()) {
    return nullptr;
  }
  s->store = *store;
  s->log = std::make_shared<gw::AuditLog>(s->store, std::move(signer).value());
  return s;
}

// SQLite: `threads` callers commit events (each with its "received" audit record; the store's
// group commit batches them); after every 1024 commits the tree is brought up to date from the
// store and a signed checkpoint written (the daemon does this every N seconds).
void BM_SqliteCommitsWithTree(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  auto s = openStoreWithLog();
  if (s == nullptr) {
    state.SkipWithError("cannot open the store");
    return;
  }
  std::atomic<std::uint64_t> next{1};
  constexpr int kPerIteration = 1024;
  for (auto _ : state) {
    std::vector<std::thread> workers;
    std::atomic<bool> failed{false};
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        for (int i = 0; i < kPerIteration / threads; ++i) {
          if (!s->store->commitInbound(event(next++), kFarDeadline).ok()) {
            failed = true;
          }
        }
      });
    }
    for (std::thread& w : workers) {
      w.join();
    }
    auto checkpoint = s->log->writeCheckpoint();
    if (failed || !checkpoint.ok() || !checkpoint->has_value()) {
      state.SkipWithError("commit or checkpoint failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kPerIteration);
  s->store->close();
}
BENCHMARK(BM_SqliteCommitsWithTree)->Arg(1)->Arg(16)->UseRealTime()->Unit(benchmark::kMillisecond);

// SQLite: the incremental tree update alone (read the new records, recompute their leaf hashes,
// append, sign one checkpoint) for 10k new records.
void BM_SqliteTreeCatchUp10k(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    auto s = openStoreWithLog();
    std::vector<std::thread> workers;
    for (int t = 0; t < 16; ++t) {
      workers.emplace_back([&, t] {
        for (int i = 0; i < 625; ++i) {
          (void)s->store->commitInbound(event(static_cast<std::uint64_t>(t * 1000 + i)),
                                        kFarDeadline);
        }
      });
    }
    for (std::thread& w : workers) {
      w.join();
    }
    state.ResumeTiming();
    auto checkpoint = s->log->writeCheckpoint();
    if (!checkpoint.ok() || !checkpoint->has_value() || (*checkpoint)->tree_size != 10000) {
      state.SkipWithError("checkpoint failed");
      break;
    }
    state.PauseTiming();
    s->store->close();
    s.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_SqliteTreeCatchUp10k)->Unit(benchmark::kMillisecond)->Iterations(5);

// AuditLog::verify() over 100k records (leaf recomputation, tree, one checkpoint).
void BM_Verify100k(benchmark::State& state) {
  auto s = openStoreWithLog();
  if (s == nullptr) {
    state.SkipWithError("cannot open the store");
    return;
  }
  std::vector<std::thread> workers;
  for (int t = 0; t < 16; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < 6250; ++i) {
        (void)s->store->commitInbound(event(static_cast<std::uint64_t>(t * 10000 + i)),
                                      kFarDeadline);
      }
    });
  }
  for (std::thread& w : workers) {
    w.join();
  }
  if (!s->log->writeCheckpoint().ok()) {
    state.SkipWithError("checkpoint failed");
    return;
  }
  for (auto _ : state) {
    auto report = s->log->verify();
    if (!report.ok() || report->records != 100000) {
      state.SkipWithError("verify failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * 100000);
  s->store->close();
}
BENCHMARK(BM_Verify100k)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

// Encryption per stored message: EnvelopeCipher::seal() of a 4 KiB payload with the wrap count
// kept by an in-memory KeyUsageLedger (arg 0, the per-process count, as before the count was
// persisted) and by a KeyUsageLedger file (arg 1: one atomic file replace per 65536 seals).
void BM_Seal4KiB(benchmark::State& state) {
  ScratchDir dir;
  gw::KeyRing ring =
      gw::KeyRing::parse(
          "kek-bench 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", "bench")
          .value();
  std::shared_ptr<gw::KeyUsageLedger> ledger =
      state.range(0) == 0 ? std::shared_ptr<gw::KeyUsageLedger>(gw::KeyUsageLedger::inMemory({}))
                          : std::shared_ptr<gw::KeyUsageLedger>(
                                gw::KeyUsageLedger::open(dir.file("gateway.keys.usage")).value());
  auto cipher = gw::EnvelopeCipher::create(std::move(ring), ledger).value();
  const std::string payload(4096, 'p');
  for (auto _ : state) {
    benchmark::DoNotOptimize(cipher->seal(payload, "bench-dedupe-key").value());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * 4096);
}
BENCHMARK(BM_Seal4KiB)->Arg(0)->Arg(1);

gw::AuditRecord atnaRecord(std::int64_t seq) {
  gw::AuditRecord r;
  r.seq = seq;
  r.entry.time = std::chrono::system_clock::now();
  r.entry.actor = "listener:adt";
  r.entry.action = "received";
  r.entry.object = "inbound_event:" + std::to_string(seq);
  r.entry.outcome = "ok";
  r.entry.source = "10.0.0.5:40000";
  r.leaf_hash = std::string(64, 'a');
  return r;
}

// One audit record as the ATNA sink puts it on the wire (DICOM AuditMessage XML, RFC 5424
// header, RFC 5425 frame); the FHIR AuditEvent export of the same record is the baseline.
void BM_AtnaFrame(benchmark::State& state) {
  const gw::AuditRecord record = atnaRecord(42);
  const gw::atna::SyslogHeader header{"gw1.example.invalid", "ehr-gateway", "4242"};
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string frame = gw::atna::octetCountedFrame(gw::atna::toSyslogMessage(
        record, header, gw::atna::toAuditMessageXml(record, "gateway.invalid/audit")));
    bytes += frame.size();
    benchmark::DoNotOptimize(frame.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_AtnaFrame);

void BM_FhirAuditEventBaseline(benchmark::State& state) {
  const gw::AuditRecord record = atnaRecord(42);
  for (auto _ : state) {
    benchmark::DoNotOptimize(gw::toFhirAuditEvent(record, "gateway.invalid/audit"));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FhirAuditEventBaseline);

BENCHMARK_MAIN();
