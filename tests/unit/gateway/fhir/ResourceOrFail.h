// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <gtest/gtest.h>

#include <utility>

#include "gateway/fhir/Resource.h"

namespace gw::test {

// The resource in `parsed`; when it holds an error, a test failure naming it and an empty Basic
// resource, so the test can go on and report more.
inline fhir::Resource resourceOrFail(Result<fhir::Resource> parsed) {
  if (!parsed.ok()) {
    ADD_FAILURE() << parsed.status().toString();
    return std::move(fhir::parseJson(R"({"resourceType":"Basic"})")).value();
  }
  return std::move(parsed).value();
}

}  // namespace gw::test
