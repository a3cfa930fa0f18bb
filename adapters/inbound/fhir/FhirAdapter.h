// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "adapters/inbound/fhir/FhirSettings.h"
#include "gateway/api/AuditStore.h"
#include "gateway/api/Clock.h"
#include "gateway/api/FhirClientState.h"
#include "gateway/api/InboundAdapter.h"
#include "gateway/api/InboundSink.h"
#include "gateway/api/Result.h"

namespace gw {

// The FHIR R4 intake (adapters/inbound/fhir/README.md): an HTTPS server with the FHIR endpoints
// mounted at settings.base_path. Every accepted event goes to `sink` (2xx only after it returned
// OK). `tokens` (used bearer token ids, for replay refusal) and `subscriptions` (subscription
// counters and gap warnings) are durable client state; either may be null (then kept in memory,
// see FhirHandler); gap records go to `audit` (may be null) only without a subscription ledger.
// Everything passed by pointer or reference must outlive the adapter. Errors: InvalidArgument
// for TLS files, public keys or plain HTTP where it is not allowed (config time, before
// binding); the ledger's errors reading the saved subscriptions.
Result<InboundAdapterPtr> makeFhirAdapter(const FhirSettings& settings, InboundSink& sink,
                                          AuditStore* audit, ClockPtr clock,
                                          TokenReplayLedger* tokens = nullptr,
                                          SubscriptionLedger* subscriptions = nullptr);

}  // namespace gw
