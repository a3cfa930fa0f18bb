// SPDX-License-Identifier: Apache-2.0
#include "gateway/api/PatientMessage.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <utility>

namespace gw {
namespace {

constexpr std::array<std::pair<ChannelKind, std::string_view>, 3> kChannels = {{
    {ChannelKind::SecureInbox, "secure_inbox"},
    {ChannelKind::Email, "email"},
    {ChannelKind::MessagingApi, "messaging_api"},
}};

constexpr std::array<std::pair<MessageState, std::string_view>, 12> kStates = {{
    {MessageState::Pending, "pending"},
    {MessageState::Sending, "sending"},
    {MessageState::Sent, "sent"},
    {MessageState::Delivered, "delivered"},
    {MessageState::Read, "read"},
    {MessageState::Failed, "failed"},
    {MessageState::Dead, "dead"},
    {MessageState::Held, "held"},
    {MessageState::Retracted, "retracted"},
    {MessageState::Superseded, "superseded"},
    {MessageState::Suppressed, "suppressed"},
    {MessageState::Expired, "expired"},
}};

// The string members of MessageContent with their JSON names, in one place for both directions.
template <typename Content>
auto textFields(Content& c) {
  return std::array<std::pair<const char*, decltype(&c.language)>, 9>{{
      {"language", &c.language},
      {"recipient_name", &c.recipient_name},
      {"email", &c.email},
      {"phone", &c.phone},
      {"date_of_birth", &c.date_of_birth},
      {"facility_name", &c.facility_name},
      {"subject", &c.subject},
      {"text", &c.text},
      {"html", &c.html},
  }};
}

}  // namespace

std::string_view channelName(ChannelKind channel) {
  for (const auto& [kind, name] : kChannels) {
    if (kind == channel) {
      return name;
    }
  }
  return "unknown";
}

std::optional<ChannelKind> parseChannel(std::string_view name) {
  for (const auto& [kind, text] : kChannels) {
    if (text == name) {
      return kind;
    }
  }
  return std::nullopt;
}

std::string_view messageStateName(MessageState state) {
  for (const auto& [value, name] : kStates) {
    if (value == state) {
      return name;
    }
  }
  return "unknown";
}

std::optional<MessageState> parseMessageState(std::string_view name) {
  for (const auto& [value, text] : kStates) {
    if (text == name) {
      return value;
    }
  }
  return std::nullopt;
}

std::string serializeMessageContent(const MessageContent& content) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  for (const auto& [name, member] : textFields(content)) {
    writer.Key(name);
    writer.String(member->data(), static_cast<rapidjson::SizeType>(member->size()));
  }
  writer.Key("quick_replies");
  writer.StartArray();
  for (const QuickReply& reply : content.quick_replies) {
    writer.StartObject();
    writer.Key("id");
    writer.String(reply.id.data(), static_cast<rapidjson::SizeType>(reply.id.size()));
    writer.Key("label");
    writer.String(reply.label.data(), static_cast<rapidjson::SizeType>(reply.label.size()));
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Result<MessageContent> parseMessageContent(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    return Status::parseError(std::string("message content: ") +
                              rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                              std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) {
    return Status::parseError("message content: not a JSON object");
  }
  MessageContent content;
  for (const auto& [name, member] : textFields(content)) {
    const auto it = doc.FindMember(name);
    if (it == doc.MemberEnd()) {
      continue;
    }
    if (!it->value.IsString()) {
      return Status::parseError(std::string("message content: '") + name + "' is not a string");
    }
    member->assign(it->value.GetString(), it->value.GetStringLength());
  }
  const auto replies = doc.FindMember("quick_replies");
  if (replies != doc.MemberEnd()) {
    if (!replies->value.IsArray()) {
      return Status::parseError("message content: 'quick_replies' is not an array");
    }
    for (const auto& item : replies->value.GetArray()) {
      if (!item.IsObject() || !item.HasMember("id") || !item["id"].IsString() ||
          !item.HasMember("label") || !item["label"].IsString()) {
        return Status::parseError("message content: a quick reply needs string 'id' and 'label'");
      }
      content.quick_replies.push_back(
          {std::string(item["id"].GetString(), item["id"].GetStringLength()),
           std::string(item["label"].GetString(), item["label"].GetStringLength())});
    }
  }
  return content;
}

}  // namespace gw
