// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>

#include <memory>
#include <string>

#include "adapters/outbound/secure_inbox/InboxPages.h"

namespace gw::inbox {

// Largest form body accepted (the inbox's forms are a few hundred bytes).
inline constexpr std::size_t kMaxFormBytes = 8 * 1024;

// Serves the inbox pages on a POCO HTTPServer (the gateway's HTTPS server mounts it under the
// settings' path_prefix). createRequestHandler() answers nullptr for any path outside the prefix,
// so a composing factory can try the next one. Handlers read at most kMaxFormBytes of an
// application/x-www-form-urlencoded body (others: 415; larger: 413), never throw, and never log
// paths, cookies or form values (the path holds the link token). Thread-safe.
class InboxRequestHandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit InboxRequestHandlerFactory(std::shared_ptr<InboxPages> pages);

  // True when `path` is under the inbox prefix.
  bool handles(const std::string& path) const;

  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest& request) override;

 private:
  std::shared_ptr<InboxPages> pages_;
  std::string prefix_;
};

// Decodes an application/x-www-form-urlencoded body ('+' is a space, %XX a byte). A field seen
// twice keeps its first value. InvalidArgument for a bad %-escape.
Result<std::map<std::string, std::string>> parseForm(const std::string& body);

}  // namespace gw::inbox
