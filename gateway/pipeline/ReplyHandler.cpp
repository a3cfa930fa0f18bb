// SPDX-License-Identifier: Apache-2.0
#include "gateway/pipeline/ReplyHandler.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "gateway/mapping/Keywords.h"

namespace gw {
namespace {

constexpr std::chrono::hours kAnswerLifetime{24 * 7};

// Phone numbers compare by their digits ("+1 (555) 010-0199" == "15550100199"); addresses
// case-insensitively.
std::string normalizedSender(std::string_view sender) {
  std::string out;
  if (sender.find('@') != std::string_view::npos) {
    for (const char c : sender) {
      if (std::isspace(static_cast<unsigned char>(c)) == 0) {
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      }
    }
    return out;
  }
  for (const char c : sender) {
    if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
      out.push_back(c);
    }
  }
  return out;
}

bool senderMatches(const std::string& sender, const MessageContent& content) {
  const std::string given = normalizedSender(sender);
  if (given.empty()) {
    return false;
  }
  return (!content.phone.empty() && given == normalizedSender(content.phone)) ||
         (!content.email.empty() && given == normalizedSender(content.email));
}

std::vector<ChannelKind> channelsFor(const mapping::ConsentChange& change) {
  if (change.channel) {
    return {*change.channel};
  }
  return {ChannelKind::SecureInbox, ChannelKind::Email, ChannelKind::MessagingApi};
}

}  // namespace

std::string helpAnswerText(const std::string& language, const std::string& facility) {
  std::string text =
      language.compare(0, 2, "es") == 0
          ? "{{facility}}: mensajes para pacientes. Responda STOP para dejar de recibirlos por "
            "este medio y START para volver a recibirlos. No es para emergencias: en una "
            "emergencia llame al 911."
          : "{{facility}}: patient messages. Reply STOP to stop messages on this channel, START "
            "to get them again. Not for emergencies: in an emergency call 911.";
  const std::string placeholder = "{{facility}}";
  text.replace(text.find(placeholder), placeholder.size(),
               facility.empty() ? std::string("Patient messages") : facility);
  return text;
}

ReplyHandler::ReplyHandler(MessageStorePtr messages, PatientStorePtr patients,
                           PayloadCipherPtr cipher, ClockPtr clock)
    : messages_(std::move(messages)),
      patients_(std::move(patients)),
      cipher_(std::move(cipher)),
      clock_(std::move(clock)) {}

Result<ReplyResult> ReplyHandler::acceptReply(const InboundReply& reply) {
  if (reply.text.empty()) {
    return Status::invalidArgument("the reply has no text");
  }
  if (reply.provider_id.empty()) {
    return Status::invalidArgument("the reply has no id");
  }
  // The message replied to is the only link to a patient.
  PatientMessageRecord record;
  if (reply.message_id != 0) {
    GW_ASSIGN_OR_RETURN(record, messages_->getMessage(reply.message_id));
  } else {
    if (reply.in_reply_to.empty()) {
      return Status::invalidArgument("the reply does not say which message it answers");
    }
    MessageQuery query;
    query.idempotency_key = reply.in_reply_to;
    query.limit = 1;
    GW_ASSIGN_OR_RETURN(std::vector<PatientMessageRecord> found, messages_->findMessages(query));
    if (found.empty()) {
      return Status::notFound("no patient message answers to that reference");
    }
    record = std::move(found.front());
  }
  if (record.channel != reply.channel) {
    return Status::permissionDenied("the message was not sent on the reply's channel");
  }
  // The content (recipient, language, facility) is needed to check the sender and to answer
  // HELP; after expiry it is gone and neither is possible.
  std::optional<MessageContent> content;
  Result<std::string> sealed = messages_->sealedMessageContent(record.id, std::nullopt);
  if (sealed.ok() && !sealed->empty()) {
    GW_ASSIGN_OR_RETURN(std::string json, cipher_->open(*sealed, record.idempotency_key));
    GW_ASSIGN_OR_RETURN(content, parseMessageContent(json));
  } else if (!sealed.ok() && sealed.status().code() != StatusCode::NotFound) {
    return sealed.status();
  }
  if (!reply.sender.empty() && (!content || !senderMatches(reply.sender, *content))) {
    return Status::permissionDenied("the sender is not the recipient of the message");
  }

  const mapping::Keyword keyword = mapping::parseKeyword(reply.text);
  const std::string name(mapping::keywordName(keyword));
  PatientReply stored;
  stored.message_id = record.id;
  stored.channel = reply.channel;
  stored.keyword = name;
  stored.dedupe_key = std::string(channelName(reply.channel)) + ":" + reply.provider_id;
  stored.received_at = clock_->now();
  GW_ASSIGN_OR_RETURN(stored.sealed_text,
                      cipher_->seal(reply.text, replyAssociatedData(stored.dedupe_key)));
  ReplyResult result;
  if (const auto change = mapping::consentChangeFor(keyword, record.patient_key, reply.channel)) {
    for (const ChannelKind channel : channelsFor(*change)) {
      stored.consent.push_back({record.patient_key, channel, change->purpose,
                                change->consent == mapping::Consent::OptedIn, "reply:" + name,
                                stored.received_at});
    }
    result.kind = keyword == mapping::Keyword::Start ? ReplyResult::Kind::OptedIn
                                                     : ReplyResult::Kind::OptedOut;
  } else if (keyword == mapping::Keyword::Help) {
    result.kind = ReplyResult::Kind::Help;
    const std::string language = content ? content->language : "en";
    result.help_text = helpAnswerText(language, content ? content->facility_name : "");
    if (reply.channel == ChannelKind::MessagingApi && content) {
      MessageContent answer;
      answer.language = language;
      answer.recipient_name = content->recipient_name;
      answer.email = content->email;
      answer.phone = content->phone;
      answer.facility_name = content->facility_name;
      answer.text = result.help_text;
      NewPatientMessage message;
      message.event_id = record.event_id;
      message.mapping = "keyword-help";
      message.idempotency_key = "reply-help:" + stored.dedupe_key;
      message.patient_key = record.patient_key;
      message.channel = reply.channel;
      message.purpose = kHelpAnswerPurpose;
      message.contains_phi = false;
      message.reason = "answer to HELP";
      message.not_before = stored.received_at;
      message.expires_at = stored.received_at + kAnswerLifetime;
      GW_ASSIGN_OR_RETURN(message.sealed_content,
                          cipher_->seal(serializeMessageContent(answer), message.idempotency_key));
      stored.answer = std::move(message);
    }
  } else {
    result.kind = ReplyResult::Kind::WorkItem;
    stored.work_detail = "text reply on " + std::string(channelName(reply.channel)) +
                         " to patient_message:" + std::to_string(record.id) + " (" +
                         std::to_string(reply.text.size()) + " bytes)";
  }
  const AuditEntry audit{stored.received_at,
                         "patient:" + std::string(channelName(reply.channel)),
                         keyword == mapping::Keyword::None ? "reply_text" : "reply_keyword",
                         "patient_message:" + std::to_string(record.id),
                         "ok",
                         reply.source,
                         "keyword=" + name};
  GW_ASSIGN_OR_RETURN(ReplyCommit commit, patients_->commitReply(stored, audit));
  if (commit.duplicate) {
    result.kind = ReplyResult::Kind::Duplicate;
  }
  return result;
}

}  // namespace gw
