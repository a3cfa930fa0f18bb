// SPDX-License-Identifier: Apache-2.0
#include "gateway/daemon/UsersCommand.h"

#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "gateway/admin/AdminService.h"
#include "gateway/daemon/Gateway.h"
#include "gateway/daemon/GatewayConfig.h"
#include "gateway/store/sqlite/SqliteAdminStore.h"

namespace gw {
namespace {

// One line from the terminal with echo off; false at end of input.
bool readHidden(const char* prompt, std::string& out) {
  std::cerr << prompt << std::flush;
  termios old_mode{};
  const bool tty = tcgetattr(STDIN_FILENO, &old_mode) == 0;
  if (tty) {
    termios quiet = old_mode;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  const bool got = static_cast<bool>(std::getline(std::cin, out));
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old_mode);
    std::cerr << "\n";
  }
  return got;
}

Result<std::string> readPassword() {
  std::string password;
  if (isatty(STDIN_FILENO) == 0) {
    if (!std::getline(std::cin, password)) {
      return Status::invalidArgument("no password on standard input");
    }
    if (!password.empty() && password.back() == '\r') {
      password.pop_back();
    }
    return password;
  }
  std::string again;
  if (!readHidden("Password: ", password) || !readHidden("Password again: ", again)) {
    return Status::invalidArgument("no password given");
  }
  if (password != again) {
    return Status::invalidArgument("the passwords differ");
  }
  return password;
}

}  // namespace

int addUser(const UsersAddOptions& options) {
  const std::optional<AdminRole> role = parseAdminRole(options.role);
  if (!role) {
    std::cerr << "users add: role must be viewer, operator or admin\n";
    return 2;
  }
  if (Status s = admin::AdminService::checkUsername(options.username); !s.isOk()) {
    std::cerr << "users add: " << s.message() << "\n";
    return 2;
  }
  GatewayConfig config;
  std::string diagnostics;
  if (!loadGatewayConfig(options.config_path, config, diagnostics)) {
    std::cerr << diagnostics;
    return kExitConfigError;
  }
  Result<std::string> password = readPassword();
  if (!password.ok()) {
    std::cerr << "users add: " << password.status().message() << "\n";
    return 2;
  }
  if (Status s = checkPasswordPolicy(*password); !s.isOk()) {
    std::cerr << "users add: " << s.message() << "\n";
    return 2;
  }
  Result<StorePtr> store = openStore(config, std::make_shared<SystemClock>());
  if (!store.ok()) {
    std::cerr << "users add: " << store.status().toString() << "\n";
    return 1;
  }
  auto sqlite = std::dynamic_pointer_cast<SqliteStore>(*store);
  if (!sqlite) {
    std::cerr << "users add: the configured store has no admin tables\n";
    return 1;
  }
  SqliteAdminStore admin_store(sqlite);
  const Status added = admin::AdminService::addUser(
      admin_store, options.username, *role, *password, config.admin.password_kdf,
      {"operator:" + options.actor, "cli", "gateway users add"});
  (*store)->close();
  if (!added.isOk()) {
    std::cerr << "users add: " << added.toString() << "\n";
    return added.code() == StatusCode::AlreadyExists     ? 4
           : added.code() == StatusCode::InvalidArgument ? 2
                                                         : 1;
  }
  std::cout << "user " << options.username << " (" << options.role << ") created\n";
  return 0;
}

}  // namespace gw
