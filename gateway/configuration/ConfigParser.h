// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include "gateway/api/ConfigNode.h"
#include "gateway/api/Result.h"

namespace gw::config {

// Parses JSON text (comments and trailing commas allowed, UTF-8 BOM skipped) into a ConfigNode
// tree whose nodes carry file:line:col positions (1-based; columns count bytes). `file` is only
// used in positions. Errors: ParseError positioned at the offending character, e.g.
// "config/gateway.json:12:5: error: missing a comma or '}' after an object member".
// Duplicate keys in one object are an error too (positioned at the second key).
Result<ConfigNode> parseJson(std::string_view text, const std::string& file);

// Reads and parses a file. NotFound when it cannot be read.
Result<ConfigNode> parseJsonFile(const std::string& path);

}  // namespace gw::config
