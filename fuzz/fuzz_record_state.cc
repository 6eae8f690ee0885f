// fuzz_record_state — the stored record state decoder on arbitrary bytes:
// an error or a state that re-encodes to the same bytes, and the fast
// visible-document decoder must agree with the full one.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "store/record_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto st = blaze::store::RecordState::Decode(in);
  auto fast = blaze::store::RecordState::DecodeVisibleDoc(in);
  if (st.ok() != fast.ok()) std::abort();
  if (st.ok()) {
    if (st->visible() != fast->has_value()) std::abort();
    if (st->visible() && !(st->VisibleDoc() == **fast)) std::abort();
  }
  return 0;
}
