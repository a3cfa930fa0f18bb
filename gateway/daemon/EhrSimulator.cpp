// SPDX-License-Identifier: Apache-2.0
#include "gateway/daemon/EhrSimulator.h"

#include <unistd.h>

#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <thread>

#include "gateway/hl7/Message.h"

namespace gw {
namespace {

enum Step { kAdmit, kPreliminary, kFinal, kCorrected, kDischarge, kCancelDischarge, kFollowUp,
            kCancelFollowUp };

// Invented names only: none of these is meant to look like a real person.
constexpr std::array<const char*, 10> kFamilies = {
    "Testpatient", "Sampleton", "Fakerson", "Placeholder", "Mockridge",
    "Demoson",     "Exampleton", "Dummyworth", "Synthetica", "Notreal"};
constexpr std::array<const char*, 10> kGivens = {"Alexa", "Jordan", "Riley", "Sam",   "Casey",
                                                 "Morgan", "Avery", "Quinn", "Robin", "Jamie"};
struct Diagnosis {
  const char* code;
  const char* text;
};
constexpr std::array<Diagnosis, 5> kDiagnoses = {{
    {"J18.9", "Pneumonia, unspecified organism"},
    {"I50.9", "Heart failure, unspecified"},
    {"K35.80", "Unspecified acute appendicitis"},
    {"E11.9", "Type 2 diabetes mellitus without complications"},
    {"S72.001A", "Fracture of unspecified part of neck of right femur, initial encounter"},
}};
struct Test {
  const char* code;
  const char* name;
  const char* unit;
  const char* range;
  double low;
  double high;
};
constexpr std::array<Test, 4> kTests = {{
    {"2345-7", "Glucose", "mg/dL", "70-99", 70, 140},
    {"2160-0", "Creatinine", "mg/dL", "0.6-1.3", 0.5, 1.8},
    {"718-7", "Hemoglobin", "g/dL", "12.0-17.5", 9, 17},
    {"6690-2", "Leukocytes", "10*3/uL", "4.5-11.0", 3, 15},
}};

std::string joinFields(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) {
      out += '|';
    }
    out += fields[i];
  }
  return out;
}

std::string formatTime(SystemTime t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[16];
  std::strftime(buffer, sizeof(buffer), "%Y%m%d%H%M%S", &tm);
  return buffer;
}

}  // namespace

SyntheticEhr::SyntheticEhr(std::uint64_t seed, SystemTime start, std::string sending_application,
                           std::string facility)
    : rng_(seed),
      now_(start),
      application_(std::move(sending_application)),
      facility_(std::move(facility)) {}

std::string SyntheticEhr::timestamp() const { return formatTime(now_); }

SyntheticEhr::Story SyntheticEhr::newStory() {
  ++patients_;
  Story s;
  Patient& p = s.patient;
  char mrn[16];
  std::snprintf(mrn, sizeof(mrn), "SYN%06llu", static_cast<unsigned long long>(patients_));
  p.mrn = mrn;
  p.family = kFamilies[rng_() % kFamilies.size()];
  p.given = kGivens[rng_() % kGivens.size()];
  char birth[16];
  std::snprintf(birth, sizeof(birth), "%04d%02d%02d", 1940 + static_cast<int>(rng_() % 70),
                1 + static_cast<int>(rng_() % 12), 1 + static_cast<int>(rng_() % 28));
  p.birth_date = birth;
  p.sex = (rng_() % 2) == 0 ? "F" : "M";
  std::string lower_given = p.given;
  std::string lower_family = p.family;
  for (std::string* part : {&lower_given, &lower_family}) {
    for (char& c : *part) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  p.email = lower_given + "." + lower_family + "." + std::to_string(patients_) + "@example.invalid";
  p.language = (rng_() % 4) == 0 ? "es" : "en";
  s.visit = "V" + std::to_string(100000 + patients_);
  s.order = "FIL" + std::to_string(200000 + patients_);
  s.appointment = "APT" + std::to_string(300000 + patients_);
  s.steps = {kAdmit, kPreliminary, kFinal};
  if (rng_() % 5 == 0) {
    s.steps.push_back(kCorrected);
  }
  s.steps.push_back(kDischarge);
  if (rng_() % 10 == 0) {
    s.steps.push_back(kCancelDischarge);
    s.steps.push_back(kDischarge);
  }
  s.steps.push_back(kFollowUp);
  if (rng_() % 7 == 0) {
    s.steps.push_back(kCancelFollowUp);
  }
  return s;
}

std::string SyntheticEhr::msh(const std::string& type, const std::string& structure) {
  ++control_;
  return "MSH|^~\\&|" + application_ + "|" + facility_ + "|PATIENT_GW|" + facility_ + "|" +
         timestamp() + "||" + type + "^" + structure + "|SIM" + std::to_string(control_) +
         "|P|2.5.1|||||||UNICODE UTF-8\r";
}

std::string SyntheticEhr::pid(const Patient& p) const {
  // PID-13: phone (fictional 555-01xx range) and email (NET/Internet) repetitions.
  return "PID|1||" + p.mrn + "^^^" + facility_ + "^MR||" + p.family + "^" + p.given + "||" +
         p.birth_date + "|" + p.sex + "|||" + std::to_string(10 + p.mrn.back() - '0') +
         " Example Street^^Springfield^ZZ^00000^^H||^PRN^PH^^^555^01000" +
         std::string(1, p.mrn.back()) + "~^NET^Internet^" + p.email + "||" + p.language + "\r";
}

std::string SyntheticEhr::pv1(const Story& s, bool discharged) const {
  std::vector<std::string> f(46);
  f[0] = "PV1";
  f[1] = "1";
  f[2] = "I";
  f[3] = "4W^401^1^" + facility_;
  f[7] = "1234^Synthetic^Doctor^^^Dr";
  f[10] = "MED";
  f[19] = s.visit + "^^^" + facility_ + "^VN";
  f[44] = timestamp();
  if (discharged) {
    f[36] = "01";
    f[45] = timestamp();
  }
  return joinFields(f) + "\r";
}

std::string SyntheticEhr::oru(Story& s, char status) {
  std::string out = msh("ORU^R01", "ORU_R01") + pid(s.patient) + pv1(s, false);
  out += "ORC|RE|ORD" + s.order.substr(3) + "|" + s.order + "\r";
  out += "OBR|1|ORD" + s.order.substr(3) + "|" + s.order +
         "|24323-8^Comprehensive metabolic panel^LN|||" + timestamp() +
         "|||||||||||||||" + timestamp() + "|||" + std::string(1, status) + "\r";
  int set_id = 0;
  for (const Test& t : kTests) {
    const double value = t.low + (t.high - t.low) * static_cast<double>(rng_() % 1000) / 1000.0;
    char number[32];
    std::snprintf(number, sizeof(number), "%.1f", value);
    out += "OBX|" + std::to_string(++set_id) + "|NM|" + t.code + "^" + t.name + "^LN||" + number +
           "|" + t.unit + "|" + t.range + "|N|||" + std::string(1, status) + "\r";
  }
  return out;
}

std::string SyntheticEhr::render(Story& s, int step) {
  const Patient& p = s.patient;
  switch (step) {
    case kAdmit:
      return msh("ADT^A01", "ADT_A01") + "EVN|A01|" + timestamp() + "\r" + pid(p) + pv1(s, false);
    case kPreliminary:
      return oru(s, 'P');
    case kFinal:
      return oru(s, 'F');
    case kCorrected:
      return oru(s, 'C');
    case kDischarge: {
      const Diagnosis& d = kDiagnoses[rng_() % kDiagnoses.size()];
      return msh("ADT^A03", "ADT_A03") + "EVN|A03|" + timestamp() + "\r" + pid(p) + pv1(s, true) +
             "DG1|1||" + d.code + "^" + d.text + "^I10||" + timestamp() + "|A\r";
    }
    case kCancelDischarge:
      return msh("ADT^A13", "ADT_A01") + "EVN|A13|" + timestamp() + "\r" + pid(p) + pv1(s, false);
    case kFollowUp:
    case kCancelFollowUp: {
      const bool cancel = step == kCancelFollowUp;
      const std::string start = formatTime(now_ + std::chrono::hours(24 * 7));
      const std::string end = formatTime(now_ + std::chrono::hours(24 * 7) + std::chrono::minutes(30));
      return msh(cancel ? "SIU^S15" : "SIU^S12", "SIU_S12") + "SCH|" + s.appointment + "^^" +
             facility_ + "|" + s.appointment + "^^" + facility_ +
             "|||||FOLLOWUP^Follow-up visit||30|m|^^30^" + start + "^" + end +
             "||||||||||||||" + (cancel ? "Cancelled" : "Booked") + "\r" + pid(p) +
             "AIL|1||CLINIC2^^^" + facility_ + "\rAIP|1||1234^Synthetic^Doctor^^^Dr\r";
    }
  }
  return {};
}

std::string SyntheticEhr::next() {
  constexpr std::size_t kInterleaved = 6;
  while (active_.size() < kInterleaved) {
    active_.push_back(newStory());
  }
  const std::size_t pick = rng_() % active_.size();
  Story& story = active_[pick];
  const int step = story.steps.front();
  story.steps.erase(story.steps.begin());
  now_ += std::chrono::minutes(1 + static_cast<int>(rng_() % 30));
  std::string message = render(story, step);
  if (story.steps.empty()) {
    active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(pick));
  }
  return message;
}

int simulateEhr(const MllpClientSettings& client_settings, const SimulatorSettings& settings) {
  Result<std::unique_ptr<MllpClient>> client = MllpClient::connect(client_settings);
  if (!client.ok()) {
    std::cerr << "simulate-ehr: " << client.status().message() << "\n";
    return 2;
  }
  SyntheticEhr ehr(settings.seed, std::chrono::system_clock::now());
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  std::map<std::string, std::uint64_t> codes;
  std::uint64_t sent = 0;
  std::uint64_t failed = 0;
  const auto start = std::chrono::steady_clock::now();
  auto progress = [&](bool final_line) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string line = "sent " + std::to_string(sent);
    if (settings.count != 0) {
      line += "/" + std::to_string(settings.count);
    }
    line += ", acknowledged:";
    for (const auto& [code, n] : codes) {
      line += " " + code + " " + std::to_string(n);
    }
    char rate[32];
    std::snprintf(rate, sizeof(rate), ", %.1f msg/s", seconds > 0 ? sent / seconds : 0.0);
    line += rate;
    if (final_line) {
      std::cerr << (terminal ? "\r\033[K" : "") << "simulate-ehr: " << line << std::endl;
    } else if (terminal) {
      std::cerr << "\r\033[K" << line << std::flush;
    }
  };
  auto last_progress = start;
  while (settings.count == 0 || sent < settings.count) {
    if (settings.rate > 0) {
      std::this_thread::sleep_until(
          start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(static_cast<double>(sent) / settings.rate)));
    }
    const std::string message = ehr.next();
    Result<std::string> ack = (*client)->exchange(message);
    ++sent;
    if (!ack.ok()) {
      ++failed;
      ++codes["no ACK"];
      if (ack.status().code() == StatusCode::Unavailable) {
        progress(true);
        std::cerr << "simulate-ehr: " << ack.status().message() << "\n";
        return 1;
      }
      continue;
    }
    Result<hl7::Message> parsed = hl7::Message::parse(*ack);
    const std::string code = parsed.ok() ? parsed->get("MSA-1") : "unparseable";
    ++codes[code];
    if (code != "AA" && code != "CA") {
      ++failed;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_progress > std::chrono::milliseconds(200)) {
      progress(false);
      last_progress = now;
    }
  }
  progress(true);
  return failed == 0 ? 0 : 1;
}

}  // namespace gw
