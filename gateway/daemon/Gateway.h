// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "gateway/api/InboundAdapter.h"
#include "gateway/api/PatientStore.h"
#include "gateway/api/PayloadCipher.h"
#include "gateway/api/Result.h"
#include "gateway/api/Store.h"
#include "gateway/audit/AtnaSink.h"
#include "gateway/audit/AuditLog.h"
#include "gateway/core/DeliveryService.h"
#include "gateway/core/FhirIntake.h"
#include "gateway/core/Housekeeping.h"
#include "gateway/core/Intake.h"
#include "gateway/core/MapperService.h"
#include "gateway/core/OperatorActions.h"
#include "gateway/daemon/GatewayConfig.h"
#include "gateway/http/HttpServer.h"
#include "gateway/mapping/PolicyState.h"
#include "gateway/store/sqlite/SqliteFhirClientState.h"

namespace gw {
namespace inbox {
class InboxService;
}
namespace admin {
class AdminService;
}

// Opens (or, when the config allows, creates) the key file and returns the payload cipher.
Result<PayloadCipherPtr> openCipher(const KeySettings& keys);
// Opens the configured store (migrations run here).
Result<StorePtr> openStore(const GatewayConfig& config, ClockPtr clock);
// Loads (or, when the config allows, creates) the audit signing key and returns the audit log
// over `store`.
Result<std::shared_ptr<AuditLog>> openAuditLog(const AuditSettings& audit, StorePtr store);

// The wired gateway: key ring, store, intake and inbound adapters. create() does everything that
// can fail before a socket is bound; start() binds; stop() follows DESIGN.md section 7: stop
// accepting (adapters finish their in-flight frames), refuse new intake, drain the store writer,
// write the shutdown audit checkpoint, close the store. Between start() and stop() an audit
// checkpoint is written every audit.checkpoint_interval_seconds when the log grew, and with
// audit.atna enabled every audit record is sent to the ATNA collector (AtnaSink.h).
class Gateway {
 public:
  // `clock` null: the system clock. Benchmarks pass one that can jump ahead (retention).
  static Result<std::unique_ptr<Gateway>> create(const GatewayConfig& config,
                                                 ClockPtr clock = nullptr);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Starts every listener; on failure stops the ones already started. An empty
  // outbound.secure_inbox.base_url becomes the web server's bound address + path_prefix
  // (https with TLS) here, after the web server binds and before delivery starts.
  Status start();
  // (listener name, bound "host:port") for each started listener.
  std::vector<std::pair<std::string, std::string>> listeners() const;
  IntakeStats intakeStats() const { return intake_->stats(); }
  // Bound "host:port" of the FHIR server, "" when inbound.fhir is disabled.
  std::string fhirAddress() const;
  // Bound "host:port" of the web server (secure inbox, admin API), "" when it is not served.
  std::string webAddress() const;
  // True when the admin API is mounted on the web server.
  bool adminEnabled() const { return admin_handler_ != nullptr; }
  // SIGHUP (and the admin API's config reload): loads the mapping files again; on any error the
  // running set stays and the errors are returned (file:line:col lines). Connections are not
  // touched. Success is audited "config_reloaded" with `who`.
  Status reloadMappings(const OperatorContext& who = {"operator:signal", "", ""});
  MapperStats mapperStats() const;
  DeliveryStats deliveryStats() const;
  HousekeepingStats housekeepingStats() const;
  void stop();

 private:
  Gateway() = default;
  Status createPipeline(const GatewayConfig& config, const PayloadCipherPtr& cipher);
  Status createAdmin(const GatewayConfig& config, const PayloadCipherPtr& cipher);

  ClockPtr clock_;
  StorePtr store_;
  std::shared_ptr<Intake> intake_;
  std::shared_ptr<AuditLog> audit_log_;
  std::unique_ptr<AuditCheckpointer> checkpointer_;
  std::unique_ptr<AtnaSink> atna_sink_;  // null unless audit.atna.enabled
  std::vector<InboundAdapterPtr> adapters_;
  std::shared_ptr<FhirIntake> fhir_intake_;
  // Used token ids and subscription state of the FHIR clients (SQLite store only); declared
  // before the adapter, which uses it, so it is destroyed after it.
  std::shared_ptr<SqliteFhirClientState> fhir_client_state_;
  InboundAdapterPtr fhir_adapter_;  // started after the MLLP listeners, stopped before them

  // Outbound half: mapper thread, delivery workers, retention, the inbox pages.
  PipelineSettings pipeline_settings_;
  std::string pseudonym_key_;
  std::shared_ptr<MessageStore> messages_;
  std::shared_ptr<PatientStore> patients_;
  std::shared_ptr<ReplySink> replies_;
  std::shared_ptr<mapping::PolicyState> policy_state_;
  std::unique_ptr<MapperService> mapper_;
  std::unique_ptr<DeliveryService> delivery_;
  std::unique_ptr<Housekeeping> housekeeping_;
  // Links use outbound.secure_inbox.base_url; when that is empty, start() derives it from the
  // web server's bound address before any delivery worker runs.
  std::shared_ptr<inbox::InboxService> inbox_service_;
  std::shared_ptr<http::HttpHandler> inbox_handler_;  // outlives web_server_ (declared first)
  std::shared_ptr<http::HttpHandler> reply_webhook_;  // likewise
  std::shared_ptr<admin::AdminService> admin_service_;
  std::shared_ptr<http::HttpHandler> admin_handler_;  // outlives web_server_ (declared first)
  std::unique_ptr<http::HttpServer> web_server_;
  std::mutex reload_mu_;  // one reload at a time (SIGHUP and the admin API)
  bool stopped_ = false;
};

// `gateway run`: loads the config (exit 78 on errors, before binding), starts the gateway, prints
// one "listening" line per listener on standard output, waits for SIGINT/SIGTERM, shuts down.
int runGateway(const std::string& config_path);

// `gateway check-config`: 0 when valid, 78 with every error listed otherwise.
int checkConfig(const std::string& config_path);

}  // namespace gw
