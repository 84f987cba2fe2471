#pragma once
// A database path in a fresh temporary directory, removed with everything in it at the end.

#include <cstdlib>
#include <filesystem>
#include <string>

namespace sked::bench {

class ScratchFile {
 public:
  ScratchFile() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sked-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    dir_ = pattern;
  }
  ~ScratchFile() { std::filesystem::remove_all(dir_); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  [[nodiscard]] std::string path() const { return (dir_ / "bench.sqlite3").string(); }

 private:
  std::filesystem::path dir_;
};

}  // namespace sked::bench
