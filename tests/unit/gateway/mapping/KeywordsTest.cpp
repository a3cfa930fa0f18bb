// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "gateway/mapping/Keywords.h"

namespace gw::mapping {
namespace {

TEST(KeywordsTest, RecognisesEveryStopWord) {
  for (const char* word : {"STOP", "UNSUBSCRIBE", "END", "QUIT", "REVOKE", "OPTOUT", "CANCEL"}) {
    EXPECT_EQ(parseKeyword(word), Keyword::Stop) << word;
  }
}

TEST(KeywordsTest, IgnoresCaseSpaceAndTrailingPunctuation) {
  EXPECT_EQ(parseKeyword("stop"), Keyword::Stop);
  EXPECT_EQ(parseKeyword("  Stop.  "), Keyword::Stop);
  EXPECT_EQ(parseKeyword("Unsubscribe!\r\n"), Keyword::Stop);
  EXPECT_EQ(parseKeyword("start"), Keyword::Start);
  EXPECT_EQ(parseKeyword("Help?"), Keyword::Help);
  EXPECT_EQ(parseKeyword("STOPALL"), Keyword::StopAll);
}

TEST(KeywordsTest, OrdinaryRepliesAreNotKeywords) {
  EXPECT_EQ(parseKeyword(""), Keyword::None);
  EXPECT_EQ(parseKeyword("stop it"), Keyword::None);
  EXPECT_EQ(parseKeyword("OPT OUT"), Keyword::None);
  EXPECT_EQ(parseKeyword("Please stop"), Keyword::None);
  EXPECT_EQ(parseKeyword("STOP1"), Keyword::None);
  EXPECT_EQ(parseKeyword("stopped"), Keyword::None);
  EXPECT_EQ(parseKeyword("confirm"), Keyword::None);
}

TEST(KeywordsTest, StopOptsOutOfTheChannelForEveryPurpose) {
  auto change = consentChangeFor(Keyword::Stop, "pk", ChannelKind::MessagingApi);
  ASSERT_TRUE(change);
  EXPECT_EQ(change->patient_key, "pk");
  ASSERT_TRUE(change->channel);
  EXPECT_EQ(*change->channel, ChannelKind::MessagingApi);
  EXPECT_EQ(change->purpose, "*");
  EXPECT_EQ(change->consent, Consent::OptedOut);
  EXPECT_EQ(change->reason, "keyword stop");
}

TEST(KeywordsTest, StopAllCoversEveryChannelAndStartOptsBackIn) {
  auto all = consentChangeFor(Keyword::StopAll, "pk", ChannelKind::Email);
  ASSERT_TRUE(all);
  EXPECT_FALSE(all->channel);
  EXPECT_EQ(all->consent, Consent::OptedOut);
  auto start = consentChangeFor(Keyword::Start, "pk", ChannelKind::Email);
  ASSERT_TRUE(start);
  EXPECT_EQ(start->consent, Consent::OptedIn);
  EXPECT_EQ(*start->channel, ChannelKind::Email);
}

TEST(KeywordsTest, HelpAndOrdinaryRepliesChangeNothing) {
  EXPECT_FALSE(consentChangeFor(Keyword::Help, "pk", ChannelKind::Email));
  EXPECT_FALSE(consentChangeFor(Keyword::None, "pk", ChannelKind::Email));
}

TEST(KeywordsTest, LedgerHonoursSpecificPurposeOverEveryPurpose) {
  InMemoryPolicyState state;
  state.setConsent("pk", ChannelKind::Email, "*", Consent::OptedOut);
  state.setConsent("pk", ChannelKind::Email, "reminder", Consent::OptedIn);
  EXPECT_EQ(*state.consent("pk", ChannelKind::Email, "result"), Consent::OptedOut);
  EXPECT_EQ(*state.consent("pk", ChannelKind::Email, "reminder"), Consent::OptedIn);
  EXPECT_EQ(*state.consent("pk", ChannelKind::SecureInbox, "result"), Consent::Unknown);
}

}  // namespace
}  // namespace gw::mapping
