// symmetric_state.cc — see symmetric_state.h.
#include "crypto/symmetric_state.h"

#include <cstring>

namespace blaze::crypto {

Status NoiseHkdf(std::string_view chaining_key, std::string_view ikm, Secret32* out1, Secret32* out2,
                 Secret32* out3) {
  BLAZE_ASSIGN_OR_RETURN(Digest32 temp_raw, HmacSha256(chaining_key, {ikm}));
  Secret32 temp(temp_raw);
  OPENSSL_cleanse(temp_raw.data(), temp_raw.size());
  static const char kOne = 0x01, kTwo = 0x02, kThree = 0x03;
  BLAZE_ASSIGN_OR_RETURN(Digest32 o1, HmacSha256(temp.view(), {std::string_view(&kOne, 1)}));
  *out1 = Secret32(o1);
  BLAZE_ASSIGN_OR_RETURN(Digest32 o2, HmacSha256(temp.view(), {out1->view(), std::string_view(&kTwo, 1)}));
  *out2 = Secret32(o2);
  OPENSSL_cleanse(o1.data(), o1.size());
  OPENSSL_cleanse(o2.data(), o2.size());
  if (out3 != nullptr) {
    BLAZE_ASSIGN_OR_RETURN(Digest32 o3, HmacSha256(temp.view(), {out2->view(), std::string_view(&kThree, 1)}));
    *out3 = Secret32(o3);
    OPENSSL_cleanse(o3.data(), o3.size());
  }
  return Status::Ok();
}

Result<SymmetricState> SymmetricState::Create(std::string_view protocol_name) {
  SymmetricState s;
  if (protocol_name.size() <= kSha256Size) {
    s.h_.fill(0);
    std::memcpy(s.h_.data(), protocol_name.data(), protocol_name.size());
  } else {
    BLAZE_ASSIGN_OR_RETURN(s.h_, Sha256({protocol_name}));
  }
  s.ck_ = Secret32(s.h_);
  return s;
}

Status SymmetricState::MixKey(std::string_view ikm) {
  Secret32 ck, temp_k;
  BLAZE_RETURN_IF_ERROR(NoiseHkdf(ck_.view(), ikm, &ck, &temp_k));
  ck_ = ck;
  return cipher_.InitializeKey(temp_k);  // HASHLEN is 32: no truncation
}

Status SymmetricState::MixHash(std::string_view data) {
  BLAZE_ASSIGN_OR_RETURN(h_, Sha256({HashView(), data}));
  return Status::Ok();
}

Status SymmetricState::EncryptAndHash(std::string_view plaintext, std::string* out) {
  size_t start = out->size();
  BLAZE_RETURN_IF_ERROR(cipher_.EncryptWithAd(HashView(), plaintext, out));
  return MixHash(std::string_view(*out).substr(start));
}

Status SymmetricState::DecryptAndHash(std::string_view ciphertext, std::string* out) {
  BLAZE_RETURN_IF_ERROR(cipher_.DecryptWithAd(HashView(), ciphertext, out));
  return MixHash(ciphertext);
}

Status SymmetricState::Split(CipherState* c1, CipherState* c2) {
  Secret32 k1, k2;
  BLAZE_RETURN_IF_ERROR(NoiseHkdf(ck_.view(), {}, &k1, &k2));
  BLAZE_RETURN_IF_ERROR(c1->InitializeKey(k1));
  return c2->InitializeKey(k2);
}

}  // namespace blaze::crypto
