// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <ostream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "gateway/hl7/Ack.h"

namespace gw::hl7 {
namespace {

// --- decideAck: every StatusCode x every kind of MSH-15 ------------------------------------

struct StatusRow {
  const char* name;
  Status status;
  AckCode original;
  AckCode enhanced;
  const char* error_code;  // table 0357
  const char* text;        // MSA-3 / ERR-8
  const char* location;    // ERR-2
};

const std::vector<StatusRow>& statusRows() {
  static const std::vector<StatusRow> rows = {
      {"Ok", Status::ok(), AckCode::AA, AckCode::CA, "", "", ""},
      {"InvalidArgument", Status::invalidArgument("PV1-2 (patient class) is not valid"),
       AckCode::AE, AckCode::CE, "102", "PV1-2 (patient class) is not valid", "PV1^1^2"},
      {"ParseError", Status::parseError("MSH-10 (message control id) is missing"), AckCode::AE,
       AckCode::CE, "101", "MSH-10 (message control id) is missing", "MSH^1^10"},
      {"NotFound", Status::notFound("no mapping for this event"), AckCode::AE, AckCode::CE, "103",
       "no mapping for this event", ""},
      {"AlreadyExists", Status::alreadyExists("key 42 exists in table events"), AckCode::AR,
       AckCode::CR, "207", "application internal error", ""},
      {"PermissionDenied", Status::permissionDenied("sending facility not allowed"), AckCode::AR,
       AckCode::CR, "207", "sending facility not allowed", ""},
      {"FailedPrecondition", Status::failedPrecondition("listener is draining"), AckCode::AR,
       AckCode::CR, "207", "listener is draining", ""},
      {"Unavailable", Status::unavailable("sqlite: database is locked at /var/lib/gw"), AckCode::AR,
       AckCode::CR, "207", "receiver temporarily unavailable, please resend", ""},
      {"DeadlineExceeded", Status::deadlineExceeded("writer queue full after 5000 ms"), AckCode::AR,
       AckCode::CR, "207", "receiver timed out, please resend", ""},
      {"DataLoss", Status::dataLoss("page 7 checksum mismatch"), AckCode::AR, AckCode::CR, "207",
       "application internal error", ""},
      {"Internal", Status::internal("std::bad_alloc in Router.cpp:88"), AckCode::AR, AckCode::CR,
       "207", "application internal error", ""},
  };
  return rows;
}

struct ModeRow {
  const char* name;
  const char* msh15;
  bool enhanced;
  bool send_on_ok;
  bool send_on_error;
};

// HL7 v2.5.1 ch. 2.9.3 and table 0155.
const std::vector<ModeRow>& modeRows() {
  static const std::vector<ModeRow> rows = {
      {"Empty", "", false, true, true},        {"AL", "AL", true, true, true},
      {"NE", "NE", true, false, false},        {"ER", "ER", true, false, true},
      {"SU", "SU", true, true, false},         {"LowerCaseAl", "al", true, true, true},
      {"PaddedEr", " ER ", true, false, true}, {"Unknown", "XX", false, true, true},
  };
  return rows;
}

void PrintTo(const StatusRow& row, std::ostream* os) {
  *os << row.name;
}
void PrintTo(const ModeRow& row, std::ostream* os) {
  *os << "MSH-15='" << row.msh15 << "'";
}

class DecideAckTest : public ::testing::TestWithParam<std::tuple<StatusRow, ModeRow>> {};

TEST_P(DecideAckTest, MapsOutcomeAndAcceptAckType) {
  const auto& [status_row, mode_row] = GetParam();
  const AckDecision decision = decideAck(status_row.status, mode_row.msh15);
  const AckCode expected = mode_row.enhanced ? status_row.enhanced : status_row.original;
  EXPECT_EQ(ackCodeName(decision.code), ackCodeName(expected));
  EXPECT_EQ(decision.error_code, status_row.error_code);
  EXPECT_EQ(decision.text, status_row.text);
  EXPECT_EQ(decision.error_location, status_row.location);
  EXPECT_EQ(decision.severity, status_row.status.isOk() ? "" : "E");
  EXPECT_EQ(decision.send, status_row.status.isOk() ? mode_row.send_on_ok : mode_row.send_on_error);
}

INSTANTIATE_TEST_SUITE_P(AllStatusCodesAndModes, DecideAckTest,
                         ::testing::Combine(::testing::ValuesIn(statusRows()),
                                            ::testing::ValuesIn(modeRows())),
                         [](const ::testing::TestParamInfo<DecideAckTest::ParamType>& param_info) {
                           return std::string(std::get<0>(param_info.param).name) + "_" +
                                  std::get<1>(param_info.param).name;
                         });

TEST(AckTest, TableCoversEveryStatusCode) {
  std::vector<StatusCode> covered;
  for (const StatusRow& row : statusRows()) {
    covered.push_back(row.status.code());
  }
  for (const StatusCode code :
       {StatusCode::Ok, StatusCode::InvalidArgument, StatusCode::ParseError, StatusCode::NotFound,
        StatusCode::AlreadyExists, StatusCode::PermissionDenied, StatusCode::FailedPrecondition,
        StatusCode::Unavailable,
        StatusCode::DeadlineExceeded, StatusCode::DataLoss, StatusCode::Internal}) {
    EXPECT_NE(std::find(covered.begin(), covered.end(), code), covered.end())
        << statusCodeName(code);
  }
}

// --- MSH-16: the application ACK when no accept ACK is wanted ------------------------------

struct ApplicationAckRow {
  const char* msh15;
  const char* msh16;
  bool ok;             // outcome OK or an error (InvalidArgument)
  bool send;
  AckCode code;        // when sent
};

class ApplicationAckTest : public ::testing::TestWithParam<ApplicationAckRow> {};

TEST_P(ApplicationAckTest, SendsApplicationAckWhenMsh16AsksForIt) {
  const ApplicationAckRow& row = GetParam();
  const Status outcome = row.ok ? Status::ok() : Status::invalidArgument("PID-3 is missing");
  const AckDecision d = decideAck(outcome, row.msh15, row.msh16);
  EXPECT_EQ(d.send, row.send) << row.msh15 << "/" << row.msh16 << " ok=" << row.ok;
  if (row.send) {
    EXPECT_EQ(d.code, row.code) << row.msh15 << "/" << row.msh16 << " ok=" << row.ok;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table0155, ApplicationAckTest,
    ::testing::Values(
        // Accept ACK wanted: MSH-16 does not matter, the commit ACK is sent.
        ApplicationAckRow{"AL", "NE", true, true, AckCode::CA},
        ApplicationAckRow{"AL", "AL", false, true, AckCode::CE},
        ApplicationAckRow{"ER", "NE", false, true, AckCode::CE},
        // No accept ACK wanted: the application ACK follows MSH-16.
        ApplicationAckRow{"NE", "NE", true, false, AckCode::AA},
        ApplicationAckRow{"NE", "NE", false, false, AckCode::AE},
        ApplicationAckRow{"NE", "", true, false, AckCode::AA},
        ApplicationAckRow{"NE", "AL", true, true, AckCode::AA},
        ApplicationAckRow{"NE", "AL", false, true, AckCode::AE},
        ApplicationAckRow{"ER", "AL", true, true, AckCode::AA},
        ApplicationAckRow{"ER", "SU", true, true, AckCode::AA},
        ApplicationAckRow{"ER", "ER", true, false, AckCode::AA},
        ApplicationAckRow{"SU", "ER", false, true, AckCode::AE},
        ApplicationAckRow{"SU", "NE", false, false, AckCode::AE},
        ApplicationAckRow{"NE", "XX", true, false, AckCode::AA}));

// --- Table 0357 codes for content errors ---------------------------------------------------

struct ErrorCodeRow {
  Status status;
  const char* error_code;
  const char* location;
};

void PrintTo(const ErrorCodeRow& row, std::ostream* os) {
  *os << row.status.toString();
}

class AckErrorCodeTest : public ::testing::TestWithParam<ErrorCodeRow> {};

TEST_P(AckErrorCodeTest, PicksTable0357Code) {
  const AckDecision decision = decideAck(GetParam().status, "");
  EXPECT_EQ(decision.error_code, GetParam().error_code) << GetParam().status.message();
  EXPECT_EQ(decision.error_location, GetParam().location) << GetParam().status.message();
}

// The parser's own messages come from Message::parse, so the mapping stays in step with it.
Status parseStatus(std::string_view bytes) {
  return Message::parse(bytes).status();
}

INSTANTIATE_TEST_SUITE_P(
    ContentErrors, AckErrorCodeTest,
    ::testing::Values(
        ErrorCodeRow{parseStatus("MSH|^~\\&|A|B|C|D|1|||9|P|2.5\r"), "101", "MSH^1^9"},
        ErrorCodeRow{parseStatus("MSH|^~\\&|A|B|C|D|1||^A01|9|P|2.5\r"), "101", "MSH^1^9^1^1"},
        ErrorCodeRow{parseStatus("MSH|^~\\&|A|B|C|D|1||ADT^A01||P|2.5\r"), "101", "MSH^1^10"},
        ErrorCodeRow{parseStatus("MSH|&&&&|A\r"), "102", "MSH^1^2"},
        ErrorCodeRow{parseStatus("MSH\r"), "101", "MSH^1^1"},
        ErrorCodeRow{parseStatus("PID|1\r"), "100", ""},
        ErrorCodeRow{parseStatus("\r\n"), "100", ""},
        ErrorCodeRow{Status::invalidArgument("unsupported message type"), "200", ""},
        ErrorCodeRow{Status::invalidArgument("unsupported event code for ADT"), "201", ""},
        ErrorCodeRow{Status::invalidArgument("unsupported processing id"), "202", ""},
        ErrorCodeRow{Status::invalidArgument("unsupported version id"), "203", ""},
        ErrorCodeRow{Status::invalidArgument("PID-3 (patient identifier list) is required"), "101",
                     "PID^1^3"},
        ErrorCodeRow{Status::invalidArgument("PV1-2.1 is not in table 0004"), "103", "PV1^1^2^1^1"},
        ErrorCodeRow{Status::notFound("unknown patient"), "103", ""},
        ErrorCodeRow{Status::invalidArgument("bad date"), "102", ""},
        ErrorCodeRow{Status::parseError("garbled"), "102", ""},
        ErrorCodeRow{Status::invalidArgument("intake: PID-7 (birth date) is not a date"), "102",
                     "PID^1^7"}));

// --- buildAck ------------------------------------------------------------------------------

const SystemTime kNow{std::chrono::seconds(1709212455)};  // 2024-02-29 13:14:15 UTC

// A Message refers to the bytes it parsed, so the helper keeps its copy alive for the whole run
// (a deque never moves its elements, so views stay valid).
Message parseOrDie(std::string bytes) {
  static std::deque<std::string> kept;
  kept.push_back(std::move(bytes));
  Result<Message> parsed = Message::parse(kept.back());
  EXPECT_TRUE(parsed.ok()) << parsed.status().toString();
  return parsed.ok() ? std::move(parsed).value() : Message();
}

const std::string kOriginal =
    "MSH|^~\\&|EPIC|NORTH^1.2.3^ISO|GW|PORTAL|20240229120000||ADT^A01^ADT_A01|MSG00042|P|2.5.1|"
    "||AL|NE||UNICODE UTF-8\r"
    "PID|1||123^^^H^MR||DOE^JANE\r";

TEST(AckTest, BuildsAcceptAckWithSwappedSenderAndReceiver) {
  const Message original = parseOrDie(kOriginal);
  const std::string ack = buildAck(original, decideAck(Status::ok(), ""), "ACK0001", kNow);
  const Message parsed = parseOrDie(ack);
  EXPECT_EQ(parsed.sendingApplication(), "GW");
  EXPECT_EQ(parsed.sendingFacility(), "PORTAL");
  EXPECT_EQ(parsed.receivingApplication(), "EPIC");
  EXPECT_EQ(parsed.receivingFacility(), "NORTH^1.2.3^ISO");
  EXPECT_EQ(parsed.get("MSH-7"), "20240229131415+0000");
  EXPECT_EQ(parsed.messageTypeField(), "ACK^A01^ACK");
  EXPECT_EQ(parsed.controlId(), "ACK0001");
  EXPECT_EQ(parsed.processingId(), "P");
  EXPECT_EQ(parsed.version(), "2.5.1");
  EXPECT_EQ(parsed.get("MSH-18"), "UNICODE UTF-8");
  EXPECT_EQ(parsed.acceptAckType(), "");  // ACKs are not acknowledged
  EXPECT_EQ(parsed.get("MSA-1"), "AA");
  EXPECT_EQ(parsed.get("MSA-2"), "MSG00042");
  EXPECT_EQ(parsed.get("MSA-3"), "");
  EXPECT_EQ(parsed.countSegments("ERR"), 0u);
  EXPECT_EQ(parsed.segmentCount(), 2u);
}

TEST(AckTest, TerminatesSegmentsWithCarriageReturnOnly) {
  const Message original = parseOrDie(kOriginal);
  const std::string ack = buildAck(original, decideAck(Status::internal("x"), ""), "A1", kNow);
  EXPECT_EQ(ack.find('\n'), std::string::npos);
  EXPECT_EQ(ack.back(), '\r');
  EXPECT_EQ(ack.substr(0, 9), "MSH|^~\\&|");
  EXPECT_EQ(ack,
            "MSH|^~\\&|GW|PORTAL|EPIC|NORTH^1.2.3^ISO|20240229131415+0000||ACK^A01^ACK|A1|P|2.5.1"
            "||||||UNICODE UTF-8\r"
            "MSA|AR|MSG00042|application internal error\r"
            "ERR|||207^Application internal error^HL70357|E||||application internal error\r");
}

TEST(AckTest, BuildsErrorSegmentForVersion25AndLater) {
  const Message original = parseOrDie(kOriginal);
  const AckDecision decision =
      decideAck(Status::invalidArgument("PID-3 (patient identifier list) is required"), "AL");
  const Message parsed = parseOrDie(buildAck(original, decision, "A2", kNow));
  EXPECT_EQ(parsed.get("MSA-1"), "CE");
  EXPECT_EQ(parsed.get("MSA-3"), "PID-3 (patient identifier list) is required");
  EXPECT_EQ(parsed.get("ERR-1"), "");
  EXPECT_EQ(parsed.get("ERR-2"), "PID^1^3");
  EXPECT_EQ(parsed.get("ERR-3"), "101^Required field missing^HL70357");
  EXPECT_EQ(parsed.get("ERR-4"), "E");
  EXPECT_EQ(parsed.get("ERR-8"), "PID-3 (patient identifier list) is required");
}

TEST(AckTest, PutsErrorInErr1ForVersionsBefore25) {
  const std::string bytes = "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|X7|T|2.3.1\rPID|1\r";
  const Message original = parseOrDie(bytes);
  const AckDecision decision = decideAck(Status::parseError("MSH-9 (message type) is missing"), "");
  const Message parsed = parseOrDie(buildAck(original, decision, "A3", kNow));
  EXPECT_EQ(parsed.version(), "2.3.1");
  EXPECT_EQ(parsed.get("ERR-1"), "MSH^1^9^101&Required field missing&HL70357");
  EXPECT_EQ(parsed.get("ERR-1.4.1"), "101");
  EXPECT_EQ(parsed.get("ERR-2"), "");
  EXPECT_EQ(parsed.get("ERR-3"), "");
}

TEST(AckTest, Err1WithoutLocationStillCarriesTheCode) {
  const std::string bytes = "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|X7|T|2.4\r";
  const Message parsed =
      parseOrDie(buildAck(parseOrDie(bytes), decideAck(Status::unavailable("x"), ""), "A4", kNow));
  EXPECT_EQ(parsed.get("ERR-1"), "^^^207&Application internal error&HL70357");
  EXPECT_EQ(parsed.get("MSA-1"), "AR");
}

TEST(AckTest, UsesTheOriginalDelimiters) {
  const std::string bytes =
      "MSH^~|\\&^SENDING^200M^RECEIVING^200^20120918173931-0500^^ADT~A24^2003582144^T^2.4\r";
  const Message original = parseOrDie(bytes);
  const std::string ack = buildAck(original, decideAck(Status::ok(), ""), "A5", kNow);
  EXPECT_EQ(ack.substr(0, 9), "MSH^~|\\&^");
  const Message parsed = parseOrDie(ack);
  EXPECT_EQ(parsed.delimiters().field, '^');
  EXPECT_EQ(parsed.messageTypeField(), "ACK~A24~ACK");
  EXPECT_EQ(parsed.messageType(), "ACK^A24");
  EXPECT_EQ(parsed.sendingApplication(), "RECEIVING");
  EXPECT_EQ(parsed.receivingFacility(), "200M");
  EXPECT_EQ(parsed.get("MSA-2"), "2003582144");
}

TEST(AckTest, EchoesTruncationCharacter) {
  const std::string bytes = "MSH|^~\\&#|A|B|C|D|20240101||ORU^R01|X7|T|2.7\r";
  const std::string ack = buildAck(parseOrDie(bytes), decideAck(Status::ok(), ""), "A#6", kNow);
  EXPECT_EQ(ack.substr(0, 10), "MSH|^~\\&#|");
  const Message parsed = parseOrDie(ack);
  EXPECT_EQ(parsed.raw("MSH-10"), "A\\P\\6");
  EXPECT_EQ(parsed.get("MSH-10"), "A#6");
}

TEST(AckTest, WritesJustAckWithoutTrigger) {
  const std::string bytes = "MSH|^~\\&|A|B|C|D|20240101||QRY|X7|T|2.5\r";
  const Message parsed =
      parseOrDie(buildAck(parseOrDie(bytes), decideAck(Status::ok(), ""), "A7", kNow));
  EXPECT_EQ(parsed.messageTypeField(), "ACK");
}

TEST(AckTest, AnswersMessageWithoutComponentSeparator) {
  const std::string bytes = "MSH||S|SF|R|RF|20230101||ORM^O01^ORM_O01|111111|D|2.5.1\r";
  const std::string ack =
      buildAck(parseOrDie(bytes), decideAck(Status::invalidArgument("MSH-4 bad"), ""), "A|8", kNow);
  const Message parsed = parseOrDie(ack);
  EXPECT_EQ(parsed.messageTypeField(), "ACK");
  EXPECT_EQ(parsed.controlId(), "A 8");  // no escape character: the delimiter becomes a space
  EXPECT_EQ(parsed.get("MSA-2"), "111111");
  EXPECT_EQ(parsed.get("ERR-3"), "102");
  EXPECT_EQ(parsed.get("ERR-2"), "MSH");
}

TEST(AckTest, EscapesValuesItWrites) {
  const Message original = parseOrDie(kOriginal);
  const AckDecision decision =
      decideAck(Status::permissionDenied("facility A|B^C~D&E\\F\r\nnot allowed"), "");
  const std::string ack = buildAck(original, decision, "ID|^~&\\", kNow);
  const Message parsed = parseOrDie(ack);
  EXPECT_EQ(parsed.segmentCount(), 3u);
  EXPECT_EQ(parsed.get("MSH-10"), "ID|^~&\\");
  EXPECT_EQ(parsed.get("MSA-3"), "facility A|B^C~D&E\\F  not allowed");
  EXPECT_EQ(parsed.get("ERR-8"), "facility A|B^C~D&E\\F  not allowed");
}

TEST(AckTest, FormatsTimestampsInUtc) {
  const std::string bytes = "MSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5\r";
  const Message original = parseOrDie(bytes);
  const auto msh7 = [&](SystemTime now) {
    return parseOrDie(buildAck(original, decideAck(Status::ok(), ""), "A", now)).get("MSH-7");
  };
  EXPECT_EQ(msh7(SystemTime{}), "19700101000000+0000");
  EXPECT_EQ(msh7(SystemTime{std::chrono::seconds(-1)}), "19691231235959+0000");
  EXPECT_EQ(msh7(SystemTime{std::chrono::seconds(4102444799)}), "20991231235959+0000");
  EXPECT_EQ(msh7(kNow + std::chrono::milliseconds(999)), "20240229131415+0000");
}

// --- buildAckForUnparsed -------------------------------------------------------------------

TEST(AckTest, SalvagesHeaderFromUnparsableMessage) {
  const std::string bytes =
      "MSH|^~\\&|EPIC|NORTH|GW|PORTAL|20240101|||CTRL9|P|2.3\rPID|1\r";  // MSH-9 missing
  const Status status = Message::parse(bytes).status();
  ASSERT_FALSE(status.isOk());
  const std::string ack = buildAckForUnparsed(bytes, decideAck(status, ""), "A9", kNow);
  const Message parsed = parseOrDie(ack);
  EXPECT_EQ(parsed.sendingApplication(), "GW");
  EXPECT_EQ(parsed.receivingApplication(), "EPIC");
  EXPECT_EQ(parsed.receivingFacility(), "NORTH");
  EXPECT_EQ(parsed.messageTypeField(), "ACK");
  EXPECT_EQ(parsed.get("MSA-1"), "AE");
  EXPECT_EQ(parsed.get("MSA-2"), "CTRL9");
  EXPECT_EQ(parsed.version(), "2.3");
  EXPECT_EQ(parsed.get("ERR-1"), "MSH^1^9^101&Required field missing&HL70357");
}

TEST(AckTest, SalvagesControlIdWhenOnlyMsh2IsBroken) {
  // Seen in the wild: an escaped backslash doubled into MSH-2, so two delimiters are the same.
  const std::string bytes = "MSH|^~\\\\&|SE050|050|PACS|050|20120912011230||ADT^A01|102|T|2.6\rPID|1\r";
  const Status status = Message::parse(bytes).status();
  ASSERT_EQ(status.code(), StatusCode::ParseError);
  EXPECT_NE(status.message().find("MSH-2"), std::string::npos);
  const std::string ack = buildAckForUnparsed(bytes, decideAck(status, ""), "A10", kNow);
  const Message parsed = parseOrDie(ack);
  EXPECT_EQ(parsed.get("MSH-2"), "^~\\&");
  EXPECT_EQ(parsed.get("MSA-1"), "AE");
  EXPECT_EQ(parsed.get("MSA-2"), "102");
  EXPECT_EQ(parsed.receivingApplication(), "SE050");
  EXPECT_EQ(parsed.version(), "2.6");
}

TEST(AckTest, SalvagesAfterJunkAndKeepsDelimiters) {
  const std::string bytes = "\xEF\xBB\xBFjunk\r\nMSH!@#$%!APP!FAC!GW!GWF!1!!ADT@A08!C7!P!2.5.1\n";
  const std::string ack =
      buildAckForUnparsed(bytes, decideAck(Status::parseError("x"), ""), "A10", kNow);
  EXPECT_EQ(ack.substr(0, 9), "MSH!@#$%!");
  const Message parsed = parseOrDie(ack);
  EXPECT_EQ(parsed.messageTypeField(), "ACK@A08@ACK");
  EXPECT_EQ(parsed.get("MSA-2"), "C7");
  EXPECT_EQ(parsed.receivingApplication(), "APP");
}

TEST(AckTest, UsesDefaultDelimitersWhenMshIsUnreadable) {
  const std::vector<std::string> inputs = {"",        "garbage",
                                           "PID|1\r", "MSH^&&&&^A^B^C^D^1^^ADT^C1\r",
                                           "MSH",     std::string("\x0b\x1c\x0d", 3)};
  for (const std::string& input : inputs) {
    const std::string ack =
        buildAckForUnparsed(input, decideAck(Status::parseError("unreadable"), ""), "A11", kNow);
    EXPECT_EQ(ack.substr(0, 9), "MSH|^~\\&|") << input;
    const Message parsed = parseOrDie(ack);
    EXPECT_EQ(parsed.get("MSA-1"), "AE") << input;
    EXPECT_EQ(parsed.get("MSA-2"), "") << input;
    EXPECT_EQ(parsed.controlId(), "A11") << input;
    EXPECT_EQ(parsed.messageTypeField(), "ACK") << input;
  }
}

TEST(AckTest, SalvagesFieldsWithRepeatedEncodingCharacters) {
  const std::string ack = buildAckForUnparsed("MSH|&&&&|A|B|C|D|1||ADT^A01|C1\r",
                                              decideAck(Status::parseError("MSH-2"), ""), "A11", kNow);
  EXPECT_EQ(ack.substr(0, 9), "MSH|^~\\&|");
  const Message parsed = parseOrDie(ack);
  EXPECT_EQ(parsed.get("MSA-2"), "C1");
  EXPECT_EQ(parsed.messageTypeField(), "ACK^A01^ACK");
}

TEST(AckTest, BlanksControlCharactersInEchoedFields) {
  const std::string bytes = std::string(
      "MSH|^~\\&|A\x1c"
      "B|F|G|H|1||ADT^A01|C\x0b"
      "1|P|2.5\r");
  const std::string ack = buildAck(parseOrDie(bytes), decideAck(Status::ok(), ""), "A12", kNow);
  EXPECT_EQ(ack.find('\x1c'), std::string::npos);
  EXPECT_EQ(ack.find('\x0b'), std::string::npos);
  EXPECT_EQ(parseOrDie(ack).get("MSA-2"), "C 1");
}

TEST(AckTest, LeavesOutUtcOffsetWhenPlusIsADelimiter) {
  const std::string bytes = "MSH+^~\\&+A+B+C+D+1++ADT^A01+C1+P+2.5\r";
  const Message parsed =
      parseOrDie(buildAck(parseOrDie(bytes), decideAck(Status::ok(), ""), "A13", kNow));
  EXPECT_EQ(parsed.get("MSH-7"), "20240229131415");
  EXPECT_EQ(parsed.messageTypeField(), "ACK^A01^ACK");
  EXPECT_EQ(parsed.controlId(), "A13");
}

// Whatever arrives, the answer is itself a well-formed message (found by fuzzing: a '+' field
// separator once collided with the "+0000" of MSH-7).
TEST(AckTest, AnswersAlwaysParseBack) {
  std::mt19937 rng(99);
  const std::string alphabet = "MSH|^~\\&+#!.\r\nACK01A9 ";
  const Status outcomes[] = {Status::ok(), Status::parseError("MSH-9 (message type) is missing"),
                             Status::unavailable("down"), Status::permissionDenied("no|^~\\&")};
  for (int round = 0; round < 2000; ++round) {
    std::string bytes = round % 3 == 0 ? "" : "MSH";
    const std::size_t length = rng() % 120;
    for (std::size_t i = 0; i < length; ++i) {
      bytes += round % 4 == 0 ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
    }
    const Result<Message> original = Message::parse(bytes);
    const Status& outcome = outcomes[rng() % 4];
    const AckDecision decision =
        decideAck(original.ok() ? outcome : original.status(),
                  original.ok() ? original->acceptAckType() : std::string_view());
    const std::string ack = original.ok() ? buildAck(*original, decision, "ID|^~\\&", kNow)
                                          : buildAckForUnparsed(bytes, decision, "ID|^~\\&", kNow);
    const Result<Message> answer = Message::parse(ack);
    ASSERT_TRUE(answer.ok()) << answer.status().toString();
    EXPECT_EQ(answer->get("MSA-1"), ackCodeName(decision.code));
    EXPECT_EQ(answer->messageType().substr(0, 3), "ACK");
  }
}

TEST(AckTest, NamesAckCodes) {
  EXPECT_EQ(ackCodeName(AckCode::AA), "AA");
  EXPECT_EQ(ackCodeName(AckCode::AE), "AE");
  EXPECT_EQ(ackCodeName(AckCode::AR), "AR");
  EXPECT_EQ(ackCodeName(AckCode::CA), "CA");
  EXPECT_EQ(ackCodeName(AckCode::CE), "CE");
  EXPECT_EQ(ackCodeName(AckCode::CR), "CR");
}

}  // namespace
}  // namespace gw::hl7
