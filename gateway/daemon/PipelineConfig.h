// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "gateway/api/ConfigNode.h"
#include "gateway/core/DeliveryService.h"
#include "gateway/core/Housekeeping.h"
#include "gateway/mapping/MappingSet.h"

namespace gw {

// "mappings" in gateway.json: where the mapping files are and the engine-wide settings.
struct MappingsConfig {
  // On when the "mappings" section is present (unless it says "enabled": false): without it the
  // gateway only receives and stores events.
  bool enabled = false;
  std::string directory = "../mappings";  // relative to the config file
  // Secret key of the patient pseudonyms (HMAC-SHA256 of assigning authority | identifier):
  // 32 random bytes, owner-only, generated on first run when allowed.
  std::string pseudonym_key_file = "../var/keys/pseudonym.key";
  bool generate_if_missing = true;
  mapping::MappingSettings engine;
};

// The outbound half of the gateway: mapping, delivery queue, retention.
struct PipelineSettings {
  MappingsConfig mappings;
  DeliverySettings delivery;
  RetentionSettings retention;
};

// Reads the "mappings", "delivery" and "retention" sections of the top-level object (each
// optional), recording positioned errors in top.errors().
void readPipelineSettings(ConfigReader& top, PipelineSettings& settings);

}  // namespace gw
