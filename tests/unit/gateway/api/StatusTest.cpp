// SPDX-License-Identifier: Apache-2.0
#include "gateway/api/Status.h"

#include <gtest/gtest.h>

#include "gateway/api/Result.h"

namespace gw {
namespace {

TEST(StatusTest, OnlyUnavailableAndDeadlineAreRetryable) {
  EXPECT_TRUE(Status::unavailable("x").isRetryable());
  EXPECT_TRUE(Status::deadlineExceeded("x").isRetryable());
  for (const Status& s : {Status::invalidArgument("x"), Status::parseError("x"),
                          Status::notFound("x"), Status::alreadyExists("x"),
                          Status::permissionDenied("x"), Status::dataLoss("x"),
                          Status::internal("x"), Status::ok()}) {
    EXPECT_FALSE(s.isRetryable()) << s.toString();
  }
}

TEST(StatusTest, ToStringUsesCompilerFormatWhenPositioned) {
  Status s = Status::invalidArgument("unknown key \"retires\"").withPosition({"g.json", 42, 17});
  EXPECT_EQ(s.toString(), "g.json:42:17: error: unknown key \"retires\"");
  EXPECT_EQ(Status::unavailable("store closed").toString(), "unavailable: store closed");
}

TEST(StatusTest, WithContextPrefixesErrorsOnly) {
  EXPECT_EQ(Status::notFound("no row").withContext("reading 42").message(), "reading 42: no row");
  EXPECT_TRUE(Status::ok().withContext("x").isOk());
}

Result<int> half(int v) {
  if (v % 2 != 0) {
    return Status::invalidArgument("odd");
  }
  return v / 2;
}

Result<int> quarter(int v) {
  GW_ASSIGN_OR_RETURN(int h, half(v));
  GW_ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

Status checkEven(int v) {
  GW_RETURN_IF_ERROR(half(v));
  return Status::ok();
}

TEST(ResultTest, PropagatesErrorsThroughMacros) {
  EXPECT_EQ(quarter(8).value(), 2);
  EXPECT_EQ(quarter(6).status().code(), StatusCode::InvalidArgument);
  EXPECT_TRUE(checkEven(2).isOk());
  EXPECT_FALSE(checkEven(3).isOk());
}

TEST(ResultTest, OkStatusWithoutValueBecomesInternal) {
  Result<int> r(Status::ok());
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::Internal);
}

TEST(ResultTest, ValueOr) {
  EXPECT_EQ(half(3).valueOr(-1), -1);
  EXPECT_EQ(half(4).valueOr(-1), 2);
}

}  // namespace
}  // namespace gw
