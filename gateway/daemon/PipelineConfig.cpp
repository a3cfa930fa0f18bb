// SPDX-License-Identifier: Apache-2.0
#include "gateway/daemon/PipelineConfig.h"

#include <date/tz.h>

#include <cstdint>

namespace gw {
namespace {

// "HH:MM" (00:00-23:59).
bool validClock(const std::string& text) {
  if (text.size() != 5 || text[2] != ':') {
    return false;
  }
  for (const int i : {0, 1, 3, 4}) {
    if (text[i] < '0' || text[i] > '9') {
      return false;
    }
  }
  const int hours = (text[0] - '0') * 10 + (text[1] - '0');
  const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  return hours < 24 && minutes < 60;
}

bool knownZone(const std::string& zone) {
  try {
    return date::locate_zone(zone) != nullptr;
  } catch (const std::exception&) {
    return false;
  }
}

void readMappings(ConfigReader& top, MappingsConfig& m) {
  const ConfigNode* node = top.object("mappings");
  if (node == nullptr) {
    return;
  }
  ConfigErrors& errors = top.errors();
  ConfigReader r(*node, errors, "mappings");
  m.enabled = true;
  r.readBool("enabled", m.enabled);
  r.readString("directory", m.directory);
  r.readString("pseudonym_key_file", m.pseudonym_key_file);
  r.readBool("generate_if_missing", m.generate_if_missing);
  mapping::MappingSettings& e = m.engine;
  r.readString("facility_name", e.facility_name);
  r.readString("facility_time_zone", e.facility_time_zone);
  r.readBool("emergency_notice", e.emergency_notice);
  r.readString("default_language", e.default_language);
  r.readString("quiet_start", e.quiet_start);
  r.readString("quiet_end", e.quiet_end);
  if (const ConfigNode* notices = r.object("notice_text")) {
    for (const auto& [language, text] : notices->members()) {
      if (text.kind() != ConfigNode::Kind::String || text.text().empty()) {
        errors.add(text.position(),
                   "mappings.notice_text." + language + " must be a non-empty string");
        continue;
      }
      e.notice_text[language] = text.text();
    }
  }
  r.finish();
  if (!knownZone(e.facility_time_zone)) {
    errors.add(node->position(), "mappings.facility_time_zone \"" + e.facility_time_zone +
                                     "\" is not a time zone of the system tz database "
                                     "(e.g. \"America/New_York\")");
  }
  for (const std::string* clock : {&e.quiet_start, &e.quiet_end}) {
    if (!validClock(*clock)) {
      errors.add(node->position(), "mappings quiet hours \"" + *clock + "\" must be HH:MM");
    }
  }
  if (e.facility_name.empty()) {
    errors.add(node->position(), "mappings.facility_name must not be empty");
  }
}

void readDelivery(ConfigReader& top, DeliverySettings& d) {
  const ConfigNode* node = top.object("delivery");
  if (node == nullptr) {
    return;
  }
  ConfigReader r(*node, top.errors(), "delivery");
  r.readInt("workers_per_channel", d.workers_per_channel, 1, 64);
  r.readInt("max_attempts", d.max_attempts, 1, 1000);
  std::int64_t initial = d.initial_backoff.count();
  std::int64_t max = d.max_backoff.count();
  std::int64_t lease = d.lease.count() / 1000;
  std::int64_t timeout = d.attempt_timeout.count();
  r.readInt("initial_backoff_ms", initial, 1, 86'400'000);
  r.readInt("max_backoff_ms", max, 1, 7 * 86'400'000LL);
  r.readInt("lease_seconds", lease, 5, 86'400);
  r.readInt("attempt_timeout_ms", timeout, 100, 3'600'000);
  r.finish();
  d.initial_backoff = std::chrono::milliseconds(initial);
  d.max_backoff = std::chrono::milliseconds(std::max(initial, max));
  d.lease = std::chrono::seconds(lease);
  d.attempt_timeout = std::chrono::milliseconds(timeout);
  if (d.attempt_timeout >= d.lease) {
    top.errors().add(node->position(),
                     "delivery.attempt_timeout_ms must be shorter than delivery.lease_seconds "
                     "(else a slow attempt could be taken over and sent twice)");
  }
}

void readRetention(ConfigReader& top, RetentionSettings& s) {
  const ConfigNode* node = top.object("retention");
  if (node == nullptr) {
    return;
  }
  ConfigReader r(*node, top.errors(), "retention");
  std::int64_t days = s.payload_retention.count() / 24;
  std::int64_t interval = s.interval.count() / 1000;
  r.readInt("payload_days", days, 0, 36500);
  r.readInt("interval_seconds", interval, 1, 86400);
  r.finish();
  s.payload_retention = std::chrono::hours(24 * days);
  s.interval = std::chrono::seconds(interval);
}

}  // namespace

void readPipelineSettings(ConfigReader& top, PipelineSettings& settings) {
  readMappings(top, settings.mappings);
  readDelivery(top, settings.delivery);
  readRetention(top, settings.retention);
}

}  // namespace gw
