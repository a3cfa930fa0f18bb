// SPDX-License-Identifier: Apache-2.0
// ThreadSanitizer cannot see the atomic reference counts inside the uninstrumented POCO
// libraries, so when TCPServer's acceptor thread drops the last reference to a socket that a
// connection thread used (and released) before, it reports the delete as a race. Linked into the
// socket tests only; without -fsanitize=thread nothing calls this.
extern "C" const char* __tsan_default_suppressions() {
  return "race:Poco::Net::TCPServer::run\n";
}
