// SPDX-License-Identifier: Apache-2.0
// Rendered patient messages delivered by the email channel (MIME building, SMTP over verified
// STARTTLS, pooled connections) to a local SMTP sink, and in the same run the same rendered
// message sent to the same sink by Python's smtplib over one verified STARTTLS connection
// (bench/baseline/smtplib_send.py) as the baseline.
//
//   build/bin/delivery_bench [--benchmark_min_time=3]
//
// The sink (bench/support/SmtpSink, in this program, one thread per connection) offers PIPELINING
// after STARTTLS and counts the messages without keeping them, so the numbers are the sender's
// cost. Its certificate comes from a throwaway CA made with the openssl CLI.
// Reported: items_per_second (messages/s) and new_connections (SMTP connections the gateway
// opened during the run; the pool keeps them). Python's smtplib does not pipeline; the gateway
// does when the server offers PIPELINING (RFC 2920). The gateway_email_smime cases add S/MIME
// (sign, then encrypt for the recipient) to every message.
#include <benchmark/benchmark.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "adapters/outbound/email/EmailChannel.h"
#include "bench/support/SmtpSink.h"

namespace {

namespace fs = std::filesystem;

struct Fixture {
  fs::path dir;
  std::unique_ptr<gw::bench::SmtpSink> sink;
  gw::EmailOutbound email;
  gw::EmailOutbound smime_email;  // the same, with S/MIME for the bench recipient
  std::string ca;
  std::string message_file;
};
Fixture* g_fixture = nullptr;

bool run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// S/MIME: the gateway's signing identity and the bench recipient's certificate (the sink's
// certificate and CA come from makeTestPki).
bool makeSmimeCertificates(const fs::path& dir) {
  const std::string d = dir.string();
  return run("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + d + "/signing.key -out " + d +
             "/signing.pem -days 1 -subj /CN=bench-gateway") &&
         run("mkdir -p " + d + "/recipients && openssl req -x509 -newkey rsa:2048 -nodes -keyout " +
             d + "/recipient.key -out " + d +
             "/recipients/bench.patient@example.invalid.pem -days 1 -subj /CN=bench-patient");
}

gw::OutboundMessage renderedMessage(std::uint64_t n) {
  gw::OutboundMessage m;
  m.message_id = static_cast<std::int64_t>(n);
  m.idempotency_key = "bench-" + std::to_string(n);
  m.purpose = "aftercare";
  m.contains_phi = true;
  m.plain_email_consented = true;
  m.content.language = "en";
  m.content.recipient_name = "Alexa Benchpatient";
  m.content.email = "bench.patient@example.invalid";
  m.content.facility_name = "Bench Hospital";
  m.content.subject = "Your discharge instructions";
  std::string text =
      "Dear Alexa Benchpatient,\n\nYou were discharged from Bench Hospital today. Please take "
      "your medication as prescribed and call us if your symptoms return.\n\n";
  for (int i = 0; i < 12; ++i) {
    text += "Instruction " + std::to_string(i + 1) +
            ": rest, drink enough water, and keep your follow-up appointment.\n";
  }
  text += "\nThis mailbox is not for emergencies. In an emergency call your local number.\n";
  m.content.text = text;
  m.content.html = "<html><body><p>" + text + "</p></body></html>";
  return m;
}

std::atomic<std::uint64_t> g_sequence{1};

void gatewayEmail(benchmark::State& state, const gw::EmailOutbound* email) {
  auto* transport = static_cast<gw::email::SmtpTransport*>(email->transport.get());
  const std::int64_t opened_before = transport->connectionsOpened();
  std::uint64_t failures = 0;
  for (auto _ : state) {
    const gw::OutboundMessage message = renderedMessage(g_sequence++);
    const auto receipt = email->channel->deliver(
        message, std::chrono::steady_clock::now() + std::chrono::seconds(30));
    if (!receipt.ok()) {
      ++failures;
      if (failures == 1) {
        std::cerr << "delivery failed: " << receipt.status().toString() << "\n";
      }
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    // Connections opened during this run (the pool keeps them between runs, so later runs of
    // the same thread count open none).
    const std::int64_t opened = transport->connectionsOpened() - opened_before;
    state.counters["new_connections"] = benchmark::Counter(static_cast<double>(opened));
  }
  state.counters["failures"] = benchmark::Counter(static_cast<double>(failures));
}

void baselineSmtplib(benchmark::State& state) {
  const std::string script = std::string(GW_BENCH_DIR) + "/baseline/smtplib_send.py";
  const int count = 2000;
  std::int64_t sent = 0;
  for (auto _ : state) {
    const std::string command = "/usr/bin/python3 " + script + " " +
                                std::to_string(g_fixture->sink->port()) + " " + g_fixture->ca + " " +
                                g_fixture->message_file + " " + std::to_string(count);
    FILE* pipe = ::popen(command.c_str(), "r");
    double seconds = 0;
    int done = 0;
    if (pipe == nullptr || std::fscanf(pipe, "%d %lf", &done, &seconds) != 2) {
      state.SkipWithError("python3 smtplib baseline failed");
      if (pipe != nullptr) {
        ::pclose(pipe);
      }
      return;
    }
    ::pclose(pipe);
    state.SetIterationTime(seconds);
    sent += done;
  }
  state.SetItemsProcessed(sent);
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  benchmark::Initialize(&argc, argv);
  Fixture fixture;
  fixture.dir = fs::temp_directory_path() / ("gw-delivery-bench-" + std::to_string(::getpid()));
  fs::create_directories(fixture.dir);
  const gw::Result<gw::bench::TestPki> pki = gw::bench::makeTestPki(fixture.dir.string());
  if (!pki.ok() || !makeSmimeCertificates(fixture.dir)) {
    std::cerr << "delivery_bench: the openssl CLI could not make the test certificates\n";
    return 1;
  }
  fixture.ca = pki->ca;
  gw::bench::SmtpSinkSettings sink_settings;
  sink_settings.certificate = pki->server_certificate;
  sink_settings.private_key = pki->server_key;
  gw::Result<std::unique_ptr<gw::bench::SmtpSink>> sink = gw::bench::SmtpSink::start(sink_settings);
  if (!sink.ok()) {
    std::cerr << "delivery_bench: " << sink.status().toString() << "\n";
    return 1;
  }
  fixture.sink = std::move(sink).value();
  gw::EmailSettings settings;
  settings.transport = "smtp";
  settings.smtp.host = "127.0.0.1";
  settings.smtp.port = fixture.sink->port();
  settings.smtp.ca = fixture.ca;
  settings.smtp.pool_size = 8;
  gw::Result<gw::EmailOutbound> email = gw::makeEmailOutbound(settings, nullptr);
  if (!email.ok()) {
    std::cerr << "delivery_bench: " << email.status().toString() << "\n";
    return 1;
  }
  fixture.email = std::move(*email);
  std::filesystem::permissions(
      fixture.dir / "signing.key",
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
      std::filesystem::perm_options::replace);
  settings.smime.certificate_directory = (fixture.dir / "recipients").string();
  settings.smime.signing_certificate = (fixture.dir / "signing.pem").string();
  settings.smime.signing_key = (fixture.dir / "signing.key").string();
  gw::Result<gw::EmailOutbound> smime_email = gw::makeEmailOutbound(settings, nullptr);
  if (!smime_email.ok()) {
    std::cerr << "delivery_bench: " << smime_email.status().toString() << "\n";
    return 1;
  }
  fixture.smime_email = std::move(*smime_email);
  // The baseline sends exactly what the gateway renders for one message.
  auto prepared = fixture.email.channel->prepareForTest(renderedMessage(0));
  fixture.message_file = (fixture.dir / "message.eml").string();
  std::ofstream(fixture.message_file, std::ios::binary) << prepared->mail.data;
  g_fixture = &fixture;

  benchmark::RegisterBenchmark("baseline_python_smtplib/conns:1", baselineSmtplib)
      ->UseManualTime()
      ->Iterations(3);
  benchmark::RegisterBenchmark("gateway_email_verified_tls", gatewayEmail, &fixture.email)
      ->Threads(1)
      ->Threads(4)
      ->Threads(8)
      ->UseRealTime();
  // Sign (RSA-2048) and encrypt (AES-256-CBC, RSA-OAEP) every message, then the same transport.
  benchmark::RegisterBenchmark("gateway_email_smime", gatewayEmail, &fixture.smime_email)
      ->Threads(1)
      ->Threads(4)
      ->UseRealTime();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::cout << "sink received " << fixture.sink->count() << " messages\n";
  fixture.sink->stop();
  g_fixture = nullptr;
  fixture.email = {};
  fixture.smime_email = {};
  std::error_code ec;
  if (std::getenv("GW_BENCH_KEEP") == nullptr) {
    fs::remove_all(fixture.dir, ec);
  }
  return 0;
}
