// SPDX-License-Identifier: Apache-2.0
#include "gateway/audit/MerkleTree.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gw {
namespace {

// The RFC 6962 reference inputs and expected values of the Certificate Transparency
// implementations (transparency-dev/merkle testonly/constants.go and reference_test.go),
// cross-checked with an independent Python implementation of RFC 6962 section 2.1.
const std::vector<std::string> kLeafInputs = {
    "",
    std::string("\x00", 1),
    "\x10",
    "\x20\x21",
    "\x30\x31",
    "\x40\x41\x42\x43",
    "\x50\x51\x52\x53\x54\x55\x56\x57",
    "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
};

const std::vector<std::string> kRootHashes = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

struct ProofVector {
  std::uint64_t a;  // leaf index (inclusion) or old size (consistency)
  std::uint64_t size;
  std::vector<std::string> proof;
};

const std::vector<ProofVector> kInclusionVectors = {
    {0, 1, {}},
    {0, 2, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"}},
    {1, 2, {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"}},
    {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1, 5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {0, 8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5, 8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

const std::vector<ProofVector> kConsistencyVectors = {
    {1, 1, {}},
    {1, 8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {2, 5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6, 8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

MerkleHash hash(const std::string& hex) {
  const std::optional<MerkleHash> h = merkle::fromHex(hex);
  EXPECT_TRUE(h.has_value()) << hex;
  return h.value_or(MerkleHash{});
}

std::vector<std::string> hexes(const std::vector<MerkleHash>& hashes) {
  std::vector<std::string> out;
  for (const MerkleHash& h : hashes) {
    out.push_back(merkle::toHex(h));
  }
  return out;
}

MerkleTree referenceTree() {
  MerkleTree tree;
  for (const std::string& input : kLeafInputs) {
    tree.append(merkle::hashLeaf(input));
  }
  return tree;
}

// Leaves like real audit leaves: hashes of distinct records.
MerkleTree syntheticTree(std::uint64_t size) {
  MerkleTree tree;
  for (std::uint64_t i = 0; i < size; ++i) {
    tree.append(merkle::hashLeaf("record " + std::to_string(i)));
  }
  return tree;
}

TEST(MerkleTreeTest, EmptyTreeHashIsSha256OfNothing) {
  EXPECT_EQ(merkle::toHex(merkle::emptyRoot()), kRootHashes[0]);
  EXPECT_EQ(merkle::toHex(MerkleTree().root()), kRootHashes[0]);
  EXPECT_EQ(merkle::toHex(MerkleFrontier().root()), kRootHashes[0]);
}

TEST(MerkleTreeTest, RootsMatchReferenceVectorsForSizes0To8) {
  MerkleTree tree;
  MerkleFrontier frontier;
  for (std::size_t size = 0; size <= kLeafInputs.size(); ++size) {
    EXPECT_EQ(merkle::toHex(tree.root()), kRootHashes[size]) << "size " << size;
    EXPECT_EQ(merkle::toHex(frontier.root()), kRootHashes[size]) << "size " << size;
    if (size < kLeafInputs.size()) {
      tree.append(merkle::hashLeaf(kLeafInputs[size]));
      frontier.append(merkle::hashLeaf(kLeafInputs[size]));
    }
  }
  const MerkleTree full = referenceTree();
  for (std::size_t size = 0; size <= kLeafInputs.size(); ++size) {
    EXPECT_EQ(merkle::toHex(full.rootAt(size).value()), kRootHashes[size]) << "size " << size;
  }
  EXPECT_EQ(full.rootAt(9).status().code(), StatusCode::InvalidArgument);
}

TEST(MerkleTreeTest, FrontierKeepsOneNodePerSetBitAndMatchesTheFullTree) {
  MerkleTree tree;
  MerkleFrontier frontier;
  for (std::uint64_t i = 0; i < 300; ++i) {
    const MerkleHash leaf = merkle::hashLeaf("record " + std::to_string(i));
    tree.append(leaf);
    frontier.append(leaf);
    ASSERT_EQ(frontier.root(), tree.root()) << "size " << i + 1;
    ASSERT_EQ(frontier.root(), tree.rootAt(i + 1).value());
  }
  EXPECT_EQ(frontier.size(), 300u);
}

TEST(MerkleTreeTest, InclusionProofsMatchReferenceVectors) {
  const MerkleTree tree = referenceTree();
  for (const ProofVector& v : kInclusionVectors) {
    Result<std::vector<MerkleHash>> proof = tree.inclusionProof(v.a, v.size);
    ASSERT_TRUE(proof.ok()) << proof.status().toString();
    EXPECT_EQ(hexes(*proof), v.proof) << "PATH(" << v.a << ", D[" << v.size << "])";
    EXPECT_TRUE(merkle::verifyInclusion(v.a, v.size, merkle::hashLeaf(kLeafInputs[v.a]), *proof,
                                        hash(kRootHashes[v.size])));
  }
}

TEST(MerkleTreeTest, ConsistencyProofsMatchReferenceVectors) {
  const MerkleTree tree = referenceTree();
  for (const ProofVector& v : kConsistencyVectors) {
    Result<std::vector<MerkleHash>> proof = tree.consistencyProof(v.a, v.size);
    ASSERT_TRUE(proof.ok()) << proof.status().toString();
    EXPECT_EQ(hexes(*proof), v.proof) << "PROOF(" << v.a << ", D[" << v.size << "])";
    EXPECT_TRUE(merkle::verifyConsistency(v.a, v.size, hash(kRootHashes[v.a]),
                                          hash(kRootHashes[v.size]), *proof));
  }
}

TEST(MerkleTreeTest, EveryInclusionProofRoundTripsForSizes1To17AndTamperingFails) {
  const MerkleTree tree = syntheticTree(17);
  for (std::uint64_t size = 1; size <= 17; ++size) {
    const MerkleHash root = tree.rootAt(size).value();
    for (std::uint64_t index = 0; index < size; ++index) {
      const MerkleHash leaf = merkle::hashLeaf("record " + std::to_string(index));
      const std::vector<MerkleHash> proof = tree.inclusionProof(index, size).value();
      ASSERT_TRUE(merkle::verifyInclusion(index, size, leaf, proof, root))
          << "index " << index << " size " << size;

      MerkleHash other_leaf = leaf;
      other_leaf[0] ^= 1;
      EXPECT_FALSE(merkle::verifyInclusion(index, size, other_leaf, proof, root));
      MerkleHash other_root = root;
      other_root[31] ^= 0x80;
      EXPECT_FALSE(merkle::verifyInclusion(index, size, leaf, proof, other_root));
      if (size > 1) {
        EXPECT_FALSE(merkle::verifyInclusion((index + 1) % size, size, leaf, proof, root));
      }
      // (A proof does not bind the size on its own: the signed checkpoint carries it.)
      EXPECT_FALSE(merkle::verifyInclusion(size, size, leaf, proof, root));
      for (std::size_t i = 0; i < proof.size(); ++i) {
        std::vector<MerkleHash> flipped = proof;
        flipped[i][7] ^= 0x10;
        EXPECT_FALSE(merkle::verifyInclusion(index, size, leaf, flipped, root));
      }
      if (!proof.empty()) {
        std::vector<MerkleHash> shorter(proof.begin(), proof.end() - 1);
        EXPECT_FALSE(merkle::verifyInclusion(index, size, leaf, shorter, root));
      }
      std::vector<MerkleHash> longer = proof;
      longer.push_back(root);
      EXPECT_FALSE(merkle::verifyInclusion(index, size, leaf, longer, root));
    }
  }
}

TEST(MerkleTreeTest, EveryConsistencyProofRoundTripsForSizes1To17AndTamperingFails) {
  const MerkleTree tree = syntheticTree(17);
  for (std::uint64_t new_size = 1; new_size <= 17; ++new_size) {
    const MerkleHash new_root = tree.rootAt(new_size).value();
    for (std::uint64_t old_size = 0; old_size <= new_size; ++old_size) {
      const MerkleHash old_root = tree.rootAt(old_size).value();
      const std::vector<MerkleHash> proof = tree.consistencyProof(old_size, new_size).value();
      ASSERT_TRUE(merkle::verifyConsistency(old_size, new_size, old_root, new_root, proof))
          << old_size << " -> " << new_size;
      MerkleHash forged = new_root;
      forged[3] ^= 4;
      if (old_size > 0) {  // every tree extends the empty one
        EXPECT_FALSE(merkle::verifyConsistency(old_size, new_size, old_root, forged, proof));
      }
      if (old_size > 0 && old_size < new_size) {
        EXPECT_FALSE(merkle::verifyConsistency(old_size, new_size, forged, new_root, proof));
        for (std::size_t i = 0; i < proof.size(); ++i) {
          std::vector<MerkleHash> flipped = proof;
          flipped[i][0] ^= 1;
          EXPECT_FALSE(
              merkle::verifyConsistency(old_size, new_size, old_root, new_root, flipped));
        }
        EXPECT_FALSE(merkle::verifyConsistency(new_size, old_size, new_root, old_root, proof));
      }
    }
  }
}

TEST(MerkleTreeTest, ConsistencyRejectsADivergedHistory) {
  MerkleTree honest = syntheticTree(6);
  MerkleTree rewritten;
  for (std::uint64_t i = 0; i < 6; ++i) {
    rewritten.append(merkle::hashLeaf(i == 2 ? std::string("forged") : "record " + std::to_string(i)));
  }
  const std::vector<MerkleHash> proof = rewritten.consistencyProof(4, 6).value();
  EXPECT_FALSE(
      merkle::verifyConsistency(4, 6, honest.rootAt(4).value(), rewritten.root(), proof));
}

TEST(MerkleTreeTest, RangeHasherBuildsTheSameProofFromOnePass) {
  const MerkleTree tree = syntheticTree(37);
  for (std::uint64_t index : {0u, 1u, 17u, 31u, 32u, 36u}) {
    MerkleRangeHasher hasher(merkle::inclusionPath(index, 37));
    for (std::uint64_t i = 0; i < 37; ++i) {
      hasher.add(i, merkle::hashLeaf("record " + std::to_string(i)));
    }
    EXPECT_EQ(hasher.hashes().value(), tree.inclusionProof(index, 37).value()) << index;
  }
  MerkleRangeHasher incomplete(merkle::inclusionPath(3, 8));
  incomplete.add(0, merkle::hashLeaf("x"));
  EXPECT_EQ(incomplete.hashes().status().code(), StatusCode::InvalidArgument);
}

TEST(MerkleTreeTest, ProofArgumentsOutOfRangeAreRejected) {
  const MerkleTree tree = syntheticTree(5);
  EXPECT_EQ(tree.inclusionProof(5, 5).status().code(), StatusCode::InvalidArgument);
  EXPECT_EQ(tree.inclusionProof(0, 6).status().code(), StatusCode::InvalidArgument);
  EXPECT_EQ(tree.consistencyProof(4, 6).status().code(), StatusCode::InvalidArgument);
  EXPECT_EQ(tree.consistencyProof(5, 4).status().code(), StatusCode::InvalidArgument);
  EXPECT_TRUE(tree.consistencyProof(0, 5)->empty());
  EXPECT_TRUE(merkle::inclusionPath(3, 3).empty());
}

TEST(MerkleTreeTest, HexRoundTripAndRejectsMalformed) {
  const MerkleHash h = merkle::hashLeaf("x");
  EXPECT_EQ(merkle::fromHex(merkle::toHex(h)), h);
  EXPECT_FALSE(merkle::fromHex("abc").has_value());
  EXPECT_FALSE(merkle::fromHex(std::string(64, 'g')).has_value());
}

}  // namespace
}  // namespace gw
