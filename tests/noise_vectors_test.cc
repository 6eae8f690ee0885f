// noise_vectors_test.cc — HandshakeState/CipherState reproduce every
// Noise_XX_25519_AESGCM_SHA256 and Noise_IK_25519_AESGCM_SHA256 vector of
// cacophony, snow and noise-c byte for byte: each handshake and transport
// ciphertext (transport AD empty, as in the vectors) and the handshake hash.
#include "crypto/handshake_state.h"

#include <gtest/gtest.h>

#include "support/vectors.h"

namespace blaze::crypto {
namespace {

using testing::Hex;
using testing::LoadVectors;
using testing::Unhex;
using testing::UnhexArray;

PrivateKey Priv(const std::string& hex) { return PrivateKey(UnhexArray<std::array<uint8_t, 32>>(hex)); }

struct Counts {
  int vectors = 0;
  int ciphertexts = 0;
  int hashes = 0;
};

void RunVector(const nlohmann::json& v, Counts* counts) {
  std::string name = v.contains("protocol_name") ? v["protocol_name"] : v["name"];
  SCOPED_TRACE(name);
  HandshakePattern pattern =
      name == "Noise_XX_25519_AESGCM_SHA256" ? HandshakePattern::kXX : HandshakePattern::kIK;
  ASSERT_EQ(ProtocolName(pattern), name);

  HandshakeConfig ic, rc;
  ic.pattern = rc.pattern = pattern;
  ic.initiator = true;
  rc.initiator = false;
  ic.prologue = Unhex(v["init_prologue"]);
  rc.prologue = Unhex(v["resp_prologue"]);
  auto is = KeyPairFromPrivateKey(Priv(v["init_static"]));
  auto rs = KeyPairFromPrivateKey(Priv(v["resp_static"]));
  ASSERT_TRUE(is.ok() && rs.ok());
  ic.local_static = *is;
  rc.local_static = *rs;
  if (v.contains("init_remote_static")) ic.remote_static = UnhexArray<PublicKey>(v["init_remote_static"]);
  auto ie = KeyPairFromPrivateKey(Priv(v["init_ephemeral"]));
  auto re = KeyPairFromPrivateKey(Priv(v["resp_ephemeral"]));
  ASSERT_TRUE(ie.ok() && re.ok());
  ic.fixed_ephemeral = *ie;
  rc.fixed_ephemeral = *re;
  auto init = HandshakeState::Create(ic);
  auto resp = HandshakeState::Create(rc);
  ASSERT_TRUE(init.ok() && resp.ok());

  CipherState i_send, i_recv, r_send, r_recv;
  bool transport = false;
  const auto& messages = v["messages"];
  for (size_t i = 0; i < messages.size(); ++i) {
    SCOPED_TRACE("message " + std::to_string(i));
    bool from_initiator = i % 2 == 0;
    std::string payload = Unhex(messages[i]["payload"]);
    std::string expected = messages[i]["ciphertext"];
    std::string wire, read;
    if (!transport) {
      HandshakeState& w = from_initiator ? **init : **resp;
      HandshakeState& r = from_initiator ? **resp : **init;
      ASSERT_TRUE(w.WriteMessage(payload, &wire).ok());
      EXPECT_EQ(Hex(wire), expected);
      Status s = r.ReadMessage(wire, &read);
      ASSERT_TRUE(s.ok()) << s.ToString();
      EXPECT_EQ(read, payload);
      if (w.phase() == HandshakePhase::kFinished) {
        ASSERT_EQ(r.phase(), HandshakePhase::kFinished);
        EXPECT_EQ((*init)->handshake_hash(), (*resp)->handshake_hash());
        if (v.contains("handshake_hash")) {
          EXPECT_EQ(Hex(std::string_view(reinterpret_cast<const char*>((*init)->handshake_hash().data()), 32)),
                    v["handshake_hash"].get<std::string>());
          ++counts->hashes;
        }
        // The peer's static key was learned (or known) by both sides.
        EXPECT_EQ((*init)->remote_static(), rs->public_key);
        EXPECT_EQ((*resp)->remote_static(), is->public_key);
        ASSERT_TRUE((*init)->Split(&i_send, &i_recv).ok());
        ASSERT_TRUE((*resp)->Split(&r_send, &r_recv).ok());
        transport = true;
      }
    } else {
      CipherState& send = from_initiator ? i_send : r_send;
      CipherState& recv = from_initiator ? r_recv : i_recv;
      ASSERT_TRUE(send.EncryptWithAd({}, payload, &wire).ok());
      EXPECT_EQ(Hex(wire), expected);
      ASSERT_TRUE(recv.DecryptWithAd({}, wire, &read).ok());
      EXPECT_EQ(read, payload);
    }
    ++counts->ciphertexts;
  }
  ++counts->vectors;
}

Counts RunFile(const std::string& file) {
  Counts counts;
  const nlohmann::json doc = LoadVectors(file);
  for (const auto& v : doc["vectors"]) RunVector(v, &counts);
  return counts;
}

TEST(NoiseVectorsTest, Cacophony) {
  Counts c = RunFile("noise/cacophony_XX_IK_25519_AESGCM_SHA256.json");
  EXPECT_EQ(c.vectors, 2);
  EXPECT_EQ(c.ciphertexts, 12);
  EXPECT_EQ(c.hashes, 2);
}

TEST(NoiseVectorsTest, Snow) {
  Counts c = RunFile("noise/snow_XX_IK_25519_AESGCM_SHA256.json");
  EXPECT_EQ(c.vectors, 2);
  EXPECT_EQ(c.ciphertexts, 9);
  EXPECT_EQ(c.hashes, 0);  // snow's file has no handshake_hash
}

TEST(NoiseVectorsTest, NoiseC) {
  Counts c = RunFile("noise/noise-c-basic_XX_IK_25519_AESGCM_SHA256.json");
  EXPECT_EQ(c.vectors, 2);
  EXPECT_EQ(c.ciphertexts, 12);
  EXPECT_EQ(c.hashes, 2);
}

}  // namespace
}  // namespace blaze::crypto
