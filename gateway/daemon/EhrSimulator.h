// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gateway/api/Clock.h"
#include "gateway/daemon/MllpClient.h"

namespace gw {

// Synthetic patient stories as HL7 v2.5.1 messages, in clinically sensible order per patient:
// ADT^A01 admit, ORU^R01 preliminary then final result (sometimes a corrected one), ADT^A03
// discharge (sometimes cancelled by ADT^A13 and discharged again), SIU^S12 follow-up appointment
// (sometimes cancelled by SIU^S15). Several stories are interleaved, as on a real feed. Every
// patient is obviously fake: invented names, MRNs starting with "SYN", addresses and emails under
// example.invalid, 555-01xx phone numbers. Deterministic for a seed. Not thread-safe.
class SyntheticEhr {
 public:
  // `start` is the simulated time of the first event; later events move it forward.
  SyntheticEhr(std::uint64_t seed, SystemTime start, std::string sending_application = "SIM_EHR",
               std::string facility = "DEMO_HOSP");

  // The next message, segments terminated by CR.
  std::string next();

 private:
  struct Patient {
    std::string mrn;
    std::string family;
    std::string given;
    std::string birth_date;  // YYYYMMDD
    std::string sex;
    std::string email;
    std::string language;    // PID-15: "en" or "es"
  };
  struct Story {
    Patient patient;
    std::string visit;        // PV1-19
    std::string order;        // OBR-3 filler order number
    std::string appointment;  // SCH-1
    std::vector<int> steps;   // remaining steps, front first
  };

  Story newStory();
  std::string render(Story& story, int step);
  std::string msh(const std::string& type, const std::string& structure);
  std::string pid(const Patient& p) const;
  std::string pv1(const Story& s, bool discharged) const;
  std::string oru(Story& s, char status);
  std::string timestamp() const;  // simulated now, YYYYMMDDHHMMSS

  std::mt19937_64 rng_;
  SystemTime now_;
  std::string application_;
  std::string facility_;
  std::uint64_t control_ = 0;
  std::uint64_t patients_ = 0;
  std::vector<Story> active_;
};

struct SimulatorSettings {
  // Messages to send; 0 sends until interrupted.
  std::uint64_t count = 100;
  // Messages per second; 0 sends as fast as ACKs come back.
  double rate = 10;
  // Seed for the synthetic stories (same seed, same stream).
  std::uint64_t seed = 1;
};

// `gateway simulate-ehr`: sends the synthetic stream over MLLP, one message in flight, and shows
// progress (sent, acknowledged by code, rate) on standard error when it is a terminal. Returns 0
// when every message was answered AA/CA.
int simulateEhr(const MllpClientSettings& client, const SimulatorSettings& settings);

}  // namespace gw
