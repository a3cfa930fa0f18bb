// SPDX-License-Identifier: Apache-2.0
#include "adapters/outbound/secure_inbox/InboxChannel.h"

#include <ctime>
#include <utility>

#include "adapters/outbound/secure_inbox/InboxText.h"

namespace gw {
namespace {

std::string isoDate(SystemTime time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[16];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d", &utc);
  return buffer;
}

// Keeps the store alive as long as the channel that refers to it.
class OwningInboxChannel final : public OutboundChannel {
 public:
  OwningInboxChannel(std::shared_ptr<inbox::InboxService> service, InboxStorePtr store)
      : store_(std::move(store)), channel_(std::move(service), *store_) {}
  ChannelKind kind() const override { return channel_.kind(); }
  Result<DeliveryReceipt> deliver(const OutboundMessage& message, Deadline deadline) override {
    return channel_.deliver(message, deadline);
  }

 private:
  InboxStorePtr store_;
  InboxChannel channel_;
};

}  // namespace

InboxChannel::InboxChannel(std::shared_ptr<inbox::InboxService> service,
                           InboxMessageAccess& messages)
    : service_(std::move(service)), messages_(messages) {}

Result<DeliveryReceipt> InboxChannel::deliver(const OutboundMessage& message, Deadline deadline) {
  const MessageContent& content = message.content;
  if (content.email.empty()) {
    return Status::notFound("no recipient address for the inbox notification");
  }
  GW_ASSIGN_OR_RETURN(InboxMessage stored, messages_.inboxMessage(message.message_id));
  GW_ASSIGN_OR_RETURN(inbox::NewLink link,
                      service_->createLink(message.message_id, stored.expires_at));
  const std::string language =
      inbox::pageLanguage(content.language, service_->settings().default_language);
  const inbox::InboxText& text = inbox::inboxText(language);
  Notification note;
  note.to = content.email;
  note.subject = inbox::fill(text.notify_subject, {{"facility", content.facility_name}});
  note.text = inbox::fill(text.notify_body, {{"facility", content.facility_name},
                                             {"link", service_->linkUrl(link.token)},
                                             {"date", isoDate(link.expires_at)}});
  note.language = language;
  note.idempotency_key = "inbox-notify:" + std::to_string(message.message_id);
  GW_RETURN_IF_ERROR(service_->notifier().notify(note, deadline));
  return DeliveryReceipt{"inbox_notification", "notification sent"};
}

Result<OutboundChannelPtr> makeInboxChannel(std::shared_ptr<inbox::InboxService> service,
                                            InboxStorePtr store) {
  if (service == nullptr || store == nullptr) {
    return Status::invalidArgument("secure inbox channel needs a service and a store");
  }
  return OutboundChannelPtr(
      std::make_shared<OwningInboxChannel>(std::move(service), std::move(store)));
}

}  // namespace gw
