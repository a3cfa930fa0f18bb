// SPDX-License-Identifier: Apache-2.0
#include "gateway/configuration/ConfigParser.h"

#include <gtest/gtest.h>

namespace gw::config {
namespace {

TEST(ConfigParserTest, RecordsLineAndColumnOfEveryValue) {
  const std::string text =
      "{\n"
      "  // a comment\n"
      "  \"name\": \"adt\",\n"
      "  \"port\": 2575,\n"
      "  \"list\": [true, null, -1.5e3],\n"
      "  \"tls\": { \"enabled\": false },\n"
      "}\n";
  Result<ConfigNode> root = parseJson(text, "g.json");
  ASSERT_TRUE(root.ok()) << root.status().toString();
  const ConfigNode* name = root->find("name");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->text(), "adt");
  EXPECT_EQ(name->position().line, 3);
  EXPECT_EQ(name->position().column, 11);
  EXPECT_EQ(name->keyPosition().column, 3);
  const ConfigNode* port = root->find("port");
  EXPECT_EQ(port->text(), "2575");
  EXPECT_TRUE(port->isInteger());
  EXPECT_EQ(port->position().line, 4);
  EXPECT_EQ(port->position().column, 11);
  const ConfigNode* list = root->find("list");
  ASSERT_EQ(list->elements().size(), 3u);
  EXPECT_EQ(list->elements()[2].text(), "-1.5e3");
  EXPECT_FALSE(list->elements()[2].isInteger());
  EXPECT_EQ(list->elements()[2].position().column, 24);
  const ConfigNode* tls = root->find("tls");
  ASSERT_TRUE(tls->isObject());
  EXPECT_EQ(tls->position().column, 10);
  EXPECT_EQ(tls->find("enabled")->position().column, 23);
}

TEST(ConfigParserTest, StringWithEscapedQuotesKeepsItsStart) {
  Result<ConfigNode> root = parseJson("{\"a\": \"x\\\"y\\\\\"}", "f");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->find("a")->text(), "x\"y\\");
  EXPECT_EQ(root->find("a")->position().column, 7);
}

TEST(ConfigParserTest, SyntaxErrorIsPositioned) {
  Result<ConfigNode> root = parseJson("{\n  \"a\": 1\n  \"b\": 2\n}", "cfg.json");
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(root.status().code(), StatusCode::ParseError);
  ASSERT_TRUE(root.status().position().has_value());
  EXPECT_EQ(root.status().position()->line, 3);
  EXPECT_EQ(root.status().toString().rfind("cfg.json:3:", 0), 0u) << root.status().toString();
}

TEST(ConfigParserTest, DuplicateKeyIsAnError) {
  Result<ConfigNode> root = parseJson("{\"a\": 1,\n \"a\": 2}", "f");
  ASSERT_FALSE(root.ok());
  EXPECT_NE(root.status().message().find("duplicate key \"a\""), std::string::npos);
  EXPECT_EQ(root.status().position()->line, 2);
  EXPECT_EQ(root.status().position()->column, 2);
}

TEST(ConfigParserTest, SkipsByteOrderMark) {
  Result<ConfigNode> root = parseJson("\xEF\xBB\xBF{\"a\": 1}", "f");
  ASSERT_TRUE(root.ok()) << root.status().toString();
  EXPECT_EQ(root->find("a")->text(), "1");
}

TEST(ConfigParserTest, RejectsInvalidUtf8AndDeepNesting) {
  EXPECT_FALSE(parseJson("{\"a\": \"\xff\"}", "f").ok());
  EXPECT_FALSE(parseJson(std::string(100, '[') + std::string(100, ']'), "f").ok());
}

TEST(ConfigParserTest, MissingFileIsNotFound) {
  Result<ConfigNode> root = parseJsonFile("/nonexistent/gateway.json");
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(root.status().code(), StatusCode::NotFound);
}

}  // namespace
}  // namespace gw::config
