#include "blaze/binary.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "blaze/json.h"

namespace rc {

// Arbitrary Values: scalars of every type, nested arrays and maps (bounded depth).
Gen<blaze::Value> GenValue(int depth) {
  using blaze::Value;
  Gen<Value> scalar = gen::weightedOneOf<Value>({
      {1, gen::just(Value())},
      {1, gen::map(gen::arbitrary<bool>(), [](bool b) { return Value(b); })},
      {3, gen::map(gen::arbitrary<int64_t>(), [](int64_t i) { return Value(i); })},
      {2, gen::map(gen::inRange<int64_t>(-40, 70), [](int64_t i) { return Value(i); })},
      {2, gen::map(gen::arbitrary<double>(), [](double d) { return Value(d); })},
      {3, gen::map(gen::container<std::string>(gen::inRange<char>(32, 126)), [](std::string s) { return Value(s); })},
      {1, gen::map(gen::arbitrary<std::vector<uint8_t>>(), [](std::vector<uint8_t> b) { return Value::FromBytes(b); })},
  });
  if (depth == 0) return scalar;
  Gen<Value> array = gen::map(gen::container<std::vector<Value>>(GenValue(depth - 1)),
                              [](std::vector<Value> a) { return Value(std::move(a)); });
  Gen<Value> map = gen::map(
      gen::container<std::map<std::string, Value>>(gen::container<std::string>(gen::inRange<char>(97, 123)),
                                                   GenValue(depth - 1)),
      [](std::map<std::string, Value> m) { return Value(Value::Map(m.begin(), m.end())); });
  return gen::weightedOneOf<Value>({{6, scalar}, {1, array}, {1, map}});
}

}  // namespace rc

namespace blaze {
namespace {

bool SameValue(const Value& a, const Value& b) {
  // NaN != NaN under ==, but the encoding canonicalizes it.
  if (a.is_double() && b.is_double() && std::isnan(a.as_double())) return std::isnan(b.as_double());
  if (a.is_array() && b.is_array()) {
    if (a.as_array().size() != b.as_array().size()) return false;
    for (size_t i = 0; i < a.as_array().size(); ++i)
      if (!SameValue(a.as_array()[i], b.as_array()[i])) return false;
    return true;
  }
  if (a.is_map() && b.is_map()) {
    if (a.as_map().size() != b.as_map().size()) return false;
    for (auto ia = a.as_map().begin(), ib = b.as_map().begin(); ia != a.as_map().end(); ++ia, ++ib)
      if (ia->first != ib->first || !SameValue(ia->second, ib->second)) return false;
    return true;
  }
  return a == b;
}

RC_GTEST_PROP(BlazeBinaryProperty, DecodeInvertsEncode, ()) {
  Value v = *rc::GenValue(3);
  auto back = DecodeBinary(EncodeBinary(v));
  RC_ASSERT(back.ok());
  RC_ASSERT(SameValue(*back, v));
}

RC_GTEST_PROP(BlazeBinaryProperty, EncodingIsCanonical, ()) {
  Value v = *rc::GenValue(3);
  std::string once = EncodeBinary(v);
  auto back = DecodeBinary(once);
  RC_ASSERT(back.ok());
  RC_ASSERT(EncodeBinary(*back) == once);
}

RC_GTEST_PROP(BlazeBinaryProperty, TruncationIsAlwaysAnError, ()) {
  Value v = *rc::GenValue(2);
  std::string bytes = EncodeBinary(v);
  size_t cut = *rc::gen::inRange<size_t>(0, bytes.size());
  RC_ASSERT(!DecodeBinary(bytes.substr(0, cut)).ok());
}

RC_GTEST_PROP(BlazeBinaryProperty, ArbitraryBytesNeverCrash, (std::vector<uint8_t> junk)) {
  std::string s(junk.begin(), junk.end());
  auto r = DecodeBinary(s);
  if (r.ok()) RC_ASSERT(EncodeBinary(*r) == s);  // whatever decodes is canonical
}

RC_GTEST_PROP(BlazeBinaryProperty, JsonRoundTripsFiniteValues, ()) {
  Value v = *rc::GenValue(3);
  std::function<bool(const Value&)> finite = [&](const Value& x) -> bool {
    if (x.is_double()) return std::isfinite(x.as_double());
    if (x.is_array()) {
      for (const auto& i : x.as_array()) if (!finite(i)) return false;
    }
    if (x.is_map()) {
      if (x.as_map().size() == 1 && x.as_map().begin()->first == "$bytes") return false;
      for (const auto& [k, i] : x.as_map()) if (!finite(i)) return false;
    }
    return true;
  };
  RC_PRE(finite(v));
  auto back = ParseJson(ToJson(v));
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == v);
}

}  // namespace
}  // namespace blaze
