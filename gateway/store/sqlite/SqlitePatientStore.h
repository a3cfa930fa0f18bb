// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "gateway/api/PatientStore.h"
#include "gateway/store/sqlite/SqliteStore.h"

namespace gw {

// PatientStore on the SQLite store (migration 7: patient_preferences, patient_replies; consent
// entries in consent_ledger, answers in patient_messages, work items in operator_work_items).
// Writes go through the store's writer with their audit record in the same transaction; reads
// use its read connection. Thread-safety and errors as PatientStore.
class SqlitePatientStore final : public PatientStore {
 public:
  explicit SqlitePatientStore(std::shared_ptr<SqliteStore> store);

  Result<std::optional<PatientPreferenceRecord>> preferences(
      const std::string& patient_key) override;
  Status savePreferences(const PatientPreferenceRecord& record, const AuditEntry& audit) override;
  Result<ReplyCommit> commitReply(const PatientReply& reply, const AuditEntry& audit) override;
  Result<SealedReplyText> readReplyText(std::int64_t reply_id, const AuditEntry& audit) override;

 private:
  std::shared_ptr<SqliteStore> store_;
};

}  // namespace gw
