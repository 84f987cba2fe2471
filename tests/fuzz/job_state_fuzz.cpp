// libFuzzer target: arbitrary bytes as a stored job_state document (what the SQLite store reads
// back from a file another process, an older sked or a person may have written). scripts/fuzz.sh
// builds it. A document is either refused with sked's SerializationError or read into a job that
// writes the same document back and walks a few fire times; anything else (another exception type,
// a crash, a hang, a sanitizer report) is a finding.

#include <sked/errors.hpp>
#include <sked/serialization.hpp>

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto doc = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  const auto now = sked::parse_time("2026-03-29T00:30:00Z");
  sked::Job job;
  try {
    job = sked::job_from_state_json("fuzz", now, doc);
  } catch (const sked::SerializationError&) {
    return 0;
  }
  // What was read writes back to a document that reads back to the same document.
  const auto written = sked::job_state_to_json(job);
  if (sked::job_state_to_json(sked::job_from_state_json("fuzz", now, written)) != written)
    __builtin_trap();
  std::optional<sked::TimePoint> t = now;
  for (int i = 0; i < 8 && t; ++i) {
    const auto next = job.trigger->next_fire_time(t, now);
    if (next && *next <= *t) __builtin_trap();  // fire times must move forward
    t = next;
  }
  return 0;
}
