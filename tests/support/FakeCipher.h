// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <string>

#include "gateway/api/PayloadCipher.h"

namespace gw::test {

// A PayloadCipher for tests: "sealed:<aad>:" + reversed plaintext, so tests can see that sealing
// happened and with which associated data. Can be told to fail.
class FakeCipher final : public PayloadCipher {
 public:
  Result<std::string> seal(std::string_view plaintext, std::string_view aad) override {
    if (fail_next_.exchange(false)) {
      return Status::unavailable("key limit reached");
    }
    return "sealed:" + std::string(aad) + ":" + std::string(plaintext.rbegin(), plaintext.rend());
  }
  Result<std::string> open(std::string_view ciphertext, std::string_view aad) override {
    const std::string prefix = "sealed:" + std::string(aad) + ":";
    if (ciphertext.substr(0, prefix.size()) != prefix) {
      return Status::dataLoss("wrong associated data");
    }
    const std::string_view body = ciphertext.substr(prefix.size());
    return std::string(body.rbegin(), body.rend());
  }
  void failNextSeal() { fail_next_.store(true); }

 private:
  std::atomic<bool> fail_next_{false};
};

}  // namespace gw::test
