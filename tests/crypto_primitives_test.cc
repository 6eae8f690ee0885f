// crypto_primitives_test.cc — the crypto layer's own behaviour beyond the
// published vectors: Ed25519, randomness, key files, CipherState nonce rules
// (failed decryption, exhaustion, Rekey) and handshake failures.
#include "crypto/cipher_state.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "crypto/ed25519.h"
#include "crypto/handshake_state.h"
#include "crypto/random.h"
#include "crypto/x25519.h"
#include "support/fakes.h"
#include "support/vectors.h"

namespace blaze::crypto {
namespace {

using testing::Hex;
using testing::Unhex;
using testing::UnhexArray;

Secret32 Key(uint8_t fill) {
  std::array<uint8_t, 32> k;
  k.fill(fill);
  return Secret32(k);
}

TEST(Ed25519Test, Rfc8032Test1SignsAndVerifies) {
  Secret32 seed(UnhexArray<std::array<uint8_t, 32>>("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  auto pair = Ed25519FromSeed(seed);
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(Hex(std::string_view(reinterpret_cast<const char*>(pair->public_key.data()), 32)),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  auto sig = Ed25519Sign(seed, "");
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(Hex(std::string_view(reinterpret_cast<const char*>(sig->data()), 64)),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595b"
            "be24655141438e7a100b");
  EXPECT_TRUE(Ed25519Verify(pair->public_key, "", *sig).ok());
}

TEST(Ed25519Test, RejectsTamperedMessageAndSignature) {
  auto pair = GenerateEd25519();
  ASSERT_TRUE(pair.ok());
  auto sig = Ed25519Sign(pair->seed, "envelope");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(Ed25519Verify(pair->public_key, "envelope", *sig).ok());
  EXPECT_FALSE(Ed25519Verify(pair->public_key, "envelopE", *sig).ok());
  Ed25519Signature bad = *sig;
  bad[10] ^= 1;
  EXPECT_FALSE(Ed25519Verify(pair->public_key, "envelope", bad).ok());
}

TEST(SecureRandomTest, FillsDistinctBuffers) {
  std::array<uint8_t, 32> a{}, b{};
  ASSERT_TRUE(SecureRandom(a.data(), a.size()).ok());
  ASSERT_TRUE(SecureRandom(b.data(), b.size()).ok());
  EXPECT_NE(a, b);
}

TEST(X25519Test, RejectsLowOrderPublicKeys) {
  auto me = GenerateKeyPair();
  ASSERT_TRUE(me.ok());
  // u = 0, u = 1 and a point of order 8 all give the all-zero secret.
  for (const char* hex : {"0000000000000000000000000000000000000000000000000000000000000000",
                          "0100000000000000000000000000000000000000000000000000000000000000",
                          "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"}) {
    auto shared = X25519(me->private_key, UnhexArray<PublicKey>(hex));
    ASSERT_FALSE(shared.ok()) << hex;
    EXPECT_EQ(shared.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(KeyFileTest, WritesMode0600AndReadsBack) {
  testing::TempDir dir;
  auto pair = GenerateKeyPair();
  ASSERT_TRUE(pair.ok());
  std::string path = dir.File("node.key");
  ASSERT_TRUE(WriteKeyFile(path, *pair).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = ReadKeyFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->public_key, pair->public_key);
  EXPECT_EQ(back->private_key.bytes(), pair->private_key.bytes());
  // Never overwritten.
  EXPECT_EQ(WriteKeyFile(path, *pair).code(), StatusCode::kAlreadyExists);
}

TEST(KeyFileTest, RefusesGroupOrWorldAccessibleFiles) {
  testing::TempDir dir;
  auto pair = GenerateKeyPair();
  ASSERT_TRUE(pair.ok());
  std::string path = dir.File("node.key");
  ASSERT_TRUE(WriteKeyFile(path, *pair).ok());
  for (mode_t mode : {0640, 0604, 0660, 0644}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto r = ReadKeyFile(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(r.status().message().find("0600"), std::string::npos);
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(ReadKeyFile(path).ok());
}

TEST(KeyFileTest, RejectsMissingAndMalformedFiles) {
  testing::TempDir dir;
  EXPECT_EQ(ReadKeyFile(dir.File("absent.key")).status().code(), StatusCode::kNotFound);
  std::string path = dir.File("bad.key");
  { std::ofstream(path) << "blazedb-x25519-private-key-v1\nzz\n"; }
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  EXPECT_EQ(ReadKeyFile(path).status().code(), StatusCode::kCorruption);
}

TEST(PublicKeyHexTest, RoundTripsAndRejectsBadText) {
  auto pair = GenerateKeyPair();
  ASSERT_TRUE(pair.ok());
  std::string hex = PublicKeyToHex(pair->public_key);
  EXPECT_EQ(hex.size(), 64u);
  auto back = PublicKeyFromHex(hex);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, pair->public_key);
  EXPECT_FALSE(PublicKeyFromHex(hex.substr(2)).ok());
  EXPECT_FALSE(PublicKeyFromHex("g" + hex.substr(1)).ok());
}

TEST(CipherStateTest, FailedDecryptionDoesNotAdvanceTheNonce) {
  CipherState send, recv;
  ASSERT_TRUE(send.InitializeKey(Key(7)).ok());
  ASSERT_TRUE(recv.InitializeKey(Key(7)).ok());
  std::string ct;
  ASSERT_TRUE(send.EncryptWithAd("ad", "hello", &ct).ok());
  std::string tampered = ct;
  tampered[0] ^= 0x01;
  std::string pt;
  EXPECT_EQ(recv.DecryptWithAd("ad", tampered, &pt).code(), StatusCode::kCorruption);
  EXPECT_TRUE(pt.empty());
  EXPECT_EQ(recv.nonce(), 0u);
  EXPECT_FALSE(recv.DecryptWithAd("other ad", ct, &pt).ok());  // AD is authenticated
  EXPECT_EQ(recv.nonce(), 0u);
  ASSERT_TRUE(recv.DecryptWithAd("ad", ct, &pt).ok());
  EXPECT_EQ(pt, "hello");
  EXPECT_EQ(recv.nonce(), 1u);
  // Replaying the same ciphertext now fails: the nonce moved on.
  EXPECT_FALSE(recv.DecryptWithAd("ad", ct, &pt).ok());
}

TEST(CipherStateTest, NonceLayoutIsFourZeroBytesThenBigEndianCounter) {
  CipherState cs;
  ASSERT_TRUE(cs.InitializeKey(Key(3)).ok());
  cs.SetNonce(0x0102030405060708ull);
  std::string viaState;
  ASSERT_TRUE(cs.EncryptWithAd("", "x", &viaState).ok());
  auto gcm = AesGcm::Create(Key(3).data());
  ASSERT_TRUE(gcm.ok());
  const uint8_t nonce[12] = {0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
  std::string direct;
  ASSERT_TRUE(gcm->Seal(nonce, "", "x", &direct).ok());
  EXPECT_EQ(Hex(viaState), Hex(direct));
}

TEST(CipherStateTest, CounterExhaustionIsAnErrorNotAWrap) {
  CipherState send, recv;
  ASSERT_TRUE(send.InitializeKey(Key(9)).ok());
  ASSERT_TRUE(recv.InitializeKey(Key(9)).ok());
  send.SetNonce(kMaxNonce - 1);
  recv.SetNonce(kMaxNonce - 1);
  std::string ct, pt;
  ASSERT_TRUE(send.EncryptWithAd("", "last", &ct).ok());
  ASSERT_TRUE(recv.DecryptWithAd("", ct, &pt).ok());
  EXPECT_EQ(send.nonce(), kMaxNonce);
  std::string more;
  Status s = send.EncryptWithAd("", "one too many", &more);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(more.empty());
  EXPECT_EQ(send.nonce(), kMaxNonce);
  EXPECT_FALSE(recv.DecryptWithAd("", ct, &pt).ok());
}

TEST(CipherStateTest, RekeyFollowsTheNoiseDefinitionAndKeepsTheNonce) {
  CipherState a, b;
  ASSERT_TRUE(a.InitializeKey(Key(5)).ok());
  ASSERT_TRUE(b.InitializeKey(Key(5)).ok());
  a.SetNonce(42);
  ASSERT_TRUE(a.Rekey().ok());
  EXPECT_EQ(a.nonce(), 42u);
  // Expected: k' = first 32 bytes of ENCRYPT(k, 2^64-1, "", 32 zeros).
  auto gcm = AesGcm::Create(Key(5).data());
  ASSERT_TRUE(gcm.ok());
  const uint8_t max_nonce[12] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  std::string block;
  ASSERT_TRUE(gcm->Seal(max_nonce, "", std::string(32, '\0'), &block).ok());
  std::array<uint8_t, 32> next;
  std::memcpy(next.data(), block.data(), 32);
  CipherState expected;
  ASSERT_TRUE(expected.InitializeKey(Secret32(next)).ok());
  expected.SetNonce(42);
  std::string x, y;
  ASSERT_TRUE(a.EncryptWithAd("", "after rekey", &x).ok());
  ASSERT_TRUE(expected.EncryptWithAd("", "after rekey", &y).ok());
  EXPECT_EQ(Hex(x), Hex(y));
  // The old key no longer opens it.
  b.SetNonce(42);
  std::string pt;
  EXPECT_FALSE(b.DecryptWithAd("", x, &pt).ok());
}

HandshakeConfig Config(bool initiator, const KeyPair& s, std::string prologue) {
  HandshakeConfig c;
  c.initiator = initiator;
  c.local_static = s;
  c.prologue = std::move(prologue);
  return c;
}

// Runs XX to the end; returns the first failing status.
Status RunXX(HandshakeState& i, HandshakeState& r, std::string* tamper_msg2 = nullptr) {
  std::string m1, m2, m3, p;
  BLAZE_RETURN_IF_ERROR(i.WriteMessage({}, &m1));
  BLAZE_RETURN_IF_ERROR(r.ReadMessage(m1, &p));
  BLAZE_RETURN_IF_ERROR(r.WriteMessage("resp hello", &m2));
  if (tamper_msg2) m2[m2.size() - 1] ^= 0x40;
  BLAZE_RETURN_IF_ERROR(i.ReadMessage(m2, &p));
  BLAZE_RETURN_IF_ERROR(i.WriteMessage("init hello", &m3));
  return r.ReadMessage(m3, &p);
}

TEST(HandshakeStateTest, XXWithFreshKeysAgreesOnHashAndKeys) {
  auto a = GenerateKeyPair(), b = GenerateKeyPair();
  ASSERT_TRUE(a.ok() && b.ok());
  auto i = HandshakeState::Create(Config(true, *a, "p"));
  auto r = HandshakeState::Create(Config(false, *b, "p"));
  ASSERT_TRUE(i.ok() && r.ok());
  ASSERT_TRUE(RunXX(**i, **r).ok());
  EXPECT_EQ((*i)->handshake_hash(), (*r)->handshake_hash());
  EXPECT_EQ(*(*i)->remote_static(), b->public_key);
  EXPECT_EQ(*(*r)->remote_static(), a->public_key);
  CipherState is, ir, rs, rr;
  ASSERT_TRUE((*i)->Split(&is, &ir).ok());
  ASSERT_TRUE((*r)->Split(&rs, &rr).ok());
  std::string ct, pt;
  ASSERT_TRUE(is.EncryptWithAd("", "ping", &ct).ok());
  ASSERT_TRUE(rr.DecryptWithAd("", ct, &pt).ok());
  EXPECT_EQ(pt, "ping");
}

TEST(HandshakeStateTest, PrologueMismatchFailsTheHandshake) {
  auto a = GenerateKeyPair(), b = GenerateKeyPair();
  ASSERT_TRUE(a.ok() && b.ok());
  auto i = HandshakeState::Create(Config(true, *a, "BlazeDB v1,v2 bugs"));
  auto r = HandshakeState::Create(Config(false, *b, "BlazeDB v1 bugs"));
  ASSERT_TRUE(i.ok() && r.ok());
  Status s = RunXX(**i, **r);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_EQ((*i)->phase(), HandshakePhase::kFailed);
  // A failed handshake stays failed.
  std::string out;
  EXPECT_FALSE((*i)->WriteMessage({}, &out).ok());
}

TEST(HandshakeStateTest, TamperedMessageFailsAndCannotSplit) {
  auto a = GenerateKeyPair(), b = GenerateKeyPair();
  ASSERT_TRUE(a.ok() && b.ok());
  auto i = HandshakeState::Create(Config(true, *a, ""));
  auto r = HandshakeState::Create(Config(false, *b, ""));
  ASSERT_TRUE(i.ok() && r.ok());
  std::string tamper;
  EXPECT_FALSE(RunXX(**i, **r, &tamper).ok());
  CipherState x, y;
  EXPECT_FALSE((*i)->Split(&x, &y).ok());
}

TEST(HandshakeStateTest, LowOrderEphemeralKeyIsRefused) {
  auto b = GenerateKeyPair();
  ASSERT_TRUE(b.ok());
  auto r = HandshakeState::Create(Config(false, *b, ""));
  ASSERT_TRUE(r.ok());
  std::string m1(32, '\0'), p, m2;  // e = 0: a low-order point
  ASSERT_TRUE((*r)->ReadMessage(m1, &p).ok());  // "e" alone does no DH yet
  Status s = (*r)->WriteMessage({}, &m2);          // "ee" must refuse
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*r)->phase(), HandshakePhase::kFailed);
}

TEST(HandshakeStateTest, IKInitiatorNeedsTheResponderKey) {
  auto a = GenerateKeyPair();
  ASSERT_TRUE(a.ok());
  HandshakeConfig c = Config(true, *a, "");
  c.pattern = HandshakePattern::kIK;
  EXPECT_EQ(HandshakeState::Create(c).status().code(), StatusCode::kInvalidArgument);
}

TEST(HkdfTest, RefusesOutputsLongerThan255Blocks) {
  std::string okm;
  EXPECT_EQ(HkdfSha256("s", "k", "i", 255 * 32 + 1, &okm).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(HkdfSha256("s", "k", "i", 255 * 32, &okm).ok());
}

}  // namespace
}  // namespace blaze::crypto
