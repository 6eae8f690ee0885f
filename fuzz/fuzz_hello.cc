// fuzz_hello — the channel's message-body decoders (hello, error, version
// offer) on arbitrary bytes: an error or a value, never a crash; whatever
// decodes re-encodes to something that decodes to the same fields (the
// offer, which has one encoding per set, to the very same bytes).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/hello.h"
#include "protocol/version_offer.h"

using namespace blaze::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto hello = DecodeHello(in);
  if (hello.ok()) {
    auto again = DecodeHello(EncodeHello(*hello));
    if (!again.ok() || again->versions != hello->versions || again->version != hello->version ||
        again->identity != hello->identity || again->capabilities != hello->capabilities) {
      std::abort();
    }
  }
  auto error = DecodeErrorMessage(in);
  if (error.ok()) {
    auto again = DecodeErrorMessage(EncodeErrorMessage(*error));
    if (!again.ok() || again->code != error->code || again->message != error->message) std::abort();
  }
  auto offer = DecodeVersionOffer(in);
  if (offer.ok()) {
    if (EncodeVersionOffer(*offer) != in || !CanonicalVersions(*offer).ok() || *CanonicalVersions(*offer) != *offer) {
      std::abort();
    }
  }
  return 0;
}
