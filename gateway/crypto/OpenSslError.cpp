// SPDX-License-Identifier: Apache-2.0
#include "gateway/crypto/OpenSslError.h"

#include <openssl/err.h>

#include <array>
#include <string>

namespace gw {

Status opensslError(StatusCode code, std::string_view what) {
  std::string message(what);
  bool first = true;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    std::array<char, 256> text{};
    ERR_error_string_n(e, text.data(), text.size());
    message += first ? ": " : "; ";
    message += text.data();
    first = false;
  }
  return Status(code, std::move(message));
}

void clearOpensslErrors() {
  ERR_clear_error();
}

}  // namespace gw
