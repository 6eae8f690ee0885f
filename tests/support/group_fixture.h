// group_fixture.h — an app group for cross-app tests: created at a path,
// with each named app registered under a fresh key pair.
#ifndef BLAZE_TESTS_SUPPORT_GROUP_FIXTURE_H_
#define BLAZE_TESTS_SUPPORT_GROUP_FIXTURE_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "blaze/app_group.h"
#include "blaze/keys.h"

namespace blaze::testing {

// Creates the group at `dir` and gives each app a new key (stored through
// its pointer), registered under its name.
inline Status MakeGroup(const std::string& dir, std::initializer_list<std::pair<const char*, KeyPair*>> apps) {
  BLAZE_RETURN_IF_ERROR(AppGroup::Init(dir).status());
  BLAZE_ASSIGN_OR_RETURN(AppGroup g, AppGroup::Open(dir));
  for (const auto& [name, key] : apps) {
    BLAZE_ASSIGN_OR_RETURN(*key, GenerateKeyPair());
    BLAZE_RETURN_IF_ERROR(g.AddApp(name, key->public_key).status());
  }
  return Status::Ok();
}

}  // namespace blaze::testing

#endif  // BLAZE_TESTS_SUPPORT_GROUP_FIXTURE_H_
