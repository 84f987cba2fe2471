// A main for the libFuzzer targets when they are built without libFuzzer (g++, ctest): each
// argument is an input file or a directory of them, and every input is passed once to
// LLVMFuzzerTestOneInput, in name order. A target reports a finding by crashing (__builtin_trap, a
// failed check); the handler below names the input first. CMake links this instead of
// -fsanitize=fuzzer, as fmt's FMT_FUZZ_LINKMAIN does.

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::string current_input;  // the input being replayed, for the crash handler

extern "C" void name_the_input_and_die(int signal) {
  // Only async-signal-safe calls: write(2), then the default action.
  constexpr char prefix[] = "fuzz replay: crashed on input ";
  (void)!::write(STDERR_FILENO, prefix, sizeof prefix - 1);
  (void)!::write(STDERR_FILENO, current_input.data(), current_input.size());
  (void)!::write(STDERR_FILENO, "\n", 1);
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

std::vector<std::filesystem::path> inputs_in(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> inputs;
  if (std::filesystem::is_directory(path)) {
    for (const auto& entry : std::filesystem::directory_iterator(path)) {
      if (entry.is_regular_file()) inputs.push_back(entry.path());
    }
    std::sort(inputs.begin(), inputs.end());
  } else {
    inputs.push_back(path);
  }
  return inputs;
}

}  // namespace

int main(int argc, char** argv) {
  for (int signal : {SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGSEGV})
    std::signal(signal, name_the_input_and_die);
  std::size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    std::error_code ec;
    if (!std::filesystem::exists(argv[i], ec)) {
      std::fprintf(stderr, "fuzz replay: no such input file or directory: %s\n", argv[i]);
      return 2;
    }
    for (const auto& input : inputs_in(argv[i])) {
      std::ifstream in(input, std::ios::binary);
      const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      if (!in && !in.eof()) {
        std::fprintf(stderr, "fuzz replay: cannot read %s\n", input.c_str());
        return 2;
      }
      current_input = input.string();
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++replayed;
    }
  }
  std::printf("fuzz replay: %zu inputs, no finding\n", replayed);
  return replayed == 0 ? 1 : 0;  // an empty corpus tests nothing
}
