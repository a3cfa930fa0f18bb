// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "gateway/api/Status.h"
#include "gateway/daemon/GatewayConfig.h"

namespace gw {

// Routes every Poco::Logger (gw.*) to standard error or the configured file, with time, level
// and logger name, at the configured level. Call once before any worker thread starts.
Status configureLogging(const LoggingSettings& settings);

}  // namespace gw
