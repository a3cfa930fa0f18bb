// SPDX-License-Identifier: Apache-2.0
// The one gateway executable: `gateway <subcommand>`.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "gateway/daemon/AuditCommand.h"
#include "gateway/daemon/Gateway.h"
#include "gateway/daemon/KeysCommand.h"
#include "gateway/daemon/MappingCommand.h"
#include "gateway/daemon/MessagesCommand.h"
#include "gateway/daemon/EhrSimulator.h"
#include "gateway/daemon/MllpClient.h"
#include "gateway/daemon/UsersCommand.h"

namespace {

std::string currentUser() {
  const char* user = std::getenv("USER");
  return user != nullptr && *user != '\0' ? user : "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"EHR-to-patient messaging gateway"};
  app.require_subcommand(1);
  std::string config_path = "config/gateway.json";

  CLI::App* run = app.add_subcommand("run", "Run the gateway until SIGINT/SIGTERM");
  run->add_option("-c,--config", config_path, "Config file")->capture_default_str();

  CLI::App* check = app.add_subcommand("check-config", "Validate a config file and exit (78 on errors)");
  check->add_option("-c,--config", config_path, "Config file")->capture_default_str();

  gw::MllpClientSettings send_settings;
  std::vector<std::string> files;
  CLI::App* send = app.add_subcommand("mllp-send", "Send HL7 v2 files over MLLP, one ACK per message");
  send->add_option("--host", send_settings.host, "Gateway host")->capture_default_str();
  send->add_option("--port", send_settings.port, "Gateway port")->capture_default_str()
      ->check(CLI::Range(1, 65535));
  send->add_flag("--tls", send_settings.tls, "Use TLS (server certificate and host name verified)");
  send->add_option("--ca", send_settings.ca, "CA file for the server certificate")
      ->check(CLI::ExistingFile);
  send->add_option("--cert", send_settings.certificate, "Client certificate (mutual TLS)")
      ->check(CLI::ExistingFile);
  send->add_option("--key", send_settings.private_key, "Client private key (mutual TLS)")
      ->check(CLI::ExistingFile);
  send->add_option("--timeout-ms", send_settings.timeout_ms, "Wait this long for each ACK")
      ->capture_default_str()->check(CLI::Range(1, 3600000));
  send->add_option("files", files, "HL7 v2 files (multi-message files and batches are split)")
      ->required()->check(CLI::ExistingFile);

  gw::MllpClientSettings sim_client;
  gw::SimulatorSettings sim;
  CLI::App* simulate = app.add_subcommand(
      "simulate-ehr", "Send a synthetic EHR feed (fake patients) over MLLP, with progress");
  simulate->add_option("--host", sim_client.host, "Gateway host")->capture_default_str();
  simulate->add_option("--port", sim_client.port, "Gateway port")->capture_default_str()
      ->check(CLI::Range(1, 65535));
  simulate->add_option("--rate", sim.rate, "Messages per second (0 = as fast as ACKs come)")
      ->capture_default_str()->check(CLI::Range(0.0, 1000000.0));
  simulate->add_option("--count", sim.count, "Messages to send (0 = until interrupted)")
      ->capture_default_str();
  simulate->add_option("--seed", sim.seed, "Seed of the synthetic stories")->capture_default_str();
  simulate->add_flag("--tls", sim_client.tls, "Use TLS (server certificate and host name verified)");
  simulate->add_option("--ca", sim_client.ca, "CA file for the server certificate")
      ->check(CLI::ExistingFile);

  CLI::App* messages = app.add_subcommand("messages", "Operator views of stored messages");
  messages->require_subcommand(1);
  gw::MessagesListOptions list_options;
  CLI::App* list = messages->add_subcommand("list", "List stored messages (metadata only, no PHI)");
  list->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  list->add_option("--format", list_options.format, "table or tsv")
      ->capture_default_str()->check(CLI::IsMember({"table", "tsv"}));
  list->add_option("--state", list_options.state, "received, mapped, held or ignored");
  list->add_option("--control-id", list_options.control_id, "Only this MSH-10");
  list->add_option("--limit", list_options.limit, "At most this many (0 = all)");
  gw::MessagesShowOptions show_options;
  CLI::App* show = messages->add_subcommand("show", "Show one stored message");
  show->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  show->add_option("id", show_options.id, "Message id from `messages list`")->required();
  show->add_flag("--payload", show_options.payload, "Decrypt and print the message (PHI, audited)");
  show->add_option("--reason", show_options.reason, "Why you view the PHI (audited)");
  gw::OutboxListOptions outbox_options;
  CLI::App* outbox = messages->add_subcommand(
      "outbox", "List patient messages and their delivery state (metadata only, no PHI)");
  outbox->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  outbox->add_option("--format", outbox_options.format, "table or tsv")
      ->capture_default_str()->check(CLI::IsMember({"table", "tsv"}));
  outbox->add_option("--state", outbox_options.state, "pending, sent, dead, held, ...");
  outbox->add_option("--event", outbox_options.event_id, "Only messages from this inbound event");
  outbox->add_option("--limit", outbox_options.limit, "At most this many (0 = all)");
  gw::MessagesReplayOptions replay_options;
  CLI::App* replay = messages->add_subcommand(
      "replay", "Send a dead-lettered patient message again (audited)");
  replay->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  replay->add_option("id", replay_options.id, "Patient message id from `messages outbox`")
      ->required();
  replay->add_option("--reason", replay_options.reason, "Why it is replayed (audited)")
      ->required();

  CLI::App* work = app.add_subcommand("work", "What needs an operator (held events, replies)");
  work->require_subcommand(1);
  std::string work_format = "table";
  CLI::App* work_list = work->add_subcommand("list", "Held events and open work items (no PHI)");
  work_list->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  work_list->add_option("--format", work_format, "table or tsv")
      ->capture_default_str()->check(CLI::IsMember({"table", "tsv"}));
  std::int64_t work_id = 0;
  std::string work_reason;
  CLI::App* work_done = work->add_subcommand("done", "Close an open work item (audited)");
  work_done->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  work_done->add_option("id", work_id, "Work item id from `work list`")->required();
  work_done->add_option("--reason", work_reason, "What was done (audited)")->required();
  CLI::App* work_show =
      work->add_subcommand("show", "Show the text of a patient's typed reply (PHI; audited)");
  work_show->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  work_show->add_option("id", work_id, "reply_text work item id from `work list`")->required();
  work_show->add_option("--reason", work_reason, "Why it is read (audited)")->required();

  CLI::App* subscriptions =
      app.add_subcommand("subscriptions", "FHIR subscriptions heard of (counters, gap warnings)");
  subscriptions->require_subcommand(1);
  std::string subscriptions_format = "table";
  CLI::App* subscriptions_list = subscriptions->add_subcommand(
      "list", "Per client and subscription: events, gaps, latest warning (no PHI)");
  subscriptions_list->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  subscriptions_list->add_option("--format", subscriptions_format, "table or tsv")
      ->capture_default_str()->check(CLI::IsMember({"table", "tsv"}));

  CLI::App* audit = app.add_subcommand("audit", "Tamper-evident audit trail");
  audit->require_subcommand(1);
  CLI::App* verify = audit->add_subcommand(
      "verify", "Recompute the audit Merkle tree and check every signed checkpoint (exit 1 on tampering)");
  verify->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  std::string export_format = "fhir";
  std::string export_output = "-";
  CLI::App* audit_export = audit->add_subcommand(
      "export", "Write the audit trail as FHIR R4 AuditEvent NDJSON (IHE BALP patterns)");
  audit_export->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  audit_export->add_option("--format", export_format, "Export format")
      ->capture_default_str()->check(CLI::IsMember({"fhir"}));
  audit_export->add_option("--output", export_output, "File to write, - for standard output")
      ->capture_default_str();
  std::uint64_t prove_index = 0;
  CLI::App* prove = audit->add_subcommand(
      "prove", "Print and verify the inclusion proof of one audit record against the latest checkpoint");
  prove->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  prove->add_option("--index", prove_index, "Leaf index, from 0 (the record with seq index+1)")
      ->required();

  CLI::App* keys = app.add_subcommand("keys", "Key management");
  keys->require_subcommand(1);
  CLI::App* rotate = keys->add_subcommand(
      "rotate", "Append a new key-encryption key (used for new writes after a restart; audited)");
  rotate->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  CLI::App* keys_status = keys->add_subcommand(
      "status", "Count the stored ciphertexts per key-encryption key id (a key is retirable at 0)");
  keys_status->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  std::size_t rewrap_batch = 500;
  CLI::App* rewrap = keys->add_subcommand(
      "rewrap",
      "Re-encrypt every ciphertext under the active key, in audited batches (after the gateway "
      "restarted with the rotated key file; run again to continue)");
  rewrap->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  rewrap->add_option("--batch", rewrap_batch, "Ciphertexts per transaction")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));

  CLI::App* users = app.add_subcommand("users", "Admin API accounts");
  users->require_subcommand(1);
  gw::UsersAddOptions users_add_options;
  CLI::App* users_add = users->add_subcommand(
      "add", "Create an admin API account (password from the terminal without echo, or stdin)");
  users_add->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  users_add->add_option("--username", users_add_options.username, "Account name")->required();
  users_add->add_option("--role", users_add_options.role, "viewer, operator or admin")
      ->capture_default_str()->check(CLI::IsMember({"viewer", "operator", "admin"}));

  gw::MappingTestOptions mapping_options;
  CLI::App* mapping = app.add_subcommand("mapping", "Mapping tools");
  mapping->require_subcommand(1);
  CLI::App* mapping_test = mapping->add_subcommand(
      "test", "Print as JSON the patient messages a mapping would produce for the inputs");
  mapping_test->add_option("--mapping", mapping_options.mapping, "Mapping file or directory")
      ->required()->check(CLI::ExistingPath);
  mapping_test->add_option("--setup", mapping_options.setup_file,
                           "Dry-run setup JSON (clock, consent, preferences)")
      ->check(CLI::ExistingFile);
  mapping_test->add_option("--now", mapping_options.now, "Clock, e.g. 2026-11-25T19:00:00Z");
  mapping_test->add_option("--time-zone", mapping_options.time_zone, "Facility time zone (IANA)");
  mapping_test->add_option("inputs", mapping_options.inputs, "HL7 v2 (.hl7) and FHIR (.json, .xml) files")
      ->required()->check(CLI::ExistingFile);

  CLI11_PARSE(app, argc, argv);

  if (*run) {
    return gw::runGateway(config_path);
  }
  if (*check) {
    return gw::checkConfig(config_path);
  }
  if (*simulate) {
    return gw::simulateEhr(sim_client, sim);
  }
  if (*send) {
    return gw::mllpSend(send_settings, files);
  }
  if (*list) {
    list_options.config_path = config_path;
    return gw::listMessages(list_options);
  }
  if (*show) {
    show_options.config_path = config_path;
    show_options.actor = currentUser();
    return gw::showMessage(show_options);
  }
  if (*outbox) {
    outbox_options.config_path = config_path;
    return gw::listOutbox(outbox_options);
  }
  if (*replay) {
    replay_options.config_path = config_path;
    replay_options.actor = currentUser();
    return gw::replayMessage(replay_options);
  }
  if (*work_list) {
    return gw::listWork(config_path, work_format);
  }
  if (*work_done) {
    return gw::closeWork(config_path, work_id, work_reason, currentUser());
  }
  if (*subscriptions_list) {
    return gw::listSubscriptions(config_path, subscriptions_format);
  }
  if (*work_show) {
    return gw::showWork(config_path, work_id, work_reason, currentUser());
  }
  if (*audit_export) {
    return gw::auditExport(config_path, export_output);
  }
  if (*verify) {
    return gw::auditVerify(config_path);
  }
  if (*prove) {
    return gw::auditProve(config_path, prove_index);
  }
  if (*mapping_test) {
    return gw::mappingTest(mapping_options);
  }
  if (*users_add) {
    users_add_options.config_path = config_path;
    users_add_options.actor = currentUser();
    return gw::addUser(users_add_options);
  }
  if (*rotate) {
    return gw::rotateKeys(config_path, currentUser());
  }
  if (*keys_status) {
    return gw::keysStatus(config_path);
  }
  if (*rewrap) {
    return gw::rewrapKeys(config_path, rewrap_batch, currentUser());
  }
  return 2;
}
