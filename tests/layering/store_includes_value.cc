// Must compile: a layer may include the layers below it. The control case for
// value_includes_store.cc, so that test fails for the right reason.
#include "value/binary_codec.h"

int LayeringControl() { return 0; }
