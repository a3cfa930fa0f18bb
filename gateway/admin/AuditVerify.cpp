// SPDX-License-Identifier: Apache-2.0
#include "gateway/admin/AuditVerify.h"

#include <cstdlib>

namespace gw::admin {

Result<AuditVerifyOutcome> verifyAuditLog(AuditLog& log) {
  Result<AuditVerifyReport> report = log.verify();
  AuditVerifyOutcome outcome;
  if (report.ok()) {
    outcome.ok = true;
    outcome.records = report->records;
    outcome.root = merkle::toHex(report->root);
    outcome.checkpoints = report->checkpoints;
    outcome.checkpoint_size = report->latest ? report->latest->tree_size : 0;
    return outcome;
  }
  if (report.status().code() != StatusCode::DataLoss) {
    return report.status();
  }
  outcome.ok = false;
  outcome.error = report.status().message();
  // AuditLog names the first record that no longer matches as "seq=K" or "seq=A..B".
  const std::size_t at = outcome.error.find("seq=");
  if (at != std::string::npos) {
    outcome.first_bad_seq = std::strtoll(outcome.error.c_str() + at + 4, nullptr, 10);
  }
  return outcome;
}

}  // namespace gw::admin
