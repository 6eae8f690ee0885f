// Must NOT compile: the value layer may not include the store layer above it.
// tests/CMakeLists.txt builds this with the value layer's include paths and
// expects the build to fail (DESIGN.md §2, cmake/BlazeLayer.cmake).
#include "store/record_state.h"

int LayeringProbe() { return 0; }
