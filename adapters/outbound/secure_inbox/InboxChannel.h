// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "adapters/outbound/secure_inbox/InboxService.h"
#include "gateway/api/OutboundChannel.h"

namespace gw {

// The secure inbox as an outbound channel: deliver() creates a link token for the message and
// sends a notification without PHI (facility name, "you have a new message", the link) through
// the Notifier to the message's address. "Sent" (method "inbox_notification") once notified.
// The content stays in the store; the patient reads it on the inbox pages.
//
// Errors: NotFound (no recipient address; the message is unknown to the inbox store),
// the Notifier's and store's codes otherwise (Unavailable/DeadlineExceeded are retried: a retry
// makes a new link, the unsent one is never known to anybody). Thread-safe. Never throws.
class InboxChannel final : public OutboundChannel {
 public:
  explicit InboxChannel(std::shared_ptr<inbox::InboxService> service, InboxMessageAccess& messages);

  // OutboundChannel
  ChannelKind kind() const override { return ChannelKind::SecureInbox; }
  Result<DeliveryReceipt> deliver(const OutboundMessage& message, Deadline deadline) override;

 private:
  std::shared_ptr<inbox::InboxService> service_;
  InboxMessageAccess& messages_;
};

// The channel and the pages share one InboxService. `store` must outlive the channel.
Result<OutboundChannelPtr> makeInboxChannel(std::shared_ptr<inbox::InboxService> service,
                                            InboxStorePtr store);

}  // namespace gw
