// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "adapters/inbound/fhir/FhirEvent.h"
#include "adapters/inbound/fhir/FhirOutput.h"
#include "adapters/inbound/fhir/FhirSettings.h"
#include "adapters/inbound/fhir/JwtVerifier.h"
#include "adapters/inbound/fhir/SubscriptionTracker.h"
#include "gateway/api/AuditStore.h"
#include "gateway/api/Clock.h"
#include "gateway/api/FhirClientState.h"
#include "gateway/api/InboundSink.h"
#include "gateway/http/HttpServer.h"

namespace gw::fhirin {

struct FhirStats {
  std::uint64_t accepted = 0;       // committed (2xx), new events
  std::uint64_t duplicates = 0;     // resends answered from an earlier commit
  std::uint64_t notifications = 0;  // handshakes and heartbeats answered (not stored)
  std::uint64_t client_errors = 0;  // 4xx
  std::uint64_t unavailable = 0;    // 503
  std::uint64_t subscription_gaps = 0;
};

// The FHIR endpoints under the base path (README.md): routing, content negotiation, auth,
// parsing, the rules of each endpoint, intake through the InboundSink (2xx only after it
// returned OK) and OperationOutcome errors. Socket-free: the HTTP server calls handle().
// `audit` (may be null) receives subscription gap warnings when there is no subscription ledger.
// `tokens` remembers used bearer token ids (jti) so a replay is refused; null keeps them in this
// process's memory only (tests; a restart forgets them). `subscriptions` keeps the subscription
// counters and gap warnings across restarts; null keeps them in memory. Thread-safe.
class FhirHandler final : public http::HttpHandler {
 public:
  // Reads the clients' public key files (InvalidArgument naming the client and file) and the
  // saved subscriptions (the ledger's errors).
  static Result<std::unique_ptr<FhirHandler>> create(const FhirSettings& settings,
                                                     InboundSink& sink, AuditStore* audit,
                                                     ClockPtr clock,
                                                     TokenReplayLedger* tokens = nullptr,
                                                     SubscriptionLedger* subscriptions = nullptr);

  // http::HttpHandler
  http::HttpResponse handle(const http::HttpRequest& request) override;
  http::HttpResponse reject(int status, std::string_view reason,
                            const http::HttpRequest& request) override;

  FhirStats stats() const;

 private:
  FhirHandler(const FhirSettings& settings, InboundSink& sink, AuditStore* audit, ClockPtr clock,
              std::unique_ptr<JwtVerifier> jwt, TokenReplayLedger* tokens,
              SubscriptionLedger* subscriptions);

  struct Authenticated {
    std::string client;
    std::optional<RequestProblem> problem;
  };
  Authenticated authenticate(const http::HttpRequest& request) const;
  http::HttpResponse post(const http::HttpRequest& request, Route route, std::string_view type,
                          Format format);
  http::HttpResponse capabilityStatement(Format format) const;
  http::HttpResponse error(const RequestProblem& problem, Format format);
  void observe(const std::string& client, const FhirEventInfo& info, const std::string& peer);

  FhirSettings settings_;
  InboundSink& sink_;
  AuditStore* audit_;
  ClockPtr clock_;
  std::unique_ptr<JwtVerifier> jwt_;
  std::unique_ptr<TokenReplayLedger> memory_tokens_;  // when no ledger was given
  TokenReplayLedger* tokens_;
  SubscriptionTracker subscriptions_;
  std::string started_at_;  // CapabilityStatement.date
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> duplicates_{0};
  std::atomic<std::uint64_t> notifications_{0};
  std::atomic<std::uint64_t> client_errors_{0};
  std::atomic<std::uint64_t> unavailable_{0};
};

// How a Status from InboundSink::accept maps onto HTTP (one table, tested): InvalidArgument
// 422, PermissionDenied 403, Unavailable and DeadlineExceeded 503 (with Retry-After),
// anything else 500.
int httpStatusFor(const Status& status);

// The body format of a request from Content-Type (or, without one, `_format`): nullopt with
// `problem` set (415) when it is neither FHIR JSON nor FHIR XML in UTF-8.
std::optional<Format> requestFormat(const http::HttpRequest& request, RequestProblem& problem);
// The response format from `_format`, then Accept, then the request's format, then JSON.
// nullopt (406) for an unknown `_format`.
std::optional<Format> responseFormat(const http::HttpRequest& request);

}  // namespace gw::fhirin
