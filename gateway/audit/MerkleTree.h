// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/Result.h"

namespace gw {

// One SHA-256 node of an RFC 6962 Merkle tree (32 raw bytes).
using MerkleHash = std::array<std::uint8_t, 32>;

namespace merkle {

// RFC 6962 section 2.1: leaf hash SHA-256(0x00 || data), interior node SHA-256(0x01 || l || r),
// the empty tree's hash SHA-256(""). These abort the process if OpenSSL cannot hash at all (no
// SHA-256 provider or out of memory): a tree with a wrong node must never be signed.
MerkleHash hashLeaf(std::string_view data);
MerkleHash hashChildren(const MerkleHash& left, const MerkleHash& right);
MerkleHash emptyRoot();

// Lower-case hex, and back (nullopt unless exactly 64 hex digits).
std::string toHex(const MerkleHash& hash);
std::optional<MerkleHash> fromHex(std::string_view hex);

// Leaf indexes [begin, end) whose Merkle tree hash MTH(D[begin:end]) is one proof node.
struct LeafRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  bool operator==(const LeafRange& other) const {
    return begin == other.begin && end == other.end;
  }
};

// The nodes of the audit path PATH(index, D[size]) (RFC 6962 section 2.1.1), in proof order
// (from the leaf up). Empty unless index < size.
std::vector<LeafRange> inclusionPath(std::uint64_t index, std::uint64_t size);
// The nodes of the consistency proof PROOF(old_size, D[new_size]) (RFC 6962 section 2.1.2), in
// proof order. Empty unless 0 < old_size < new_size.
std::vector<LeafRange> consistencyPath(std::uint64_t old_size, std::uint64_t new_size);

// RFC 9162 section 2.1.3.2: true when `proof` shows that `leaf_hash` is leaf `index` of the tree
// of `size` leaves whose hash is `root`.
bool verifyInclusion(std::uint64_t index, std::uint64_t size, const MerkleHash& leaf_hash,
                     const std::vector<MerkleHash>& proof, const MerkleHash& root);
// RFC 9162 section 2.1.4.2: true when `proof` shows that the tree of `old_size` leaves with hash
// `old_root` is a prefix of the tree of `new_size` leaves with hash `new_root`. Equal sizes need
// equal roots and an empty proof; old_size 0 needs the empty tree's root and an empty proof.
bool verifyConsistency(std::uint64_t old_size, std::uint64_t new_size, const MerkleHash& old_root,
                       const MerkleHash& new_root, const std::vector<MerkleHash>& proof);

}  // namespace merkle

// The right edge of a Merkle tree (a "compact range" from leaf 0): one subtree root per set bit
// of the size, so appends and the current root need O(log n) memory and time, whatever the
// size. Use it to follow a growing log; use MerkleTree or MerkleRangeHasher for proofs.
// Not thread-safe (one owner).
class MerkleFrontier {
 public:
  // Appends one leaf hash (already SHA-256(0x00 || data)).
  void append(const MerkleHash& leaf_hash);
  std::uint64_t size() const { return size_; }
  // MTH of all leaves appended so far; the empty tree's hash when none.
  MerkleHash root() const;

 private:
  std::vector<MerkleHash> nodes_;  // perfect subtree roots, largest (leftmost) first
  std::uint64_t size_ = 0;
};

// A whole Merkle tree in memory: every leaf hash and every perfect subtree above them (about 64
// bytes per leaf), so roots of earlier sizes and proofs cost O(log^2 n) hashes. Appends cost
// O(1) amortised. For tests, benchmarks and small logs; AuditLog streams large logs through
// MerkleFrontier and MerkleRangeHasher instead. Not thread-safe (one owner).
class MerkleTree {
 public:
  void append(const MerkleHash& leaf_hash);
  std::uint64_t size() const { return frontier_.size(); }
  // The current root (from the frontier, O(log n)).
  MerkleHash root() const { return frontier_.root(); }

  // MTH of the first `size` leaves. InvalidArgument when size > size().
  Result<MerkleHash> rootAt(std::uint64_t size) const;
  // PATH(index, D[size]). InvalidArgument unless index < size <= size().
  Result<std::vector<MerkleHash>> inclusionProof(std::uint64_t index, std::uint64_t size) const;
  // PROOF(old_size, D[new_size]). InvalidArgument unless old_size <= new_size <= size(); empty
  // for old_size 0 or old_size == new_size.
  Result<std::vector<MerkleHash>> consistencyProof(std::uint64_t old_size,
                                                   std::uint64_t new_size) const;

 private:
  MerkleHash rangeHash(std::uint64_t begin, std::uint64_t end) const;

  // levels_[k][i] is the root of the perfect subtree over leaves [i * 2^k, (i + 1) * 2^k).
  std::vector<std::vector<MerkleHash>> levels_;
  MerkleFrontier frontier_;
};

// Computes MTH(D[begin:end]) for several ranges in one pass over the leaves in order, with
// O(log n) memory per range: how AuditLog builds a proof over a log too large to hold.
// Feed every leaf from index 0 (add() ignores leaves outside all ranges); then hashes() returns
// one hash per range, in the order given. Not thread-safe.
class MerkleRangeHasher {
 public:
  explicit MerkleRangeHasher(std::vector<merkle::LeafRange> ranges);
  // `index` must be the previous index plus one (starting at 0).
  void add(std::uint64_t index, const MerkleHash& leaf_hash);
  // InvalidArgument when some range has not received all its leaves.
  Result<std::vector<MerkleHash>> hashes() const;

 private:
  std::vector<merkle::LeafRange> ranges_;
  std::vector<MerkleFrontier> frontiers_;
};

}  // namespace gw
