// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "adapters/inbound/fhir/FhirSettings.h"
#include "gateway/api/AuditStore.h"
#include "gateway/api/Clock.h"
#include "gateway/api/InboundAdapter.h"
#include "gateway/api/InboundSink.h"
#include "gateway/api/Result.h"

namespace gw {

// The FHIR R4 intake (adapters/inbound/fhir/README.md): an HTTPS server with the FHIR endpoints
// mounted at settings.base_path. Every accepted event goes to `sink` (2xx only after it returned
// OK); subscription gaps are written to `audit` (may be null). `sink` and `audit` must outlive
// the adapter. Errors: InvalidArgument for TLS files, public keys or plain HTTP where it is not
// allowed (config time, before binding).
Result<InboundAdapterPtr> makeFhirAdapter(const FhirSettings& settings, InboundSink& sink,
                                          AuditStore* audit, ClockPtr clock);

}  // namespace gw
