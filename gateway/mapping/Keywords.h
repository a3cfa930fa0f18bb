// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "gateway/api/PatientMessage.h"
#include "gateway/mapping/PolicyState.h"

namespace gw::mapping {

// A reply keyword (CTIA / carrier conventions for messaging opt-out).
enum class Keyword {
  None,     // not a keyword: an ordinary reply
  Stop,     // STOP, UNSUBSCRIBE, END, QUIT, REVOKE, OPTOUT, CANCEL: opt out of this channel
  StopAll,  // STOPALL: opt out of every channel
  Start,    // START: opt back in on this channel
  Help,     // HELP: answer with help text, no ledger change
};

// Recognises a keyword when it is the whole reply: case-insensitive, surrounding white space
// and trailing punctuation ignored ("stop", " Stop. ", "OPT OUT" is not one, "OPTOUT" is).
Keyword parseKeyword(std::string_view reply);
std::string_view keywordName(Keyword keyword);

// A consent ledger entry to write for a keyword reply; purpose "*" means every purpose.
struct ConsentChange {
  std::string patient_key;
  std::optional<ChannelKind> channel;  // nullopt: every channel (STOPALL)
  std::string purpose = "*";
  Consent consent = Consent::OptedOut;
  std::string reason;  // "keyword STOP" (no PHI)
};

// The ledger change a reply on `channel` asks for; nullopt for None and Help.
std::optional<ConsentChange> consentChangeFor(Keyword keyword, const std::string& patient_key,
                                              ChannelKind channel);

}  // namespace gw::mapping
