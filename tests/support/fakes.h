// fakes.h — test doubles for the injectable world: a clock the test moves by
// hand, deterministic randomness, and a temporary directory that cleans up.
#ifndef BLAZE_TESTS_SUPPORT_FAKES_H_
#define BLAZE_TESTS_SUPPORT_FAKES_H_

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "blaze/env.h"

namespace blaze::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  int64_t NowMillis() override { return now_.load(); }
  void Set(int64_t ms) { now_ = ms; }
  void Advance(int64_t ms) { now_ += ms; }

 private:
  std::atomic<int64_t> now_;
};

class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : gen_(seed) {}
  void Fill(void* out, size_t len) override {
    auto* p = static_cast<unsigned char*>(out);
    for (size_t i = 0; i < len; ++i) p[i] = static_cast<unsigned char>(gen_());
  }

 private:
  std::mt19937_64 gen_;
};

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "blazetest-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    path_ = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (std::filesystem::path(path_) / name).string(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace blaze::testing

#endif  // BLAZE_TESTS_SUPPORT_FAKES_H_
