// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>

namespace gw {

// `gateway audit verify`: recomputes every audit leaf and the Merkle tree and checks every signed
// checkpoint. Prints "ok: N records, root <hex>, checkpoint at size M verified" and exits 0, or
// names the first record that no longer matches ("audit record seq=K: leaf hash mismatch ...")
// and exits 1. Exit 78 on a config error.
int auditVerify(const std::string& config_path);

// `gateway audit prove --index N`: the inclusion proof of leaf N (0-based; seq N+1) against the
// latest checkpoint: leaf hash, tree size, root and the audit path in hex, one per line, then the
// signed checkpoint and its verifier key. Exit 0 when it verifies, 3 when the index is not
// covered yet, 1 on other errors.
int auditProve(const std::string& config_path, std::uint64_t index);

// `gateway keys rotate`: appends a new key-encryption key to keys.key_file (active for new
// writes once the gateway restarts; old keys stay for reading), prints its id and writes a
// "key_rotated" audit record with actor "operator:<actor>".
// `gateway audit export --format fhir`: every audit record as a FHIR R4 AuditEvent (IHE BALP
// patterns), one JSON object per line, to `output` ("-" for standard output).
int auditExport(const std::string& config_path, const std::string& output);

int rotateKeys(const std::string& config_path, const std::string& actor);

}  // namespace gw
