// SPDX-License-Identifier: Apache-2.0
#include "gateway/mapping/Keywords.h"

#include <array>
#include <cctype>

namespace gw::mapping {

Keyword parseKeyword(std::string_view reply) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  auto punct = [](char c) { return c == '.' || c == '!' || c == '?' || c == ','; };
  while (!reply.empty() && space(reply.front())) {
    reply.remove_prefix(1);
  }
  while (!reply.empty() && (space(reply.back()) || punct(reply.back()))) {
    reply.remove_suffix(1);
  }
  if (reply.empty() || reply.size() > 16) {
    return Keyword::None;
  }
  std::string upper;
  for (char c : reply) {
    if (std::isalpha(static_cast<unsigned char>(c)) == 0) {
      return Keyword::None;
    }
    upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  static constexpr std::array<std::string_view, 7> kStop = {
      "STOP", "UNSUBSCRIBE", "END", "QUIT", "REVOKE", "OPTOUT", "CANCEL"};
  for (std::string_view k : kStop) {
    if (upper == k) {
      return Keyword::Stop;
    }
  }
  if (upper == "STOPALL") {
    return Keyword::StopAll;
  }
  if (upper == "START") {
    return Keyword::Start;
  }
  if (upper == "HELP") {
    return Keyword::Help;
  }
  return Keyword::None;
}

std::string_view keywordName(Keyword keyword) {
  switch (keyword) {
    case Keyword::Stop:
      return "stop";
    case Keyword::StopAll:
      return "stopall";
    case Keyword::Start:
      return "start";
    case Keyword::Help:
      return "help";
    case Keyword::None:
      break;
  }
  return "none";
}

std::optional<ConsentChange> consentChangeFor(Keyword keyword, const std::string& patient_key,
                                              ChannelKind channel) {
  if (keyword == Keyword::None || keyword == Keyword::Help) {
    return std::nullopt;
  }
  ConsentChange change;
  change.patient_key = patient_key;
  change.channel = keyword == Keyword::StopAll ? std::nullopt : std::optional(channel);
  change.consent = keyword == Keyword::Start ? Consent::OptedIn : Consent::OptedOut;
  change.reason = "keyword " + std::string(keywordName(keyword));
  return change;
}

}  // namespace gw::mapping
