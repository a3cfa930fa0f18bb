// SPDX-License-Identifier: Apache-2.0
#include "gateway/daemon/Logging.h"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/Exception.h>
#include <Poco/FileChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>

#include <filesystem>

namespace gw {

Status configureLogging(const LoggingSettings& settings) {
  try {
    Poco::AutoPtr<Poco::Channel> sink;
    if (settings.file.empty()) {
      sink = new Poco::ConsoleChannel;  // standard error (std::clog)
    } else {
      std::filesystem::create_directories(std::filesystem::path(settings.file).parent_path());
      Poco::AutoPtr<Poco::FileChannel> file(new Poco::FileChannel(settings.file));
      file->setProperty("rotation", "100 M");
      file->setProperty("archive", "timestamp");
      file->setProperty("purgeCount", "10");
      sink = file;
    }
    Poco::AutoPtr<Poco::PatternFormatter> pattern(
        new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S.%iZ %q %s: %t"));
    Poco::AutoPtr<Poco::FormattingChannel> channel(new Poco::FormattingChannel(pattern, sink));
    Poco::Logger::root().setChannel(channel);
    Poco::Logger::setChannel("", channel);
    Poco::Logger::setLevel("", Poco::Logger::parseLevel(settings.level));
    return Status::ok();
  } catch (const Poco::Exception& e) {
    return Status::invalidArgument("cannot set up logging: " + e.displayText());
  } catch (const std::exception& e) {
    return Status::invalidArgument(std::string("cannot set up logging: ") + e.what());
  }
}

}  // namespace gw
