// SPDX-License-Identifier: Apache-2.0
#include "gateway/daemon/MappingCommand.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "gateway/mapping/DryRun.h"
#include "gateway/mapping/MappingSet.h"

namespace gw {

int mappingTest(const MappingTestOptions& options) {
  mapping::DryRunSetup setup;
  if (!options.setup_file.empty()) {
    std::ifstream in(options.setup_file, std::ios::binary);
    if (!in) {
      std::cerr << "mapping test: cannot read " << options.setup_file << "\n";
      return 2;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    Result<mapping::DryRunSetup> parsed = mapping::parseDryRunSetup(ss.str());
    if (!parsed.ok()) {
      std::cerr << "mapping test: " << options.setup_file << ": " << parsed.status().message()
                << "\n";
      return 2;
    }
    setup = std::move(parsed).value();
  }
  if (!options.now.empty()) {
    setup.now = mapping::parseEventTime(options.now, "UTC");
    if (!setup.now) {
      std::cerr << "mapping test: --now is not an ISO 8601 time: " << options.now << "\n";
      return 2;
    }
  }
  mapping::MappingSettings settings;
  if (setup.facility_time_zone) {
    settings.facility_time_zone = *setup.facility_time_zone;
  }
  if (!options.time_zone.empty()) {
    settings.facility_time_zone = options.time_zone;
  }
  ConfigErrors errors;
  std::error_code ec;
  const std::shared_ptr<const mapping::MappingSet> set =
      std::filesystem::is_directory(options.mapping, ec)
          ? mapping::MappingSet::load(options.mapping, settings, errors)
          : mapping::MappingSet::loadFile(options.mapping, settings, errors);
  if (set == nullptr) {
    std::cerr << errors.toString();
    return 78;
  }
  std::vector<std::string> inputs;
  const std::filesystem::path setup_dir = std::filesystem::path(options.setup_file).parent_path();
  for (const std::string& before : setup.before) {
    inputs.push_back((setup_dir / before).string());
  }
  inputs.insert(inputs.end(), options.inputs.begin(), options.inputs.end());
  Result<std::string> report = mapping::dryRun(*set, inputs, setup);
  if (!report.ok()) {
    std::cerr << "mapping test: " << report.status().message() << "\n";
    return 2;
  }
  std::cout << *report;
  return 0;
}

}  // namespace gw
