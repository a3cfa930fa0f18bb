// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace gw {

struct UsersAddOptions {
  std::string config_path;
  std::string username;
  std::string role = "admin";  // viewer, operator or admin
  std::string actor;           // who runs the command (audit actor "operator:<actor>")
};

// `gateway users add --username U --role R`: creates an admin API account so the first admin
// exists before the API can be used. Reads the password from the terminal without echo (twice),
// or one line from standard input when that is not a terminal. Refuses passwords shorter than
// 12 characters. Audited "admin_user_created" with source "cli". Exit 0 when created, 2 for a
// refused name, role or password, 4 when the user exists, 78 on a config error, 1 otherwise.
int addUser(const UsersAddOptions& options);

}  // namespace gw
