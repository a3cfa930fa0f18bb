// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "gateway/api/Result.h"

namespace gw {

// Encrypts PHI before it reaches the store (envelope encryption: every payload has its own data
// key, wrapped by a key-encryption key named by id in the ciphertext header).
// `associated_data` is bound to the ciphertext (e.g. the row's dedupe key), so a ciphertext moved
// to another row fails to open.
//
// Thread-safety: both methods are called concurrently. Errors: seal() Internal or Unavailable
// (key limit reached); open() DataLoss (tampered, truncated, wrong associated data), NotFound
// (key id unknown). Never throws.
class PayloadCipher {
 public:
  PayloadCipher() = default;
  virtual ~PayloadCipher() = default;
  PayloadCipher(const PayloadCipher&) = delete;
  PayloadCipher& operator=(const PayloadCipher&) = delete;

  virtual Result<std::string> seal(std::string_view plaintext,
                                   std::string_view associated_data) = 0;
  virtual Result<std::string> open(std::string_view ciphertext,
                                   std::string_view associated_data) = 0;
};

using PayloadCipherPtr = std::shared_ptr<PayloadCipher>;

}  // namespace gw
