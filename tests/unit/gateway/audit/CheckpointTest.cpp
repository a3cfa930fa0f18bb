// SPDX-License-Identifier: Apache-2.0
#include "gateway/audit/Checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/audit/AuditSigner.h"

namespace gw {
namespace {

using ::testing::HasSubstr;

TEST(CheckpointTest, FormatsTheC2spCheckpointBody) {
  Checkpoint c;
  c.origin = "gateway.example.invalid/audit";
  c.tree_size = 8;
  c.root = *merkle::fromHex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  EXPECT_EQ(formatCheckpoint(c).value(),
            "gateway.example.invalid/audit\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n");
}

TEST(CheckpointTest, ParsesWhatItFormatsAndIgnoresExtensionLines) {
  Checkpoint c;
  c.origin = "example.com/log";
  c.tree_size = 20852163;
  c.root = merkle::hashLeaf("x");
  const std::string text = formatCheckpoint(c).value();
  Result<Checkpoint> parsed = parseCheckpoint(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().toString();
  EXPECT_EQ(parsed->origin, c.origin);
  EXPECT_EQ(parsed->tree_size, c.tree_size);
  EXPECT_EQ(parsed->root, c.root);
  EXPECT_TRUE(parseCheckpoint(text + "extension line\n").ok());
}

TEST(CheckpointTest, RejectsMalformedCheckpoints) {
  const std::string root = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=";
  for (const std::string& bad : {
           std::string("origin\n8\n" + root),        // no final newline
           std::string("origin\n8\n"),               // no root
           std::string("\n8\n" + root + "\n"),       // empty origin
           std::string("origin\n08\n" + root + "\n"),  // leading zero
           std::string("origin\n-1\n" + root + "\n"),
           std::string("origin\n99999999999999999999\n" + root + "\n"),  // > 2^64
           std::string("origin\n8\nAAAA\n"),          // 3 bytes
           std::string("origin\n8\n" + root.substr(1) + "\n"),
       }) {
    EXPECT_EQ(parseCheckpoint(bad).status().code(), StatusCode::ParseError) << bad;
  }
  Checkpoint c;
  c.origin = "bad\norigin";
  EXPECT_EQ(formatCheckpoint(c).status().code(), StatusCode::InvalidArgument);
}

TEST(CheckpointTest, Base64RoundTripsAndRejectsMalformed) {
  for (const std::string& s : {std::string(), std::string("f"), std::string("fo"),
                               std::string("foo"), std::string("foob"), std::string("\0\xff", 2)}) {
    EXPECT_EQ(base64Decode(base64Encode(s)).value(), s);
  }
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(base64Decode("Zm9").ok());
  EXPECT_FALSE(base64Decode("Zm=v").ok());
  EXPECT_FALSE(base64Decode("Z===").ok());
  EXPECT_FALSE(base64Decode("Zm9v\n").ok());
}

// The example of the signed-note reference implementation (golang.org/x/mod/sumdb/note):
// verifier key "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k".
constexpr char kReferenceNote[] =
    "This is an example message.\n"
    "\n"
    "\xE2\x80\x94 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

std::string referencePublicKey() {
  const std::string typed = base64Decode("AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k").value();
  EXPECT_EQ(typed.size(), 33u);
  EXPECT_EQ(typed[0], '\x01');  // Ed25519
  return typed.substr(1);
}

TEST(CheckpointTest, ParsesTheReferenceSignedNote) {
  Result<SignedNote> note = parseSignedNote(kReferenceNote);
  ASSERT_TRUE(note.ok()) << note.status().toString();
  EXPECT_EQ(note->text, "This is an example message.\n");
  ASSERT_EQ(note->signatures.size(), 1u);
  EXPECT_EQ(note->signatures[0].key_name, "example.com/foo");
  EXPECT_EQ(note->signatures[0].key_hash, 0x530d903au);
  EXPECT_EQ(note->signatures[0].signature.size(), 64u);
  EXPECT_EQ(formatSignedNote(*note), kReferenceNote);
}

TEST(CheckpointTest, VerifiesTheReferenceSignedNoteAndRejectsAlteredOnes) {
  const std::string public_key = referencePublicKey();
  Result<std::string> text = openSignedNote(kReferenceNote, "example.com/foo", public_key);
  ASSERT_TRUE(text.ok()) << text.status().toString();
  EXPECT_EQ(*text, "This is an example message.\n");

  std::string altered = kReferenceNote;
  altered[0] = 't';
  EXPECT_EQ(openSignedNote(altered, "example.com/foo", public_key).status().code(),
            StatusCode::DataLoss);
  Result<std::string> other_name = openSignedNote(kReferenceNote, "example.com/bar", public_key);
  EXPECT_EQ(other_name.status().code(), StatusCode::DataLoss);
  EXPECT_THAT(other_name.status().message(), HasSubstr("no signature"));
}

TEST(CheckpointTest, RejectsMalformedNotes) {
  for (const std::string& bad : {
           std::string("text\n"),                                        // no signatures
           std::string("text\n\n"),                                      // empty signature block
           std::string("text\n\n-- example.com/foo AAAAAAA=\n"),         // not an em dash
           std::string("text\n\n\xE2\x80\x94 example.com/foo\n"),        // no signature
           std::string("text\n\n\xE2\x80\x94 example.com/foo AAAA\n"),   // shorter than a key hash
           std::string("text\n\n\xE2\x80\x94 a+b AAAAAAA=\n"),           // '+' in the name
           std::string("text\n\n\xE2\x80\x94 example.com/foo AAAAAAA="),  // no final newline
       }) {
    EXPECT_EQ(parseSignedNote(bad).status().code(), StatusCode::ParseError) << bad;
  }
}

}  // namespace
}  // namespace gw
