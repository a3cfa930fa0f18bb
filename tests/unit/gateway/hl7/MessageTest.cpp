// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "gateway/hl7/Message.h"

namespace gw::hl7 {
namespace {

const std::string kAdt =
    "MSH|^~\\&|SENDAPP|SENDFAC|RECVAPP|RECVFAC|20240101120000||ADT^A01^ADT_A01|CTRL123|P|2.5.1|||"
    "AL|NE\r"
    "EVN|A01|20240101120000\r"
    "PID|1||12345^^^HOSP^MR~67890^^^STATE^SS||DOE^JOHN^Q||19800101|M\r"
    "PV1|1|I|ICU^101^A\r";

// A Message refers to the bytes it parsed, so the helper keeps its copy alive for the whole run
// (a deque never moves its elements, so views stay valid).
Message parseOrDie(std::string bytes) {
  static std::deque<std::string> kept;
  kept.push_back(std::move(bytes));
  Result<Message> parsed = Message::parse(kept.back());
  EXPECT_TRUE(parsed.ok()) << parsed.status().toString();
  if (!parsed.ok()) {
    return Message();
  }
  return std::move(parsed).value();
}

std::string parseError(std::string_view bytes) {
  const Result<Message> parsed = Message::parse(bytes);
  EXPECT_FALSE(parsed.ok());
  if (parsed.ok()) {
    return "<parsed>";
  }
  EXPECT_EQ(parsed.status().code(), StatusCode::ParseError);
  return parsed.status().message();
}

// Replaces every "\n" of a template message with `terminator`.
std::string withTerminator(std::string_view text, std::string_view terminator) {
  std::string out;
  for (const char c : text) {
    if (c == '\n') {
      out += terminator;
    } else {
      out += c;
    }
  }
  return out;
}

TEST(MessageTest, ReadsHeaderFields) {
  const Message m = parseOrDie(kAdt);
  EXPECT_EQ(m.sendingApplication(), "SENDAPP");
  EXPECT_EQ(m.sendingFacility(), "SENDFAC");
  EXPECT_EQ(m.receivingApplication(), "RECVAPP");
  EXPECT_EQ(m.receivingFacility(), "RECVFAC");
  EXPECT_EQ(m.messageTypeField(), "ADT^A01^ADT_A01");
  EXPECT_EQ(m.messageType(), "ADT^A01");
  EXPECT_EQ(m.controlId(), "CTRL123");
  EXPECT_EQ(m.processingId(), "P");
  EXPECT_EQ(m.version(), "2.5.1");
  EXPECT_EQ(m.acceptAckType(), "AL");
  EXPECT_EQ(m.applicationAckType(), "NE");
  EXPECT_EQ(m.charset(), Charset::Ascii);
  EXPECT_EQ(m.segmentCount(), 4u);
}

TEST(MessageTest, MessageTypeWithoutTriggerIsTheCode) {
  const std::string bytes = "MSH|^~\\&|A|B|C|D|20240101||ACK|1|P|2.3\r";
  EXPECT_EQ(parseOrDie(bytes).messageType(), "ACK");
}

TEST(MessageTest, VersionIsFirstComponentOfMsh12) {
  const std::string bytes = "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5.1^USA^HL70399\r";
  EXPECT_EQ(parseOrDie(bytes).version(), "2.5.1");
}

TEST(MessageTest, NumbersMshFieldsLikeTheStandard) {
  const Message m = parseOrDie(kAdt);
  EXPECT_EQ(m.get("MSH-1"), "|");
  EXPECT_EQ(m.get("MSH-2"), "^~\\&");
  EXPECT_EQ(m.get("MSH-3"), "SENDAPP");
  EXPECT_EQ(m.get("MSH-9"), "ADT^A01^ADT_A01");
  EXPECT_EQ(m.get("MSH-9.2"), "A01");
  EXPECT_EQ(m.get("MSH-10"), "CTRL123");
  EXPECT_EQ(m.raw("MSH-1"), "|");
}

TEST(MessageTest, ExposesSegments) {
  const Message m = parseOrDie(kAdt);
  EXPECT_EQ(m.segmentName(0), "MSH");
  EXPECT_EQ(m.segmentName(2), "PID");
  EXPECT_EQ(m.rawSegment(1), "EVN|A01|20240101120000");
  EXPECT_EQ(m.segmentName(99), "");
  EXPECT_EQ(m.rawSegment(99), "");
  EXPECT_EQ(m.countSegments("PID"), 1u);
  EXPECT_EQ(m.countSegments("OBX"), 0u);
  EXPECT_EQ(m.countSegments("PI"), 0u);
}

TEST(MessageTest, ReadsNonDefaultDelimiters) {
  const std::string bytes =
      "MSH^~|\\&^SENDING^200M^RECEIVING^200^20120918173931-0500^^ADT~A24^2003582144^T^2.4\r"
      "PID^1^^11111~~~FOO&&0363~NI|22222~~~BAR^^SMITH~JOHN\r";
  const Message m = parseOrDie(bytes);
  EXPECT_EQ(m.delimiters().field, '^');
  EXPECT_EQ(m.delimiters().component, '~');
  EXPECT_EQ(m.delimiters().repetition, '|');
  EXPECT_EQ(m.delimiters().escape, '\\');
  EXPECT_EQ(m.delimiters().subcomponent, '&');
  EXPECT_EQ(m.messageTypeField(), "ADT~A24");
  EXPECT_EQ(m.messageType(), "ADT^A24");
  EXPECT_EQ(m.get("PID-3.1"), "11111");
  EXPECT_EQ(m.get("PID-3.4.1"), "FOO");
  EXPECT_EQ(m.get("PID-3.4.3"), "0363");
  EXPECT_EQ(m.get("PID-3(2).4"), "BAR");
  EXPECT_EQ(m.get("PID-5.2"), "JOHN");
  EXPECT_EQ(m.count("PID-3"), 2u);
}

TEST(MessageTest, ReadsUnusualDelimiterCharacters) {
  const std::string bytes =
      "MSH!@#$%!A!B!C!D!20240101!!ORU@R01!X1!P!2.5\rOBX!1!ST!C@D!!v1#v2$E$x%y$F$\r";
  const Message m = parseOrDie(bytes);
  EXPECT_EQ(m.messageType(), "ORU^R01");
  EXPECT_EQ(m.get("OBX-3.2"), "D");
  EXPECT_EQ(m.get("OBX-5(2)"), "v2$x%y!");  // $E$ is the escape character, $F$ the separator
  EXPECT_EQ(m.get("OBX-5(2).1.2"), "y!");
  EXPECT_EQ(m.count("OBX-5"), 2u);
}

TEST(MessageTest, ParsesMessageWithoutEncodingCharacters) {
  // "MSH|" followed directly by the field separator: no component separator at all.
  const std::string bytes =
      "MSH||SENDER|FAC|RECV|FAC|20230101||ORM^O01^ORM_O01|111111|D|2.5.1\r"
      "PID|1||123^^^MRN||DOE^JOHN\\F\\X\r";
  const Message m = parseOrDie(bytes);
  EXPECT_EQ(m.delimiters().component, '\0');
  EXPECT_EQ(m.delimiters().repetition, '\0');
  EXPECT_EQ(m.delimiters().escape, '\0');
  EXPECT_EQ(m.delimiters().subcomponent, '\0');
  EXPECT_EQ(m.get("MSH-2"), "");
  EXPECT_EQ(m.get("MSH-3"), "SENDER");
  EXPECT_EQ(m.controlId(), "111111");
  // Without a component separator the whole field is component 1.
  EXPECT_EQ(m.messageType(), "ORM^O01^ORM_O01");
  EXPECT_EQ(m.get("PID-5"), "DOE^JOHN\\F\\X");  // no escape character: nothing to decode
  EXPECT_EQ(m.get("PID-5.1"), "DOE^JOHN\\F\\X");
  EXPECT_EQ(m.get("PID-5.2"), "");
  EXPECT_EQ(m.count("PID-3"), 1u);
}

TEST(MessageTest, ParsesMessageWithOnlyComponentSeparator) {
  const std::string bytes = "MSH|^|A|B|C|D|20240101||ADT^A04|9|P|2.3\rPID|1||1~2^X\r";
  const Message m = parseOrDie(bytes);
  EXPECT_EQ(m.delimiters().component, '^');
  EXPECT_EQ(m.delimiters().repetition, '\0');
  EXPECT_EQ(m.messageType(), "ADT^A04");
  EXPECT_EQ(m.get("PID-3.1"), "1~2");
  EXPECT_EQ(m.count("PID-3"), 1u);
}

TEST(MessageTest, ParsesShortEncodingCharacters) {
  const std::string bytes = "MSH|^~|A|B|C|D|20240101||ADT^A04|9|P|2.3\rPID|1||1~2^X\\F\\\r";
  const Message m = parseOrDie(bytes);
  EXPECT_EQ(m.delimiters().escape, '\0');
  EXPECT_EQ(m.delimiters().subcomponent, '\0');
  EXPECT_EQ(m.get("PID-3(2).2"), "X\\F\\");
}

TEST(MessageTest, ReadsTruncationCharacter) {
  const std::string bytes =
      "MSH|^~\\&#|A|B|C|D|20240101||ORU^R01|9|P|2.7\rOBX|1|ST|||abc\\P\\def#\r";
  const Message m = parseOrDie(bytes);
  EXPECT_EQ(m.delimiters().truncation, '#');
  EXPECT_EQ(m.get("MSH-2"), "^~\\&#");
  EXPECT_EQ(m.get("MSH-3"), "A");
  EXPECT_EQ(m.get("OBX-5"), "abc#def#");
}

// Escape sequences (HL7 v2.5.1 ch. 2.7).

std::string obx5(const std::string& value, const std::string& msh18 = "") {
  const std::string bytes = "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|9|P|2.5.1||||||" + msh18 +
                            "\rOBX|1|FT|||" + value + "\r";
  const Message m = parseOrDie(bytes);
  return m.get("OBX-5");
}

TEST(MessageTest, DecodesFieldSeparatorEscape) {
  EXPECT_EQ(obx5("a\\F\\b"), "a|b");
}
TEST(MessageTest, DecodesComponentSeparatorEscape) {
  EXPECT_EQ(obx5("a\\S\\b"), "a^b");
}
TEST(MessageTest, DecodesSubcomponentSeparatorEscape) {
  EXPECT_EQ(obx5("a\\T\\b"), "a&b");
}
TEST(MessageTest, DecodesRepetitionSeparatorEscape) {
  EXPECT_EQ(obx5("a\\R\\b"), "a~b");
}
TEST(MessageTest, DecodesEscapeCharacterEscape) {
  EXPECT_EQ(obx5("C:\\E\\dir"), "C:\\dir");
}
TEST(MessageTest, DecodesHexEscape) {
  EXPECT_EQ(obx5("\\X414243\\-\\X0d0A\\"), "ABC-\r\n");
}
TEST(MessageTest, DecodesLineBreakEscape) {
  EXPECT_EQ(obx5("line1\\.br\\line2"), "line1\nline2");
}
TEST(MessageTest, DecodesSkipLineEscapeAsNewline) {
  EXPECT_EQ(obx5("a\\.sp\\b"), "a\nb");
}
TEST(MessageTest, DropsHighlightEscapes) {
  EXPECT_EQ(obx5("\\H\\bold\\N\\ text"), "bold text");
}
TEST(MessageTest, DropsFormattingEscapes) {
  EXPECT_EQ(obx5("\\.in+4\\a\\.ce\\b\\.fi\\"), "ab");
}
TEST(MessageTest, DropsUnknownEscapes) {
  EXPECT_EQ(obx5("a\\Zlocal\\b\\C2842\\c\\M2442\\d\\Q\\e"), "abcde");
}
TEST(MessageTest, DropsMalformedHexEscape) {
  EXPECT_EQ(obx5("a\\X4\\b\\XZZ\\c\\X\\d"), "abcd");
}
TEST(MessageTest, KeepsUnterminatedEscape) {
  EXPECT_EQ(obx5("50\\F\\60 \\X41"), "50|60 \\X41");
}
TEST(MessageTest, KeepsEscapeCharactersAroundADelimiter) {
  // The two '\' cannot form a sequence because one would span a component separator.
  const std::string bytes = "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|9|P|2.5.1\rOBX|1|ST|||a\\b^c\\d\r";
  const Message m = parseOrDie(bytes);
  EXPECT_EQ(m.get("OBX-5"), "a\\b^c\\d");
  EXPECT_EQ(m.get("OBX-5.1"), "a\\b");
  EXPECT_EQ(m.get("OBX-5.2"), "c\\d");
}
TEST(MessageTest, DecodesEscapesWithNonDefaultEscapeCharacter) {
  const std::string bytes =
      "MSH|^~$&|A|B|C|D|20240101||ORU^R01|9|P|2.5.1\rOBX|1|ST|||x$F$y$E$z\\\r";
  EXPECT_EQ(parseOrDie(bytes).get("OBX-5"), "x|y$z\\");
}
TEST(MessageTest, DecodesEscapesInsideComponents) {
  const std::string bytes =
      "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|9|P|2.5.1\rPID|1||||O\\T\\BRIEN^ANN\\S\\MARIE\r";
  const Message m = parseOrDie(bytes);
  EXPECT_EQ(m.get("PID-5.1"), "O&BRIEN");
  EXPECT_EQ(m.get("PID-5.2"), "ANN^MARIE");
  EXPECT_EQ(m.raw("PID-5.2"), "ANN\\S\\MARIE");
}

// Character sets (MSH-18).

TEST(MessageTest, DecodesLatin1ToUtf8) {
  EXPECT_EQ(obx5("Caf\xE9 M\xFCller", "8859/1"), "Caf\xC3\xA9 M\xC3\xBCller");
}
TEST(MessageTest, DecodesLatin1HexEscapeToUtf8) {
  EXPECT_EQ(obx5("Caf\\XE9\\", "8859/1"), "Caf\xC3\xA9");
}
TEST(MessageTest, PassesUtf8Through) {
  EXPECT_EQ(obx5("Caf\xC3\xA9", "UNICODE UTF-8"), "Caf\xC3\xA9");
  EXPECT_EQ(obx5("Caf\\XC3A9\\", "UNICODE UTF-8"), "Caf\xC3\xA9");
}
TEST(MessageTest, RecognisesCharsets) {
  const auto charsetOf = [](const std::string& msh18) {
    const std::string bytes = "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|9|P|2.5.1||||||" + msh18 + "\r";
    return parseOrDie(bytes).charset();
  };
  EXPECT_EQ(charsetOf(""), Charset::Ascii);
  EXPECT_EQ(charsetOf("ASCII"), Charset::Ascii);
  EXPECT_EQ(charsetOf("8859/1"), Charset::Latin1);
  EXPECT_EQ(charsetOf("8859/1~UNICODE UTF-8"), Charset::Latin1);
  EXPECT_EQ(charsetOf("UNICODE UTF-8"), Charset::Utf8);
  EXPECT_EQ(charsetOf("UTF-8"), Charset::Utf8);
  EXPECT_EQ(charsetOf("ISO IR87"), Charset::Utf8);  // unknown: passed through as UTF-8
}
TEST(MessageTest, PassesUnknownCharsetBytesThrough) {
  EXPECT_EQ(obx5("\xE9\xFF", "SOMETHING"), "\xE9\xFF");
}

// Segment terminators, blank lines, BOM.

const std::string kTemplate =
    "MSH|^~\\&|A|B|C|D|20240101||ORU^R01^ORU_R01|X9|P|2.5.1\n"
    "PID|1||42^^^H^MR\n"
    "OBX|1|ST|||first\n"
    "OBX|2|ST|||second\n";

void expectTemplateMessage(const std::string& bytes) {
  const Message m = parseOrDie(bytes);
  EXPECT_EQ(m.segmentCount(), 4u);
  EXPECT_EQ(m.controlId(), "X9");
  EXPECT_EQ(m.get("PID-3.1"), "42");
  EXPECT_EQ(m.get("OBX[2]-5"), "second");
  EXPECT_EQ(m.rawSegment(3), "OBX|2|ST|||second");
}

TEST(MessageTest, AcceptsCrTerminators) {
  expectTemplateMessage(withTerminator(kTemplate, "\r"));
}
TEST(MessageTest, AcceptsLfTerminators) {
  expectTemplateMessage(withTerminator(kTemplate, "\n"));
}
TEST(MessageTest, AcceptsCrlfTerminators) {
  expectTemplateMessage(withTerminator(kTemplate, "\r\n"));
}
TEST(MessageTest, AcceptsMixedTerminators) {
  expectTemplateMessage(
      "MSH|^~\\&|A|B|C|D|20240101||ORU^R01^ORU_R01|X9|P|2.5.1\r\n"
      "PID|1||42^^^H^MR\r"
      "OBX|1|ST|||first\n"
      "OBX|2|ST|||second");
}
TEST(MessageTest, AcceptsMissingFinalTerminator) {
  std::string bytes = withTerminator(kTemplate, "\r");
  bytes.pop_back();
  expectTemplateMessage(bytes);
}
TEST(MessageTest, SkipsBlankLines) {
  expectTemplateMessage(
      "\r\n\n"
      "MSH|^~\\&|A|B|C|D|20240101||ORU^R01^ORU_R01|X9|P|2.5.1\r\r"
      "PID|1||42^^^H^MR\n\n  \t \n"
      "OBX|1|ST|||first\r\n\r\n"
      "OBX|2|ST|||second\n");
}
TEST(MessageTest, IgnoresTrailingWhitespaceLines) {
  expectTemplateMessage(withTerminator(kTemplate, "\r\n") + "   \r\n\t\r\n\r\n");
}
TEST(MessageTest, IgnoresLeadingBom) {
  expectTemplateMessage("\xEF\xBB\xBF" + withTerminator(kTemplate, "\r"));
}
TEST(MessageTest, KeepsTrailingSpacesInsideASegment) {
  const std::string bytes = withTerminator(kTemplate, "\n") + "NTE|1||note  \n";
  EXPECT_EQ(parseOrDie(bytes).get("NTE-3"), "note  ");
}

// MSH problems are ParseErrors that name the field.

TEST(MessageTest, RejectsEmptyMessage) {
  EXPECT_EQ(parseError(""), "message is empty");
  EXPECT_EQ(parseError("\r\n \r\n\t"), "message is empty");
  EXPECT_EQ(parseError("\xEF\xBB\xBF"), "message is empty");
}
TEST(MessageTest, RejectsMessageNotStartingWithMsh) {
  EXPECT_EQ(parseError("PID|1||12345\rPV1|1|I\r"), "message does not start with an MSH segment");
  EXPECT_EQ(parseError("junk\rMSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\r"),
            "message does not start with an MSH segment");
  EXPECT_EQ(parseError("FHS|^~\\&\rMSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\r"),
            "message does not start with an MSH segment");
  EXPECT_EQ(parseError("MS"), "message does not start with an MSH segment");
}
TEST(MessageTest, RejectsMissingFieldSeparator) {
  EXPECT_EQ(parseError("MSH\rPID|1\r"), "MSH-1 (field separator) is missing");
}
TEST(MessageTest, RejectsInvalidFieldSeparator) {
  EXPECT_EQ(parseError("MSHX^~\\&X\r"), "MSH-1 (field separator) is invalid");
  EXPECT_EQ(parseError("MSH ^~\\& \r"), "MSH-1 (field separator) is invalid");
}
TEST(MessageTest, RejectsRepeatedEncodingCharacters) {
  EXPECT_EQ(parseError("MSH|&&&&|A|B|C|D|1||ORU^R01|1|P|2.5\r"),
            "MSH-2 (encoding characters) is invalid: a character is repeated");
}
TEST(MessageTest, RejectsAlphanumericEncodingCharacters) {
  EXPECT_EQ(parseError("MSH|^~\\A|A|B|C|D|1||ORU^R01|1|P|2.5\r"),
            "MSH-2 (encoding characters) is invalid: letter, digit, space or control character");
  EXPECT_EQ(parseError("MSH|^ |A|B|C|D|1||ORU^R01|1|P|2.5\r"),
            "MSH-2 (encoding characters) is invalid: letter, digit, space or control character");
}
TEST(MessageTest, RejectsTooLongEncodingCharacters) {
  EXPECT_EQ(parseError("MSH|^~\\&#!|A|B|C|D|1||ORU^R01|1|P|2.5\r"),
            "MSH-2 (encoding characters) is invalid: more than 5 characters");
}
TEST(MessageTest, RejectsMissingMessageType) {
  EXPECT_EQ(parseError("MSH|^~\\&|A|B|C|D|1|||1|P|2.5\r"), "MSH-9 (message type) is missing");
  EXPECT_EQ(parseError("MSH|^~\\&|A|B|C|D|1||  |1|P|2.5\r"), "MSH-9 (message type) is missing");
  EXPECT_EQ(parseError("MSH|^~\\&|A|B|C\r"), "MSH-9 (message type) is missing");
  EXPECT_EQ(parseError("MSH|\r"), "MSH-9 (message type) is missing");
}
TEST(MessageTest, RejectsEmptyMessageCode) {
  EXPECT_EQ(parseError("MSH|^~\\&|A|B|C|D|1||^A01|1|P|2.5\r"), "MSH-9.1 (message code) is missing");
}
TEST(MessageTest, RejectsMissingControlId) {
  EXPECT_EQ(parseError("MSH|^~\\&|A|B|C|D|1||ADT^A01||P|2.5\r"),
            "MSH-10 (message control id) is missing");
  EXPECT_EQ(parseError("MSH|^~\\&|A|B|C|D|1||ADT^A01| |P|2.5\r"),
            "MSH-10 (message control id) is missing");
  EXPECT_EQ(parseError("MSH|^~\\&|A|B|C|D|1||ADT^A01\r"), "MSH-10 (message control id) is missing");
}
TEST(MessageTest, AllowsEmptyVersion) {
  const Message m = parseOrDie("MSH|^~\\&|A|B|C|D|1||ADT^A01|77|P|\rPID|1\r");
  EXPECT_EQ(m.version(), "");
  EXPECT_EQ(m.controlId(), "77");
}
TEST(MessageTest, ErrorMessagesNeverContainFieldValues) {
  const std::vector<std::string> inputs = {
      "MSH|^~\\&|SECRETAPP|SECRETFAC|C|D|1|||SECRETID|P|2.5\rPID|1||SECRETMRN\r",
      "MSH|^~\\&|SECRETAPP|SECRETFAC|C|D|1||SECRETTYPE||P|2.5\r",
      "MSH|SECRET|SECRETAPP\r",
      "SECRET|x\r",
  };
  for (const std::string& input : inputs) {
    const std::string error = parseError(input);
    EXPECT_EQ(error.find("SECRET"), std::string::npos) << error;
  }
}
TEST(MessageTest, RejectsMessagesOf4GiBOrMore) {
  // Only the size is looked at before rejecting, so no byte of the oversized view is read.
  const std::string small = "MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\r";
  const std::string_view huge(small.data(), std::size_t{1} << 32);
  EXPECT_EQ(parseError(huge), "message is too large (4 GiB or more)");
}

// Copies, views and iteration.

TEST(MessageTest, CopiesReferToTheSameBytes) {
  const Message m = parseOrDie(kAdt);
  const Message copy = m;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(copy.rawSegment(2).data(), m.rawSegment(2).data());
  EXPECT_EQ(copy.controlId().data(), m.controlId().data());
  EXPECT_EQ(copy.get("PID-5.1"), "DOE");
}
TEST(MessageTest, GetViewPointsIntoTheMessageWhenNothingIsDecoded) {
  const Result<Message> parsed = Message::parse(kAdt);
  ASSERT_TRUE(parsed.ok());
  const Message& m = *parsed;
  std::string scratch;
  const std::string_view family = m.getView("PID-5.1", scratch);
  EXPECT_EQ(family, "DOE");
  EXPECT_GE(family.data(), kAdt.data());
  EXPECT_LT(family.data(), kAdt.data() + kAdt.size());
  EXPECT_TRUE(scratch.empty());
}
TEST(MessageTest, GetViewDecodesIntoScratch) {
  const std::string bytes = "MSH|^~\\&|A|B|C|D|1||ORU^R01|9|P|2.5.1\rOBX|1|FT|||a\\.br\\b\r";
  const Message m = parseOrDie(bytes);
  std::string scratch;
  const std::string_view value = m.getView("OBX-5", scratch);
  EXPECT_EQ(value, "a\nb");
  EXPECT_EQ(value.data(), scratch.data());
}
TEST(MessageTest, ForEachVisitsWhatGetAllReturns) {
  const std::string bytes =
      "MSH|^~\\&|A|B|C|D|1||ORU^R01|9|P|2.5.1\r"
      "OBX|1|ST|||one\rOBX|2|FT|||t\\E\\wo\rOBX|3|ST|||\rNTE|1\rOBX|4|ST|||four\r";
  const Message m = parseOrDie(bytes);
  std::vector<std::string> visited;
  const std::size_t n = m.forEach("OBX[*]-5", [&](std::string_view v) { visited.emplace_back(v); });
  EXPECT_EQ(n, 4u);
  EXPECT_EQ(visited, (std::vector<std::string>{"one", "t\\wo", "", "four"}));
  EXPECT_EQ(m.getAll("OBX[*]-5"), visited);
}
TEST(MessageTest, DecodesRawValues) {
  const Message m = parseOrDie("MSH|^~\\&|A|B|C|D|1||ORU^R01|9|P|2.5.1||||||8859/1\r");
  EXPECT_EQ(m.decode("a\\S\\b \xE9"), "a^b \xC3\xA9");
}
TEST(MessageTest, DefaultConstructedMessageIsEmpty) {
  const Message m;
  EXPECT_EQ(m.segmentCount(), 0u);
  EXPECT_EQ(m.get("PID-3"), "");
  EXPECT_EQ(m.controlId(), "");
  EXPECT_EQ(m.messageType(), "");
  EXPECT_EQ(m.count("MSH-1"), 0u);
}

// Batches and multi-message files.

TEST(MessageTest, SplitsBatchIntoMessages) {
  const std::string bytes =
      "FHS|^~\\&|APP\rBHS|^~\\&|APP\r"
      "MSH|^~\\&|A|B|C|D|1||ORU^R01|m1|P|2.5.1\rPID|1\rOBX|1\r"
      "MSH|^~\\&|A|B|C|D|1||ORU^R01|m2|P|2.5.1\rPID|2\r"
      "BTS|2\rFTS|1\r";
  const std::vector<std::string_view> messages = splitMessages(bytes);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0], "MSH|^~\\&|A|B|C|D|1||ORU^R01|m1|P|2.5.1\rPID|1\rOBX|1\r");
  EXPECT_EQ(messages[1], "MSH|^~\\&|A|B|C|D|1||ORU^R01|m2|P|2.5.1\rPID|2\r");
  const Result<Message> second = Message::parse(messages[1]);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->controlId(), "m2");
  EXPECT_EQ(second->segmentCount(), 2u);
}
TEST(MessageTest, SplitsFileWithSeveralMessages) {
  const std::string bytes =
      "\xEF\xBB\xBFMSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\nPID|1\n\n"
      "MSH|^~\\&|A|B|C|D|1||ADT^A02|2|P|2.5\r\nPID|2\r\n"
      "MSH|^~\\&|A|B|C|D|1||ADT^A03|3|P|2.5";
  const std::vector<std::string_view> messages = splitMessages(bytes);
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(parseOrDie(std::string(messages[0])).messageType(), "ADT^A01");
  EXPECT_EQ(parseOrDie(std::string(messages[1])).messageType(), "ADT^A02");
  EXPECT_EQ(parseOrDie(std::string(messages[2])).messageType(), "ADT^A03");
  EXPECT_EQ(messages[2], "MSH|^~\\&|A|B|C|D|1||ADT^A03|3|P|2.5");
}
TEST(MessageTest, SplitGivesNothingWithoutMsh) {
  EXPECT_TRUE(splitMessages("").empty());
  EXPECT_TRUE(splitMessages("FHS|^~\\&\rBHS|^~\\&\rBTS|0\rFTS|1\r").empty());
  EXPECT_TRUE(splitMessages("PID|1\rMSHX|1\r").empty());
}
TEST(MessageTest, SplitDropsTextBeforeTheFirstMsh) {
  const std::vector<std::string_view> messages =
      splitMessages("junk\r\nMSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\r");
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].substr(0, 3), "MSH");
}

// Robustness: nothing may crash or read out of bounds (ASan/UBSan run these in CI).

void exercise(const Message& m) {
  static const char* const kPaths[] = {
      "MSH-1",        "MSH-2",
      "MSH-2.2",      "MSH-9.2",
      "MSH-21",       "MSH-22",
      "MSH-40.3.2",   "MSH[2]-10",
      "PID-3",        "PID-3(2).1",
      "PID-3(*).4.1", "PID-13[.2=NET].4",
      "PID-5.1.1",    "OBX[*]-5",
      "OBX[3]-5(*)",  "OBX[*]-5[.1=]",
      "ZZZ-1",        "-1",
      "PID-",         "PID[",
      "PID-3(",       "PID-3[.2=",
      "PID-3[.=x]",   "PID-0",
      "PID-3.0",      "PID-99999999999",
      "P\xFFID-1",    "",
  };
  for (const char* path : kPaths) {
    (void)m.get(path);
    (void)m.getAll(path);
    (void)m.count(path);
    (void)m.raw(path);
  }
  for (std::size_t i = 0; i <= m.segmentCount(); ++i) {
    (void)m.segmentName(i);
    (void)m.rawSegment(i);
  }
  (void)m.messageType();
  (void)m.version();
  (void)m.countSegments("OBX");
}

TEST(MessageTest, NeverCrashesOnRandomBytes) {
  std::mt19937 rng(20240229);
  const std::string alphabet = "MSHPIDOBX|^~\\&#\r\n XF.br0123456789\xEF\xBB\xBF\xE9";
  for (int round = 0; round < 3000; ++round) {
    std::string bytes;
    if (round % 2 == 0) {
      bytes = "MSH";  // half the inputs get past the first check
    }
    const std::size_t length = rng() % 200;
    for (std::size_t i = 0; i < length; ++i) {
      bytes += round % 5 == 0 ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
    }
    const Result<Message> parsed = Message::parse(bytes);
    if (parsed.ok()) {
      exercise(*parsed);
    } else {
      EXPECT_EQ(parsed.status().code(), StatusCode::ParseError);
      EXPECT_FALSE(parsed.status().message().empty());
    }
    for (const std::string_view part : splitMessages(bytes)) {
      const Result<Message> piece = Message::parse(part);
      if (piece.ok()) {
        exercise(*piece);
      }
    }
  }
}

TEST(MessageTest, NeverCrashesOnTruncationsAndMutations) {
  const std::string full =
      "\xEF\xBB\xBFMSH|^~\\&#|A^B&C|D|E|F|20240101||ORU^R01^ORU_R01|ID1|P|2.5.1|||AL|NE||8859/1\r\n"
      "PID|1||1^^^H&1.2&ISO^MR~2^^^S^SS||D\\S\\OE^J\\XE9\\^\\H\\Q\\N\\|||||||||555^NET^X~666^PRN\r"
      "OBX|1|FT|||a\\.br\\b\\X4142\\c~d|\n"
      "OBX|2|ST|||\\E\\\\F\\\\\r\n\r\n";
  std::mt19937 rng(7);
  for (std::size_t cut = 0; cut <= full.size(); ++cut) {
    // Copy the prefix into its own buffer so ASan catches any read past its end.
    const std::string prefix = full.substr(0, cut);
    const Result<Message> parsed = Message::parse(prefix);
    if (parsed.ok()) {
      exercise(*parsed);
    }
    std::string mutated = full;
    mutated[rng() % mutated.size()] = static_cast<char>(rng() % 256);
    mutated[rng() % mutated.size()] = "|^~\\&\r\n"[rng() % 7];
    const Result<Message> parsed_mutation = Message::parse(mutated);
    if (parsed_mutation.ok()) {
      exercise(*parsed_mutation);
    }
  }
}

}  // namespace
}  // namespace gw::hl7
