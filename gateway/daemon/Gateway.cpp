// SPDX-License-Identifier: Apache-2.0
#include "gateway/daemon/Gateway.h"

#include <Poco/Logger.h>
#include <signal.h>

#include <filesystem>
#include <iostream>

#include "adapters/inbound/mllp/MllpAdapter.h"
#include "gateway/crypto/EnvelopeCipher.h"
#include "gateway/crypto/KeyRing.h"
#include "gateway/daemon/Logging.h"
#include "gateway/store/sqlite/SqliteStore.h"

namespace gw {
namespace {

Poco::Logger& logger() { return Poco::Logger::get("gw.daemon"); }

}  // namespace

Result<PayloadCipherPtr> openCipher(const KeySettings& keys) {
  if (keys.generate_if_missing && !std::filesystem::exists(keys.key_file)) {
    GW_ASSIGN_OR_RETURN(std::string key_id, KeyRing::generateFile(keys.key_file));
    poco_information(logger(), "generated key file " + keys.key_file + " with key " + key_id);
  }
  GW_ASSIGN_OR_RETURN(KeyRing ring, KeyRing::load(keys.key_file));
  // Wraps per key are counted across restarts in "<key file>.usage" (KeyUsageLedger.h).
  GW_ASSIGN_OR_RETURN(std::shared_ptr<KeyUsageLedger> usage,
                      KeyUsageLedger::open(KeyUsageLedger::pathFor(keys.key_file)));
  GW_ASSIGN_OR_RETURN(std::shared_ptr<EnvelopeCipher> cipher,
                      EnvelopeCipher::create(std::move(ring), std::move(usage)));
  return PayloadCipherPtr(std::move(cipher));
}

Result<StorePtr> openStore(const GatewayConfig& config, ClockPtr clock) {
  GW_ASSIGN_OR_RETURN(std::shared_ptr<SqliteStore> store,
                      SqliteStore::open(config.store, std::move(clock)));
  return StorePtr(std::move(store));
}

Result<std::shared_ptr<AuditLog>> openAuditLog(const AuditSettings& audit, StorePtr store) {
  const bool existed = std::filesystem::exists(audit.signing_key_file);
  GW_ASSIGN_OR_RETURN(std::unique_ptr<AuditSigner> signer,
                      AuditSigner::loadOrGenerate(audit.signing_key_file, audit.origin,
                                                  audit.generate_if_missing));
  if (!existed) {
    poco_information(logger(), "generated audit signing key " + audit.signing_key_file +
                                   " (verifier key " + signer->verifierKey() + ")");
  }
  return std::make_shared<AuditLog>(std::move(store), std::move(signer));
}

Result<std::unique_ptr<Gateway>> Gateway::create(const GatewayConfig& config) {
  std::unique_ptr<Gateway> gateway(new Gateway());
  gateway->clock_ = std::make_shared<SystemClock>();
  GW_ASSIGN_OR_RETURN(PayloadCipherPtr cipher, openCipher(config.keys));
  GW_ASSIGN_OR_RETURN(gateway->store_, openStore(config, gateway->clock_));
  gateway->intake_ = std::make_shared<Intake>(gateway->store_, cipher, gateway->clock_);
  Result<std::shared_ptr<AuditLog>> audit_log = openAuditLog(config.audit, gateway->store_);
  if (!audit_log.ok()) {
    return audit_log.status().withContext("audit");
  }
  gateway->checkpointer_ = std::make_unique<AuditCheckpointer>(
      std::move(audit_log).value(), std::chrono::seconds(config.audit.checkpoint_interval_seconds),
      [](const Status& status, const std::optional<AuditCheckpoint>& written) {
        if (!status.isOk()) {
          poco_error(logger(), "audit checkpoint not written: " + status.toString());
        } else if (written) {
          poco_information(logger(), "audit checkpoint at size " +
                                         std::to_string(written->tree_size) + ", root " +
                                         written->root_hash);
        }
      });
  if (config.audit.atna.enabled) {
    Result<std::unique_ptr<AtnaTransport>> transport = makeTlsSyslogTransport(config.audit.atna);
    if (!transport.ok()) {
      return transport.status().withContext("audit.atna");
    }
    Result<std::unique_ptr<AtnaSink>> sink = AtnaSink::create(
        gateway->store_, config.audit.atna, std::move(transport).value());
    if (!sink.ok()) {
      return sink.status().withContext("audit.atna");
    }
    gateway->atna_sink_ = std::move(sink).value();
  }
  for (const MllpSettings& settings : config.mllp) {
    Result<InboundAdapterPtr> adapter = makeMllpAdapter(settings, *gateway->intake_);
    if (!adapter.ok()) {
      return adapter.status().withContext("listener \"" + settings.name + "\"");
    }
    gateway->adapters_.push_back(std::move(adapter).value());
  }
  return gateway;
}

Gateway::~Gateway() { stop(); }

Status Gateway::start() {
  for (std::size_t i = 0; i < adapters_.size(); ++i) {
    Status started = adapters_[i]->start();
    if (!started.isOk()) {
      for (std::size_t j = 0; j < i; ++j) {
        adapters_[j]->stop();
      }
      return started.withContext("listener \"" + std::string(adapters_[i]->name()) + "\"");
    }
  }
  if (checkpointer_) {
    checkpointer_->start();
  }
  if (atna_sink_) {
    atna_sink_->start();
  }
  return Status::ok();
}

std::vector<std::pair<std::string, std::string>> Gateway::listeners() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const InboundAdapterPtr& a : adapters_) {
    out.emplace_back(std::string(a->name()), a->boundAddress());
  }
  return out;
}

void Gateway::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  for (InboundAdapterPtr& a : adapters_) {
    a->stop();  // in-flight frames finish and are answered
  }
  if (intake_) {
    intake_->beginShutdown();
  }
  if (checkpointer_) {
    // Every commit has returned (adapters stopped, intake refuses): the log is final.
    (void)checkpointer_->stop();  // its listener logs the outcome
  }
  if (atna_sink_) {
    atna_sink_->stop();  // what is not sent yet stays pending in the store for the next start
  }
  if (store_) {
    store_->close();  // drains the writer
  }
}

int checkConfig(const std::string& config_path) {
  GatewayConfig config;
  std::string diagnostics;
  if (!loadGatewayConfig(config_path, config, diagnostics)) {
    std::cerr << diagnostics;
    return kExitConfigError;
  }
  std::cout << config_path << ": ok (" << config.mllp.size() << " MLLP listener"
            << (config.mllp.size() == 1 ? "" : "s") << ")\n";
  return 0;
}

int runGateway(const std::string& config_path) {
  GatewayConfig config;
  std::string diagnostics;
  if (!loadGatewayConfig(config_path, config, diagnostics)) {
    std::cerr << diagnostics;
    return kExitConfigError;
  }
  if (Status s = configureLogging(config.logging); !s.isOk()) {
    std::cerr << config_path << ": error: " << s.message() << "\n";
    return kExitConfigError;
  }
  // Block the termination signals in every thread; this one waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Result<std::unique_ptr<Gateway>> gateway = Gateway::create(config);
  if (!gateway.ok()) {
    std::cerr << "gateway: cannot start: " << gateway.status().toString() << "\n";
    const StatusCode code = gateway.status().code();
    return code == StatusCode::Unavailable || code == StatusCode::DataLoss ? 1 : kExitConfigError;
  }
  if (Status s = (*gateway)->start(); !s.isOk()) {
    std::cerr << "gateway: cannot start: " << s.toString() << "\n";
    return 1;
  }
  for (const auto& [name, address] : (*gateway)->listeners()) {
    std::cout << "gateway: MLLP listener \"" << name << "\" listening on " << address << std::endl;
  }
  poco_information(logger(), "gateway started");
  for (;;) {
    int received = 0;
    if (sigwait(&signals, &received) != 0) {
      continue;
    }
    if (received == SIGHUP) {
      poco_information(logger(), "SIGHUP: nothing to reload yet");
      continue;
    }
    poco_information(logger(), std::string("stopping on ") + (received == SIGINT ? "SIGINT" : "SIGTERM"));
    break;
  }
  (*gateway)->stop();
  const IntakeStats stats = (*gateway)->intakeStats();
  poco_information(logger(), "stopped: accepted " + std::to_string(stats.accepted) + ", duplicates " +
                                 std::to_string(stats.duplicates) + ", rejected " +
                                 std::to_string(stats.rejected) + ", failed " +
                                 std::to_string(stats.failed));
  std::cout << "gateway: stopped" << std::endl;
  return 0;
}

}  // namespace gw
