// SPDX-License-Identifier: Apache-2.0
#include "gateway/audit/MerkleTree.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace gw {
namespace {

[[noreturn]] void hashFailed() {
  std::fputs("gateway: FATAL: SHA-256 failed inside the audit Merkle tree\n", stderr);
  std::abort();
}

struct MdFree {
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// Fetched once: an implicit fetch per EVP_Digest() call costs more than hashing 65 bytes.
const EVP_MD* sha256Md() {
  static const std::unique_ptr<EVP_MD, MdFree> md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  if (md == nullptr) {
    hashFailed();
  }
  return md.get();
}

// One reusable context per thread (an allocation per node would dominate appends).
EVP_MD_CTX* threadContext() {
  thread_local const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) {
    hashFailed();
  }
  return ctx.get();
}

MerkleHash hashParts(std::uint8_t prefix, std::string_view a, std::string_view b) {
  EVP_MD_CTX* ctx = threadContext();
  MerkleHash out{};
  unsigned int length = 0;
  if (EVP_DigestInit_ex2(ctx, sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, &prefix, 1) != 1 ||
      (!a.empty() && EVP_DigestUpdate(ctx, a.data(), a.size()) != 1) ||
      (!b.empty() && EVP_DigestUpdate(ctx, b.data(), b.size()) != 1) ||
      EVP_DigestFinal_ex(ctx, out.data(), &length) != 1 || length != out.size()) {
    hashFailed();
  }
  return out;
}

std::string_view view(const MerkleHash& h) {
  return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}

// The largest power of two strictly below n (n >= 2): RFC 6962's split point k.
std::uint64_t splitPoint(std::uint64_t n) {
  std::uint64_t k = 1;
  while (k < n - k) {  // k * 2 < n without overflow
    k <<= 1;
  }
  return k;
}

void appendInclusionPath(std::uint64_t m, std::uint64_t begin, std::uint64_t end,
                         std::vector<merkle::LeafRange>& out) {
  const std::uint64_t n = end - begin;
  if (n <= 1) {
    return;
  }
  const std::uint64_t k = splitPoint(n);
  if (m < k) {
    appendInclusionPath(m, begin, begin + k, out);
    out.push_back({begin + k, end});
  } else {
    appendInclusionPath(m - k, begin + k, end, out);
    out.push_back({begin, begin + k});
  }
}

// SUBPROOF(m, D[begin:end], b) of RFC 6962 section 2.1.2.
void appendSubproof(std::uint64_t m, std::uint64_t begin, std::uint64_t end, bool whole_known,
                    std::vector<merkle::LeafRange>& out) {
  const std::uint64_t n = end - begin;
  if (m == n) {
    if (!whole_known) {
      out.push_back({begin, end});
    }
    return;
  }
  const std::uint64_t k = splitPoint(n);
  if (m <= k) {
    appendSubproof(m, begin, begin + k, whole_known, out);
    out.push_back({begin + k, end});
  } else {
    appendSubproof(m - k, begin + k, end, false, out);
    out.push_back({begin, begin + k});
  }
}

}  // namespace

namespace merkle {

MerkleHash hashLeaf(std::string_view data) {
  return hashParts(0x00, data, {});
}

MerkleHash hashChildren(const MerkleHash& left, const MerkleHash& right) {
  return hashParts(0x01, view(left), view(right));
}

MerkleHash emptyRoot() {
  EVP_MD_CTX* ctx = threadContext();
  MerkleHash out{};
  unsigned int length = 0;
  if (EVP_DigestInit_ex2(ctx, sha256Md(), nullptr) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), &length) != 1 || length != out.size()) {
    hashFailed();
  }
  return out;
}

std::string toHex(const MerkleHash& hash) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * hash.size(), '\0');
  for (std::size_t i = 0; i < hash.size(); ++i) {
    out[2 * i] = kHex[hash[i] >> 4];
    out[2 * i + 1] = kHex[hash[i] & 0xF];
  }
  return out;
}

std::optional<MerkleHash> fromHex(std::string_view hex) {
  const auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  MerkleHash out{};
  if (hex.size() != 2 * out.size()) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = value(hex[2 * i]);
    const int lo = value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

std::vector<LeafRange> inclusionPath(std::uint64_t index, std::uint64_t size) {
  std::vector<LeafRange> out;
  if (index < size) {
    appendInclusionPath(index, 0, size, out);
  }
  return out;
}

std::vector<LeafRange> consistencyPath(std::uint64_t old_size, std::uint64_t new_size) {
  std::vector<LeafRange> out;
  if (old_size > 0 && old_size < new_size) {
    appendSubproof(old_size, 0, new_size, true, out);
  }
  return out;
}

bool verifyInclusion(std::uint64_t index, std::uint64_t size, const MerkleHash& leaf_hash,
                     const std::vector<MerkleHash>& proof, const MerkleHash& root) {
  if (index >= size) {
    return false;
  }
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  MerkleHash r = leaf_hash;
  for (const MerkleHash& p : proof) {
    if (sn == 0) {
      return false;  // proof longer than the path
    }
    if ((fn & 1) != 0 || fn == sn) {
      r = hashChildren(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool verifyConsistency(std::uint64_t old_size, std::uint64_t new_size, const MerkleHash& old_root,
                       const MerkleHash& new_root, const std::vector<MerkleHash>& proof) {
  if (old_size > new_size) {
    return false;
  }
  if (old_size == new_size) {
    return proof.empty() && old_root == new_root;
  }
  if (old_size == 0) {
    return proof.empty() && old_root == emptyRoot();
  }
  if (proof.empty()) {
    return false;
  }
  // When old_size is a power of two, the old root itself is the first node (RFC 9162 2.1.4.2).
  std::vector<MerkleHash> path;
  path.reserve(proof.size() + 1);
  if ((old_size & (old_size - 1)) == 0) {
    path.push_back(old_root);
  }
  path.insert(path.end(), proof.begin(), proof.end());
  std::uint64_t fn = old_size - 1;
  std::uint64_t sn = new_size - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  MerkleHash fr = path[0];
  MerkleHash sr = path[0];
  for (std::size_t i = 1; i < path.size(); ++i) {
    const MerkleHash& c = path[i];
    if (sn == 0) {
      return false;
    }
    if ((fn & 1) != 0 || fn == sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

}  // namespace merkle

void MerkleFrontier::append(const MerkleHash& leaf_hash) {
  nodes_.push_back(leaf_hash);
  // Each trailing 1 bit of the old size is a perfect subtree the new leaf completes.
  for (std::uint64_t s = size_; (s & 1) != 0; s >>= 1) {
    MerkleHash right = nodes_.back();
    nodes_.pop_back();
    nodes_.back() = merkle::hashChildren(nodes_.back(), right);
  }
  ++size_;
}

MerkleHash MerkleFrontier::root() const {
  if (nodes_.empty()) {
    return merkle::emptyRoot();
  }
  MerkleHash r = nodes_.back();
  for (std::size_t i = nodes_.size() - 1; i-- > 0;) {
    r = merkle::hashChildren(nodes_[i], r);
  }
  return r;
}

void MerkleTree::append(const MerkleHash& leaf_hash) {
  if (levels_.empty()) {
    levels_.emplace_back();
  }
  levels_[0].push_back(leaf_hash);
  for (std::size_t level = 0; levels_[level].size() % 2 == 0; ++level) {
    if (level + 1 == levels_.size()) {
      levels_.emplace_back();
    }
    const std::vector<MerkleHash>& nodes = levels_[level];
    levels_[level + 1].push_back(
        merkle::hashChildren(nodes[nodes.size() - 2], nodes[nodes.size() - 1]));
  }
  frontier_.append(leaf_hash);
}

MerkleHash MerkleTree::rangeHash(std::uint64_t begin, std::uint64_t end) const {
  const std::uint64_t n = end - begin;
  if (n == 0) {
    return merkle::emptyRoot();
  }
  // A perfect, aligned subtree is stored.
  if ((n & (n - 1)) == 0 && begin % n == 0) {
    std::size_t level = 0;
    while ((std::uint64_t{1} << level) < n) {
      ++level;
    }
    return levels_[level][begin >> level];
  }
  const std::uint64_t k = splitPoint(n);
  return merkle::hashChildren(rangeHash(begin, begin + k), rangeHash(begin + k, end));
}

Result<MerkleHash> MerkleTree::rootAt(std::uint64_t size) const {
  if (size > this->size()) {
    return Status::invalidArgument("tree size " + std::to_string(size) + " is beyond the " +
                                   std::to_string(this->size()) + " leaves");
  }
  return rangeHash(0, size);
}

Result<std::vector<MerkleHash>> MerkleTree::inclusionProof(std::uint64_t index,
                                                           std::uint64_t size) const {
  if (index >= size || size > this->size()) {
    return Status::invalidArgument("no inclusion proof for leaf " + std::to_string(index) +
                                   " in a tree of " + std::to_string(size) + " (have " +
                                   std::to_string(this->size()) + " leaves)");
  }
  std::vector<MerkleHash> out;
  for (const merkle::LeafRange& r : merkle::inclusionPath(index, size)) {
    out.push_back(rangeHash(r.begin, r.end));
  }
  return out;
}

Result<std::vector<MerkleHash>> MerkleTree::consistencyProof(std::uint64_t old_size,
                                                             std::uint64_t new_size) const {
  if (old_size > new_size || new_size > size()) {
    return Status::invalidArgument("no consistency proof from size " + std::to_string(old_size) +
                                   " to " + std::to_string(new_size) + " (have " +
                                   std::to_string(size()) + " leaves)");
  }
  std::vector<MerkleHash> out;
  for (const merkle::LeafRange& r : merkle::consistencyPath(old_size, new_size)) {
    out.push_back(rangeHash(r.begin, r.end));
  }
  return out;
}

MerkleRangeHasher::MerkleRangeHasher(std::vector<merkle::LeafRange> ranges)
    : ranges_(std::move(ranges)), frontiers_(ranges_.size()) {}

void MerkleRangeHasher::add(std::uint64_t index, const MerkleHash& leaf_hash) {
  // Proof ranges are disjoint and few (at most ~64), so a scan is cheaper than an index.
  for (std::size_t i = 0; i < ranges_.size(); ++i) {
    if (index >= ranges_[i].begin && index < ranges_[i].end) {
      frontiers_[i].append(leaf_hash);
    }
  }
}

Result<std::vector<MerkleHash>> MerkleRangeHasher::hashes() const {
  std::vector<MerkleHash> out;
  out.reserve(ranges_.size());
  for (std::size_t i = 0; i < ranges_.size(); ++i) {
    if (frontiers_[i].size() != ranges_[i].end - ranges_[i].begin) {
      return Status::invalidArgument("leaves " + std::to_string(ranges_[i].begin) + ".." +
                                     std::to_string(ranges_[i].end) + " were not all added");
    }
    out.push_back(frontiers_[i].root());
  }
  return out;
}

}  // namespace gw
