// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "adapters/outbound/email/EmailSettings.h"
#include "adapters/outbound/email/MailTransport.h"
#include "adapters/outbound/email/Smime.h"
#include "gateway/api/Clock.h"
#include "gateway/api/Notifier.h"
#include "gateway/api/OutboundChannel.h"

namespace gw {

// Delivers patient messages by email (OutboundChannel, kind Email). How PHI may leave:
//   1. the recipient's S/MIME certificate is in smime.certificate_directory: signed, then
//      encrypted for it (receipt method "smime");
//   2. else, with plain_email_consented: the MIME message as is, over the transport (SMTP with
//      verified STARTTLS: "verified_tls"; the pickup directory: "pickup");
//   3. else FailedPrecondition: nothing was sent, the worker falls back to the inbox notification
//      (also when the recipient's certificate file is unusable: never plain email instead).
// A message without PHI (contains_phi false) goes as in 2 without consent. PHI messages carry
// the generic subject from settings; the real subject travels only inside the body or S/MIME.
// Transport errors pass through (MailTransport): no STARTTLS or an unverified certificate is
// FailedPrecondition before any byte of the message left. Thread-safe.
class EmailChannel final : public OutboundChannel {
 public:
  EmailChannel(EmailSettings settings, std::shared_ptr<email::MailTransport> transport,
               std::shared_ptr<const email::Smime> smime, ClockPtr clock);

  // OutboundChannel
  ChannelKind kind() const override { return ChannelKind::Email; }
  Result<DeliveryReceipt> deliver(const OutboundMessage& message, Deadline deadline) override;

  // The RFC 5322 message deliver() would send and the method it would name, without sending
  // (tests). Same errors as deliver() apart from the transport's.
  struct Prepared {
    email::OutgoingMail mail;
    bool smime = false;
  };
  Result<Prepared> prepareForTest(const OutboundMessage& message) const { return prepare(message); }

 private:
  Result<Prepared> prepare(const OutboundMessage& message) const;

  EmailSettings settings_;
  std::string message_id_domain_;
  std::shared_ptr<email::MailTransport> transport_;
  std::shared_ptr<const email::Smime> smime_;
  ClockPtr clock_;
};

// Sends PHI-free notifications (inbox link, one-time code) through the same transport; never
// S/MIME (there is nothing to protect but the address, which TLS protects on the way).
// Errors: InvalidArgument for a bad address, empty text or a missing idempotency key; otherwise
// the transport's. Thread-safe.
class EmailNotifier final : public Notifier {
 public:
  EmailNotifier(EmailSettings settings, std::shared_ptr<email::MailTransport> transport,
                ClockPtr clock);

  // Notifier
  Status notify(const Notification& notification, Deadline deadline) override;

  // The message notify() would send (tests).
  Result<email::OutgoingMail> prepareForTest(const Notification& notification) const {
    return prepare(notification);
  }

 private:
  Result<email::OutgoingMail> prepare(const Notification& notification) const;

  EmailSettings settings_;
  std::string message_id_domain_;
  std::shared_ptr<email::MailTransport> transport_;
  ClockPtr clock_;
};

// The channel and the notifier of one "outbound.email" section, sharing one transport (and its
// SMTP connection pool). Built once at start-up: opens or creates the pickup directory, builds
// the TLS context, reads the password file and the S/MIME signing key.
struct EmailOutbound {
  std::shared_ptr<EmailChannel> channel;
  std::shared_ptr<EmailNotifier> notifier;
  std::shared_ptr<email::MailTransport> transport;
};
Result<EmailOutbound> makeEmailOutbound(const EmailSettings& settings, ClockPtr clock);

}  // namespace gw
