// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "gateway/api/ConfigNode.h"
#include "gateway/configuration/ConfigParser.h"

namespace gw {
namespace {

ConfigNode parse(const std::string& text) {
  Result<ConfigNode> root = config::parseJson(text, "c.json");
  EXPECT_TRUE(root.ok()) << root.status().toString();
  return root.ok() ? *root : ConfigNode();
}

struct Settings {
  std::string host = "127.0.0.1";
  int port = 2575;
  bool tls = false;
  std::string durability = "process";
  std::vector<std::string> facilities;
};

void read(const ConfigNode& node, ConfigErrors& errors, Settings& s) {
  ConfigReader r(node, errors, "listener");
  r.readString("host", s.host);
  r.readInt("port", s.port, 0, 65535);
  r.readBool("tls", s.tls);
  r.readEnum("durability", s.durability, {"process", "power"});
  r.readStringList("facilities", s.facilities);
  r.finish();
}

TEST(ConfigReaderTest, MissingKeysKeepDefaults) {
  ConfigErrors errors;
  Settings s;
  read(parse("{}"), errors, s);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(s.port, 2575);
  EXPECT_EQ(s.host, "127.0.0.1");
}

TEST(ConfigReaderTest, ReadsEveryKind) {
  ConfigErrors errors;
  Settings s;
  read(parse(R"({"host": "0.0.0.0", "port": 0, "tls": true, "durability": "power",
                 "facilities": ["A", "B"]})"),
       errors, s);
  EXPECT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(s.host, "0.0.0.0");
  EXPECT_EQ(s.port, 0);
  EXPECT_TRUE(s.tls);
  EXPECT_EQ(s.durability, "power");
  EXPECT_EQ(s.facilities, (std::vector<std::string>{"A", "B"}));
}

TEST(ConfigReaderTest, ReportsEveryErrorAtOnceWithPositions) {
  ConfigErrors errors;
  Settings s;
  read(parse("{\n"
             "  \"host\": 1,\n"
             "  \"port\": 70000,\n"
             "  \"tsl\": true,\n"
             "  \"durability\": \"disk\",\n"
             "  \"facilities\": [\"A\", 2]\n"
             "}"),
       errors, s);
  const std::string text = errors.toString();
  EXPECT_EQ(errors.all().size(), 5u) << text;
  EXPECT_NE(text.find("c.json:2:11: error: \"listener.host\" must be a string, not a number"),
            std::string::npos) << text;
  EXPECT_NE(text.find("c.json:3:11: error: \"listener.port\" is 70000, outside the allowed range 0..65535"),
            std::string::npos) << text;
  EXPECT_NE(text.find("c.json:4:3: error: unknown key \"tsl\" in listener (did you mean \"tls\"?)"),
            std::string::npos) << text;
  EXPECT_NE(text.find("c.json:5:17: error: \"listener.durability\" is \"disk\"; expected one of \"process\", \"power\""),
            std::string::npos) << text;
  EXPECT_NE(text.find("c.json:6:23: error: \"listener.facilities[1]\" must be a string"),
            std::string::npos) << text;
  EXPECT_EQ(s.port, 2575) << "a rejected value must not replace the default";
}

TEST(ConfigReaderTest, FractionForIntegerIsAnError) {
  ConfigErrors errors;
  Settings s;
  read(parse(R"({"port": 25.5})"), errors, s);
  ASSERT_EQ(errors.all().size(), 1u);
  EXPECT_NE(errors.toString().find("must be a whole number"), std::string::npos);
}

TEST(ConfigReaderTest, NonObjectIsAnError) {
  ConfigErrors errors;
  Settings s;
  read(parse("[1]"), errors, s);
  ASSERT_EQ(errors.all().size(), 1u);
  EXPECT_NE(errors.toString().find("listener must be an object, not an array"), std::string::npos);
}

TEST(ConfigReaderTest, RequiredStringMissing) {
  ConfigErrors errors;
  ConfigNode node = parse("{}");
  ConfigReader r(node, errors, "x");
  std::string name;
  r.readString("name", name, /*required=*/true);
  r.finish();
  EXPECT_NE(errors.toString().find("missing required key \"x.name\""), std::string::npos);
}

}  // namespace
}  // namespace gw
