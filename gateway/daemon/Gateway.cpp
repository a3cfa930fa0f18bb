// SPDX-License-Identifier: Apache-2.0
#include "gateway/daemon/Gateway.h"

#include <Poco/Logger.h>
#include <openssl/rand.h>
#include <signal.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <iostream>

#include "adapters/inbound/fhir/FhirAdapter.h"
#include "adapters/inbound/mllp/MllpAdapter.h"
#include "adapters/outbound/email/EmailChannel.h"
#include "adapters/outbound/messaging_api/MessagingApiChannel.h"
#include "adapters/outbound/messaging_api/MessagingWebhook.h"
#include "adapters/outbound/secure_inbox/InboxChannel.h"
#include "adapters/outbound/secure_inbox/InboxPages.h"
#include "adapters/outbound/secure_inbox/InboxService.h"
#include "gateway/admin/AdminHttpHandler.h"
#include "gateway/admin/AdminService.h"
#include "gateway/admin/AuditVerify.h"
#include "gateway/crypto/EnvelopeCipher.h"
#include "gateway/crypto/KeyRing.h"
#include "gateway/crypto/SecretFile.h"
#include "gateway/daemon/Logging.h"
#include "gateway/pipeline/EngineMapper.h"
#include "gateway/pipeline/InboxHttpHandler.h"
#include "gateway/pipeline/ReplyHandler.h"
#include "gateway/store/sqlite/SqliteAdminStore.h"
#include "gateway/store/sqlite/SqliteInboxStore.h"
#include "gateway/store/sqlite/SqliteMessageStore.h"
#include "gateway/store/sqlite/SqlitePatientStore.h"
#include "gateway/store/sqlite/SqliteStore.h"

namespace gw {
namespace {

Poco::Logger& logger() {
  return Poco::Logger::get("gw.daemon");
}

constexpr std::size_t kPseudonymKeyBytes = 32;

// The patient-pseudonym key (HMAC key of patient keys): created owner-only on first run when
// allowed, refused when readable by others.
Result<std::string> loadPseudonymKey(const MappingsConfig& m) {
  if (m.generate_if_missing && !std::filesystem::exists(m.pseudonym_key_file)) {
    std::string key(kPseudonymKeyBytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) !=
        1) {
      return Status::internal("cannot draw a random pseudonym key");
    }
    std::filesystem::create_directories(std::filesystem::path(m.pseudonym_key_file).parent_path());
    GW_RETURN_IF_ERROR(createSecretFile(m.pseudonym_key_file, key, "pseudonym key"));
    poco_information(logger(), "generated pseudonym key file " + m.pseudonym_key_file);
  }
  GW_ASSIGN_OR_RETURN(std::string key, readSecretFile(m.pseudonym_key_file, "pseudonym key", 4096,
                                                      SymlinkPolicy::Follow));
  if (key.size() < 16) {
    return Status::invalidArgument("pseudonym key file " + m.pseudonym_key_file +
                                   " holds fewer than 16 bytes");
  }
  return key;
}

// Loads the mapping files; every error as a file:line:col line.
Result<std::shared_ptr<const mapping::MappingSet>> loadMappings(const MappingsConfig& m) {
  ConfigErrors errors;
  std::shared_ptr<const mapping::MappingSet> set =
      mapping::MappingSet::load(m.directory, m.engine, errors);
  if (!set) {
    return Status::invalidArgument(errors.toString());
  }
  return set;
}

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
  GW_ASSIGN_OR_RETURN(
      std::unique_ptr<AuditSigner> signer,
      AuditSigner::loadOrGenerate(audit.signing_key_file, audit.origin, audit.generate_if_missing));
  if (!existed) {
    poco_information(logger(), "generated audit signing key " + audit.signing_key_file +
                                   " (verifier key " + signer->verifierKey() + ")");
  }
  return std::make_shared<AuditLog>(std::move(store), std::move(signer));
}

Result<std::unique_ptr<Gateway>> Gateway::create(const GatewayConfig& config, ClockPtr clock) {
  std::unique_ptr<Gateway> gateway(new Gateway());
  gateway->clock_ = clock ? std::move(clock) : std::make_shared<SystemClock>();
  GW_ASSIGN_OR_RETURN(PayloadCipherPtr cipher, openCipher(config.keys));
  GW_ASSIGN_OR_RETURN(gateway->store_, openStore(config, gateway->clock_));
  gateway->intake_ = std::make_shared<Intake>(gateway->store_, cipher, gateway->clock_);
  Result<std::shared_ptr<AuditLog>> audit_log = openAuditLog(config.audit, gateway->store_);
  if (!audit_log.ok()) {
    return audit_log.status().withContext("audit");
  }
  gateway->audit_log_ = std::move(audit_log).value();
  gateway->checkpointer_ = std::make_unique<AuditCheckpointer>(
      gateway->audit_log_, std::chrono::seconds(config.audit.checkpoint_interval_seconds),
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
  if (config.fhir.enabled) {
    gateway->fhir_intake_ = std::make_shared<FhirIntake>(gateway->store_, cipher, gateway->clock_);
    if (auto sqlite = std::dynamic_pointer_cast<SqliteStore>(gateway->store_)) {
      gateway->fhir_client_state_ = std::make_shared<SqliteFhirClientState>(sqlite);
    }
    Result<InboundAdapterPtr> fhir = makeFhirAdapter(
        config.fhir, *gateway->fhir_intake_, gateway->store_.get(), gateway->clock_,
        gateway->fhir_client_state_.get(), gateway->fhir_client_state_.get());
    if (!fhir.ok()) {
      return fhir.status().withContext("inbound.fhir");
    }
    gateway->fhir_adapter_ = std::move(fhir).value();
  }
  GW_RETURN_IF_ERROR(gateway->createPipeline(config, cipher));
  GW_RETURN_IF_ERROR(gateway->createAdmin(config, cipher));
  return gateway;
}

Status Gateway::createAdmin(const GatewayConfig& config, const PayloadCipherPtr& cipher) {
  if (!config.admin.enabled) {
    return Status::ok();
  }
  auto sqlite = std::dynamic_pointer_cast<SqliteStore>(store_);
  if (!sqlite) {
    return Status::internal("the configured store has no admin tables");
  }
  admin::AdminHooks hooks;
  hooks.reload_config = [this](const OperatorContext& who) { return reloadMappings(who); };
  hooks.rotate_keys = [key_file = config.keys.key_file] { return KeyRing::appendNewKey(key_file); };
  hooks.verify_audit = [log = audit_log_] { return admin::verifyAuditLog(*log); };
  Result<std::unique_ptr<admin::AdminService>> service =
      admin::AdminService::create(config.admin, std::make_shared<SqliteAdminStore>(sqlite), store_,
                                  messages_, cipher, clock_, std::move(hooks));
  if (!service.ok()) {
    return service.status().withContext("admin");
  }
  admin_service_ = std::move(service).value();
  auto handler = std::make_shared<admin::AdminHttpHandler>(admin_service_);
  if (!web_server_) {
    Result<std::unique_ptr<http::HttpServer>> server =
        http::HttpServer::create("web", config.web.server);
    if (!server.ok()) {
      return server.status().withContext("web");
    }
    web_server_ = std::move(server).value();
  }
  web_server_->mount(handler->mountPrefix(), *handler);
  admin_handler_ = std::move(handler);
  return Status::ok();
}

Status Gateway::createPipeline(const GatewayConfig& config, const PayloadCipherPtr& cipher) {
  pipeline_settings_ = config.pipeline;
  auto sqlite = std::dynamic_pointer_cast<SqliteStore>(store_);
  if (!sqlite) {
    return Status::internal("the configured store has no patient-message tables");
  }
  messages_ = std::make_shared<SqliteMessageStore>(sqlite);
  patients_ = std::make_shared<SqlitePatientStore>(sqlite);
  replies_ = std::make_shared<ReplyHandler>(messages_, patients_, cipher, clock_);
  policy_state_ = std::make_shared<StorePolicyState>(messages_, patients_);

  std::vector<OutboundChannelPtr> channels;
  Result<EmailOutbound> email = makeEmailOutbound(config.outbound.email, clock_);
  if (!email.ok()) {
    return email.status().withContext("outbound.email");
  }
  channels.push_back(email->channel);
  if (config.outbound.messaging_api_enabled) {
    Result<std::shared_ptr<MessagingApiChannel>> api =
        MessagingApiChannel::create(config.outbound.messaging_api);
    if (!api.ok()) {
      return api.status().withContext("outbound.messaging_api");
    }
    channels.push_back(std::move(api).value());
  }
  if (config.outbound.secure_inbox_enabled) {
    auto inbox_store = std::make_shared<SqliteInboxStore>(sqlite);
    auto service =
        std::make_shared<inbox::InboxService>(config.outbound.secure_inbox, inbox_store, cipher,
                                              email->notifier, clock_, patients_, replies_);
    Result<OutboundChannelPtr> channel = makeInboxChannel(service, inbox_store);
    if (!channel.ok()) {
      return channel.status().withContext("outbound.secure_inbox");
    }
    channels.push_back(std::move(channel).value());
    inbox_service_ = service;
    inbox_handler_ =
        std::make_shared<InboxHttpHandler>(std::make_shared<inbox::InboxPages>(service));
    Result<std::unique_ptr<http::HttpServer>> server =
        http::HttpServer::create("web", config.web.server);
    if (!server.ok()) {
      return server.status().withContext("web");
    }
    web_server_ = std::move(server).value();
    web_server_->mount(config.outbound.secure_inbox.path_prefix, *inbox_handler_);
  }
  if (config.outbound.messaging_api_enabled) {
    if (web_server_) {
      Result<std::unique_ptr<MessagingWebhook>> webhook =
          MessagingWebhook::create(config.outbound.messaging_api, replies_, clock_);
      if (!webhook.ok()) {
        return webhook.status().withContext("outbound.messaging_api");
      }
      reply_webhook_ = std::move(webhook).value();
      web_server_->mount(kMessagingWebhookPath, *reply_webhook_);
    } else {
      poco_warning(logger(),
                   "text replies from the messaging API are not received: the web server that "
                   "takes them runs with outbound.secure_inbox only");
    }
  }
  delivery_ = std::make_unique<DeliveryService>(messages_, cipher, clock_, std::move(channels),
                                                config.pipeline.delivery);
  housekeeping_ = std::make_unique<Housekeeping>(messages_, clock_, config.pipeline.retention);

  if (config.pipeline.mappings.enabled) {
    GW_ASSIGN_OR_RETURN(pseudonym_key_, loadPseudonymKey(config.pipeline.mappings));
    Result<std::shared_ptr<const mapping::MappingSet>> set = loadMappings(config.pipeline.mappings);
    if (!set.ok()) {
      return set.status().withContext("mappings");
    }
    auto mapper = std::make_shared<EngineEventMapper>(std::move(set).value(), clock_,
                                                      pseudonym_key_, policy_state_);
    DeliveryService* delivery = delivery_.get();
    mapper_ = std::make_unique<MapperService>(
        store_, messages_, cipher, clock_, std::move(mapper),
        [delivery](ChannelKind channel) { delivery->wake(channel); });
    // New events are mapped at once, not at the mapper's next poll (500 ms).
    MapperService* mapper_service = mapper_.get();
    intake_->setOnCommitted([mapper_service] { mapper_service->wake(); });
    if (fhir_intake_) {
      fhir_intake_->setOnCommitted([mapper_service] { mapper_service->wake(); });
    }
  }
  return Status::ok();
}

Status Gateway::reloadMappings(const OperatorContext& who) {
  if (!mapper_) {
    return Status::failedPrecondition("mappings are not enabled in the configuration");
  }
  std::lock_guard<std::mutex> lock(reload_mu_);
  Result<std::shared_ptr<const mapping::MappingSet>> set =
      loadMappings(pipeline_settings_.mappings);
  if (!set.ok()) {
    return set.status();
  }
  const std::size_t count = (*set)->mappings().size();
  mapper_->setMapper(std::make_shared<EngineEventMapper>(std::move(set).value(), clock_,
                                                         pseudonym_key_, policy_state_));
  poco_information(logger(), "mappings reloaded: " + std::to_string(count) + " mappings");
  const std::string loaded = std::to_string(count) + " mappings loaded";
  (void)store_->appendAudit({SystemTime(), who.actor, "config_reloaded", "mappings", "ok",
                             who.source, who.reason.empty() ? loaded : who.reason + "; " + loaded});
  return Status::ok();
}

MapperStats Gateway::mapperStats() const {
  return mapper_ ? mapper_->stats() : MapperStats();
}

DeliveryStats Gateway::deliveryStats() const {
  return delivery_ ? delivery_->stats() : DeliveryStats();
}

HousekeepingStats Gateway::housekeepingStats() const {
  return housekeeping_ ? housekeeping_->stats() : HousekeepingStats();
}

std::string Gateway::webAddress() const {
  return web_server_ ? web_server_->boundAddress() : std::string();
}

Gateway::~Gateway() {
  stop();
}

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
  if (fhir_adapter_) {
    if (Status started = fhir_adapter_->start(); !started.isOk()) {
      for (InboundAdapterPtr& a : adapters_) {
        a->stop();
      }
      return started.withContext("inbound.fhir");
    }
  }
  if (web_server_) {
    if (Status started = web_server_->start(); !started.isOk()) {
      if (fhir_adapter_) {
        fhir_adapter_->stop();
      }
      for (InboundAdapterPtr& a : adapters_) {
        a->stop();
      }
      return started.withContext("web");
    }
    if (inbox_service_ && inbox_service_->settings().base_url.empty()) {
      Result<std::string> url = derivedInboxBaseUrl(web_server_->boundAddress(), web_server_->tls(),
                                                    inbox_service_->settings().path_prefix);
      Status set = url.ok() ? inbox_service_->setDerivedBaseUrl(*url) : url.status();
      if (!set.isOk()) {
        web_server_->stop();
        if (fhir_adapter_) {
          fhir_adapter_->stop();
        }
        for (InboundAdapterPtr& a : adapters_) {
          a->stop();
        }
        return set.withContext("outbound.secure_inbox");
      }
    }
  }
  if (mapper_) {
    mapper_->start();
  }
  delivery_->start();
  housekeeping_->start();
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
  if (fhir_adapter_) {
    fhir_adapter_->stop();  // in-flight requests finish and are answered
  }
  if (fhir_intake_) {
    fhir_intake_->beginShutdown();
  }
  for (InboundAdapterPtr& a : adapters_) {
    a->stop();  // in-flight frames finish and are answered
  }
  if (intake_) {
    intake_->beginShutdown();
  }
  if (web_server_) {
    web_server_->stop();  // patients' requests in flight are answered
  }
  if (mapper_) {
    mapper_->stop();  // the event being mapped is committed or left received
  }
  if (delivery_) {
    delivery_->stop();  // attempts in flight finish and are recorded
  }
  if (housekeeping_) {
    housekeeping_->stop();
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

std::string Gateway::fhirAddress() const {
  return fhir_adapter_ ? fhir_adapter_->boundAddress() : std::string();
}

int checkConfig(const std::string& config_path) {
  GatewayConfig config;
  std::string diagnostics;
  if (!loadGatewayConfig(config_path, config, diagnostics)) {
    std::cerr << diagnostics;
    return kExitConfigError;
  }
  if (config.pipeline.mappings.enabled) {
    const Result<std::shared_ptr<const mapping::MappingSet>> set =
        loadMappings(config.pipeline.mappings);
    if (!set.ok()) {
      std::cerr << set.status().message();
      return kExitConfigError;
    }
    std::cout << config.pipeline.mappings.directory << ": ok (" << (*set)->mappings().size()
              << " mappings)\n";
  }
  std::cout << config_path << ": ok (" << config.mllp.size() << " MLLP listener"
            << (config.mllp.size() == 1 ? "" : "s") << (config.fhir.enabled ? ", FHIR server" : "")
            << ")\n";
  return 0;
}

namespace {

// The console's counts (numbers only, never PHI): printed every kProgressInterval while they
// change, and once more at shutdown.
constexpr int kProgressIntervalSeconds = 10;

std::string progressLine(const Gateway& gateway) {
  const IntakeStats in = gateway.intakeStats();
  const MapperStats mapped = gateway.mapperStats();
  const DeliveryStats sent = gateway.deliveryStats();
  const auto n = [](std::uint64_t v) { return std::to_string(v); };
  return "received " + n(in.accepted) + " over MLLP (duplicates " + n(in.duplicates) +
         ", rejected " + n(in.rejected) + ", failed " + n(in.failed) + "); mapped " +
         n(mapped.mapped) + " (ignored " + n(mapped.ignored) + ", held " + n(mapped.held) +
         "); patient messages " + n(mapped.messages) + "; sent " + n(sent.sent) + " (retried " +
         n(sent.retried) + ", dead " + n(sent.dead) + ", suppressed " + n(sent.suppressed) + ")";
}

}  // namespace

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
  if (const std::string web = (*gateway)->webAddress(); !web.empty()) {
    if (config.outbound.secure_inbox_enabled) {
      std::cout << "gateway: secure inbox listening on " << web
                << config.outbound.secure_inbox.path_prefix << std::endl;
    }
    if ((*gateway)->adminEnabled()) {
      std::cout << "gateway: admin API listening on " << web << config.admin.path_prefix
                << std::endl;
    }
  }
  if (const std::string fhir = (*gateway)->fhirAddress(); !fhir.empty()) {
    std::cout << "gateway: FHIR server \"" << config.fhir.name << "\" listening on " << fhir
              << config.fhir.base_path << std::endl;
  }
  poco_information(logger(), "gateway started");
  std::string last_progress = progressLine(**gateway);
  for (;;) {
    timespec interval{kProgressIntervalSeconds, 0};
    const int received = sigtimedwait(&signals, nullptr, &interval);
    if (received < 0) {
      if (errno == EAGAIN) {
        if (std::string progress = progressLine(**gateway); progress != last_progress) {
          std::cout << "gateway: " << progress << std::endl;
          last_progress = std::move(progress);
        }
      }
      continue;
    }
    if (received == SIGHUP) {
      const Status reloaded = (*gateway)->reloadMappings();
      if (!reloaded.isOk()) {
        poco_error(logger(),
                   "SIGHUP: mappings not reloaded, the running set stays: " + reloaded.message());
        std::cerr << "gateway: mappings not reloaded, the running set stays:\n"
                  << reloaded.message();
      }
      continue;
    }
    poco_information(logger(),
                     std::string("stopping on ") + (received == SIGINT ? "SIGINT" : "SIGTERM"));
    break;
  }
  (*gateway)->stop();
  const IntakeStats stats = (*gateway)->intakeStats();
  poco_information(logger(), "stopped: accepted " + std::to_string(stats.accepted) +
                                 ", duplicates " + std::to_string(stats.duplicates) +
                                 ", rejected " + std::to_string(stats.rejected) + ", failed " +
                                 std::to_string(stats.failed));
  const MapperStats mapped = (*gateway)->mapperStats();
  const DeliveryStats delivered = (*gateway)->deliveryStats();
  poco_information(
      logger(), "mapped " + std::to_string(mapped.mapped) + " events (held " +
                    std::to_string(mapped.held) + ", ignored " + std::to_string(mapped.ignored) +
                    "), created " + std::to_string(mapped.messages) + " patient messages; sent " +
                    std::to_string(delivered.sent) + ", retried " +
                    std::to_string(delivered.retried) + ", dead " + std::to_string(delivered.dead) +
                    ", fallbacks " + std::to_string(delivered.fallbacks) + ", suppressed " +
                    std::to_string(delivered.suppressed));
  std::cout << "gateway: stopped: " << progressLine(**gateway) << std::endl;
  return 0;
}

}  // namespace gw
