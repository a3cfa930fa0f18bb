// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/fhir/FhirAdapter.h"

#include <Poco/Logger.h>

#include "adapters/inbound/fhir/FhirHandler.h"
#include "gateway/http/HttpServer.h"

namespace gw {
namespace {

class FhirAdapter final : public InboundAdapter {
 public:
  FhirAdapter(std::string name, std::unique_ptr<fhirin::FhirHandler> handler,
              std::unique_ptr<http::HttpServer> server)
      : name_(std::move(name)), handler_(std::move(handler)), server_(std::move(server)) {}
  ~FhirAdapter() override { stop(); }

  // InboundAdapter
  std::string_view name() const override { return name_; }
  Status start() override {
    Status started = server_->start();
    started_ = started.isOk();
    return started;
  }
  std::string boundAddress() const override { return server_->boundAddress(); }
  void stop() override {
    if (stopped_ || !started_) {
      return;
    }
    stopped_ = true;
    server_->stop();  // in-flight requests are answered first
    const fhirin::FhirStats s = handler_->stats();
    poco_information(Poco::Logger::get("gw.inbound.fhir"),
                     "[server=" + name_ + "] stopped: accepted " + std::to_string(s.accepted) +
                         ", resends " + std::to_string(s.duplicates) + ", notifications " +
                         std::to_string(s.notifications) + ", client errors " +
                         std::to_string(s.client_errors) + ", unavailable " +
                         std::to_string(s.unavailable) + ", subscription gaps " +
                         std::to_string(s.subscription_gaps));
  }

 private:
  std::string name_;
  std::unique_ptr<fhirin::FhirHandler> handler_;  // outlives server_ (declared first)
  std::unique_ptr<http::HttpServer> server_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace

Result<InboundAdapterPtr> makeFhirAdapter(const FhirSettings& settings, InboundSink& sink,
                                          AuditStore* audit, ClockPtr clock,
                                          TokenReplayLedger* tokens,
                                          SubscriptionLedger* subscriptions) {
  GW_ASSIGN_OR_RETURN(std::unique_ptr<fhirin::FhirHandler> handler,
                      fhirin::FhirHandler::create(settings, sink, audit, std::move(clock), tokens,
                                                  subscriptions));
  GW_ASSIGN_OR_RETURN(std::unique_ptr<http::HttpServer> server,
                      http::HttpServer::create(settings.name, settings.server));
  server->mount(settings.base_path, *handler);
  return InboundAdapterPtr(
      std::make_unique<FhirAdapter>(settings.name, std::move(handler), std::move(server)));
}

}  // namespace gw
