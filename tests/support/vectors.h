// vectors.h — loading the JSON test-vector files under tests/vectors/ and
// decoding their hex strings. Test-only; not thread-safe concerns (read-only).
#ifndef BLAZE_TESTS_SUPPORT_VECTORS_H_
#define BLAZE_TESTS_SUPPORT_VECTORS_H_

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>

#include "crypto/hex.h"

namespace blaze::testing {

inline nlohmann::json LoadVectors(const std::string& relative) {
  std::string path = std::string(BLAZE_TEST_VECTORS_DIR) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open vector file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

// Hex to bytes; throws on bad hex so a broken vector file fails loudly.
inline std::string Unhex(const std::string& hex) {
  auto raw = crypto::HexDecode(hex);
  if (!raw) throw std::runtime_error("bad hex in vector: " + hex.substr(0, 40));
  return *raw;
}

template <typename Array>
Array UnhexArray(const std::string& hex) {
  std::string raw = Unhex(hex);
  Array a{};
  if (raw.size() != a.size()) throw std::runtime_error("vector value has wrong length: " + hex.substr(0, 40));
  std::memcpy(a.data(), raw.data(), a.size());
  return a;
}

inline std::string Hex(std::string_view bytes) { return crypto::HexEncode(bytes); }

}  // namespace blaze::testing

#endif  // BLAZE_TESTS_SUPPORT_VECTORS_H_
