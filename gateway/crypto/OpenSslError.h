// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>

#include "gateway/api/Status.h"

namespace gw {

// A Status with `code` whose message is "<what>: <every queued OpenSSL error>"; empties this
// thread's OpenSSL error queue so a later failure does not report stale errors.
Status opensslError(StatusCode code, std::string_view what);

// Empties this thread's OpenSSL error queue (after an expected failure such as a tag mismatch).
void clearOpensslErrors();

}  // namespace gw
