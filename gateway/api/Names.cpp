// SPDX-License-Identifier: Apache-2.0
#include "gateway/api/AdminStore.h"
#include "gateway/api/InboundEvent.h"
#include "gateway/api/Store.h"

namespace gw {

std::string_view eventSourceName(EventSource source) {
  return source == EventSource::Fhir ? "fhir" : "hl7v2";
}

std::string_view inboundStateName(InboundState state) {
  switch (state) {
    case InboundState::Received: return "received";
    case InboundState::Mapped: return "mapped";
    case InboundState::Held: return "held";
    case InboundState::Ignored: return "ignored";
  }
  return "unknown";
}

std::string_view adminRoleName(AdminRole role) {
  switch (role) {
    case AdminRole::Viewer: return "viewer";
    case AdminRole::Operator: return "operator";
    case AdminRole::Admin: return "admin";
  }
  return "viewer";
}

std::optional<AdminRole> parseAdminRole(std::string_view name) {
  for (const AdminRole role : {AdminRole::Viewer, AdminRole::Operator, AdminRole::Admin}) {
    if (adminRoleName(role) == name) {
      return role;
    }
  }
  return std::nullopt;
}

}  // namespace gw
