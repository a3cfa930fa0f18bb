// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "gateway/admin/AdminService.h"
#include "gateway/audit/AuditLog.h"

namespace gw::admin {

// What AuditLog::verify() found, as the admin API reports it: ok with the counts and root, or
// not ok with the DataLoss message (no PHI: seq numbers and hashes) and the first record seq it
// names. Errors other than DataLoss (the store cannot be read now) stay errors.
Result<AuditVerifyOutcome> verifyAuditLog(AuditLog& log);

}  // namespace gw::admin
