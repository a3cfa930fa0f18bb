// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "adapters/outbound/secure_inbox/InboxHttp.h"
#include "tests/unit/adapters/outbound/secure_inbox/InboxFixture.h"

namespace gw::test {
namespace {

TEST(InboxHttpTest, ParsesUrlEncodedForms) {
  const auto form = inbox::parseForm("csrf=ab12&dob=1980-04-23&note=a+b%21&empty=&flag");
  ASSERT_TRUE(form.ok());
  EXPECT_EQ(form->at("csrf"), "ab12");
  EXPECT_EQ(form->at("dob"), "1980-04-23");
  EXPECT_EQ(form->at("note"), "a b!");
  EXPECT_EQ(form->at("empty"), "");
  EXPECT_EQ(form->at("flag"), "");
}

TEST(InboxHttpTest, FirstValueOfARepeatedFieldWins) {
  const auto form = inbox::parseForm("reply=confirm&reply=stop");
  ASSERT_TRUE(form.ok());
  EXPECT_EQ(form->at("reply"), "confirm");
}

TEST(InboxHttpTest, RejectsBrokenEscapes) {
  EXPECT_EQ(inbox::parseForm("a=%4").status().code(), StatusCode::InvalidArgument);
  EXPECT_EQ(inbox::parseForm("a=%zz").status().code(), StatusCode::InvalidArgument);
  EXPECT_EQ(inbox::parseForm("a=%").status().code(), StatusCode::InvalidArgument);
}

class InboxHttpFactoryTest : public InboxFixture {};

TEST_F(InboxHttpFactoryTest, HandlesOnlyItsPrefix) {
  inbox::InboxRequestHandlerFactory factory(std::make_shared<inbox::InboxPages>(service));
  EXPECT_TRUE(factory.handles("/inbox/l/abc"));
  EXPECT_TRUE(factory.handles("/inbox/style.css"));
  EXPECT_FALSE(factory.handles("/fhir/Patient"));
  EXPECT_FALSE(factory.handles("/inboxes"));
}

}  // namespace
}  // namespace gw::test
