// SPDX-License-Identifier: Apache-2.0
#include "adapters/outbound/email/EmailChannel.h"

#include "adapters/outbound/email/Mime.h"
#include "gateway/crypto/Digest.h"

namespace gw {
namespace {

std::string domainOf(const EmailSettings& settings) {
  if (!settings.message_id_domain.empty()) {
    return settings.message_id_domain;
  }
  const std::size_t at = settings.from.find('@');
  return at == std::string::npos ? "gateway.invalid" : settings.from.substr(at + 1);
}

// Everything built from one idempotency key: the file name / log key and the Message-ID.
struct Identity {
  std::string key;
  std::string message_id;
};

Result<Identity> identityOf(std::string_view idempotency_key, const std::string& domain) {
  if (idempotency_key.empty()) {
    return Status::invalidArgument("message has no idempotency key");
  }
  Identity identity;
  GW_ASSIGN_OR_RETURN(const std::string digest, sha256Hex(idempotency_key));
  identity.key = digest;
  GW_ASSIGN_OR_RETURN(identity.message_id, email::messageId(idempotency_key, domain));
  return identity;
}

}  // namespace

EmailChannel::EmailChannel(EmailSettings settings, std::shared_ptr<email::MailTransport> transport,
                           std::shared_ptr<const email::Smime> smime, ClockPtr clock)
    : settings_(std::move(settings)),
      message_id_domain_(domainOf(settings_)),
      transport_(std::move(transport)),
      smime_(std::move(smime)),
      clock_(std::move(clock)) {}

Result<EmailChannel::Prepared> EmailChannel::prepare(const OutboundMessage& message) const {
  const MessageContent& content = message.content;
  if (content.email.empty()) {
    return Status::notFound("message has no recipient email address");
  }
  if (!email::isValidAddress(content.email)) {
    return Status::invalidArgument("recipient email address is not valid");
  }
  if (content.text.empty() && content.html.empty()) {
    return Status::invalidArgument("message has no text");
  }
  GW_ASSIGN_OR_RETURN(const Identity identity,
                      identityOf(message.idempotency_key, message_id_domain_));

  Prepared prepared;
  std::string recipient_certificate;
  if (smime_ != nullptr) {
    Result<std::string> found = smime_->recipientCertificate(content.email);
    if (found.ok()) {
      recipient_certificate = std::move(*found);
    } else if (found.status().code() != StatusCode::NotFound) {
      // A certificate is on file but unusable: never fall back to plain email for this
      // recipient; the inbox notification is the safe way.
      return Status::failedPrecondition(found.status().message());
    }
  }
  prepared.smime = !recipient_certificate.empty();
  if (!prepared.smime && message.contains_phi && !message.plain_email_consented) {
    return Status::failedPrecondition(
        "no S/MIME certificate for the recipient and no consent to plain email");
  }

  std::string entity = email::buildBodyEntity(content.text, content.html, identity.key);
  if (prepared.smime) {
    // The signed and encrypted part carries the real subject for the reader.
    Result<std::string> encrypted = smime_->signAndEncrypt(entity, recipient_certificate);
    if (!encrypted.ok()) {
      if (encrypted.status().code() == StatusCode::InvalidArgument) {
        return Status::failedPrecondition(encrypted.status().message());
      }
      return encrypted.status();
    }
    entity = std::move(*encrypted);
  }
  email::MailHeaders headers;
  headers.from = settings_.from;
  headers.to = content.email;
  headers.subject =
      message.contains_phi || content.subject.empty() ? settings_.phi_subject : content.subject;
  headers.message_id = identity.message_id;
  headers.date = email::rfc5322Date(clock_->now());
  headers.language = content.language;

  prepared.mail.from = settings_.from;
  prepared.mail.to = content.email;
  prepared.mail.key = identity.key;
  prepared.mail.data = email::buildMessage(headers, entity);
  return prepared;
}

Result<DeliveryReceipt> EmailChannel::deliver(const OutboundMessage& message, Deadline deadline) {
  try {
    GW_ASSIGN_OR_RETURN(const Prepared prepared, prepare(message));
    GW_ASSIGN_OR_RETURN(std::string detail, transport_->send(prepared.mail, deadline));
    DeliveryReceipt receipt;
    receipt.method = prepared.smime ? "smime" : std::string(transport_->method());
    receipt.detail = prepared.smime ? std::string(transport_->method()) + " " + detail : detail;
    return receipt;
  } catch (const std::exception& e) {  // only a bug gets here
    return Status::internal(std::string("email delivery failed unexpectedly: ") + e.what());
  }
}

EmailNotifier::EmailNotifier(EmailSettings settings,
                             std::shared_ptr<email::MailTransport> transport, ClockPtr clock)
    : settings_(std::move(settings)),
      message_id_domain_(domainOf(settings_)),
      transport_(std::move(transport)),
      clock_(std::move(clock)) {}

Result<email::OutgoingMail> EmailNotifier::prepare(const Notification& notification) const {
  if (notification.to.empty()) {
    return Status::notFound("notification has no recipient email address");
  }
  if (!email::isValidAddress(notification.to)) {
    return Status::invalidArgument("recipient email address is not valid");
  }
  if (notification.text.empty()) {
    return Status::invalidArgument("notification has no text");
  }
  if (notification.subject.empty()) {
    return Status::invalidArgument("notification has no subject");
  }
  GW_ASSIGN_OR_RETURN(const Identity identity,
                      identityOf(notification.idempotency_key, message_id_domain_));
  email::MailHeaders headers;
  headers.from = settings_.from;
  headers.to = notification.to;
  headers.subject = notification.subject;
  headers.message_id = identity.message_id;
  headers.date = email::rfc5322Date(clock_->now());
  headers.language = notification.language;
  email::OutgoingMail mail;
  mail.from = settings_.from;
  mail.to = notification.to;
  mail.key = identity.key;
  mail.data = email::buildMessage(
      headers, email::buildBodyEntity(notification.text, notification.html, identity.key));
  return mail;
}

Status EmailNotifier::notify(const Notification& notification, Deadline deadline) {
  try {
    GW_ASSIGN_OR_RETURN(const email::OutgoingMail mail, prepare(notification));
    GW_RETURN_IF_ERROR(transport_->send(mail, deadline));
    return Status::ok();
  } catch (const std::exception& e) {  // only a bug gets here
    return Status::internal(std::string("notification failed unexpectedly: ") + e.what());
  }
}

Result<EmailOutbound> makeEmailOutbound(const EmailSettings& settings, ClockPtr clock) {
  if (!clock) {
    clock = std::make_shared<SystemClock>();
  }
  EmailOutbound out;
  GW_ASSIGN_OR_RETURN(out.transport, email::makeMailTransport(settings));
  std::shared_ptr<const email::Smime> smime;
  if (!settings.smime.certificate_directory.empty()) {
    GW_ASSIGN_OR_RETURN(std::unique_ptr<email::Smime> loaded, email::Smime::create(settings.smime));
    smime = std::move(loaded);
  }
  out.channel = std::make_shared<EmailChannel>(settings, out.transport, smime, clock);
  out.notifier = std::make_shared<EmailNotifier>(settings, out.transport, clock);
  return out;
}

}  // namespace gw
