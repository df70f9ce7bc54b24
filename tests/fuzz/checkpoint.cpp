// A checkpoint on any bytes, read as cnnzoo-train reads one to resume: the container (magic,
// version, size, CRC, section table), every section's values, the recipe (JSON, then its ranges),
// the history (metrics lines) and the data record. A result or a cnnzoo::error, nothing else.
#include <nlohmann/json.hpp>

#include <cnnzoo/train/checkpoint.hpp>

#include "train/metrics.hpp"
#include "train/recipe.hpp"
#include "train/recipe_limits.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cnnzoo;
  try {
    const auto ck = train::checkpoint_reader::from_bytes(std::vector<std::uint8_t>(data, data + size), "(fuzz input)");
    for (const auto& s : ck.sections()) {
      switch (s.type) {
        case train::dtype::f32: (void)ck.get<float>(s.name); break;
        case train::dtype::f64: (void)ck.get<double>(s.name); break;
        case train::dtype::u64: (void)ck.get<std::uint64_t>(s.name); break;
        case train::dtype::i64: (void)ck.get<std::int64_t>(s.name); break;
        case train::dtype::u8: (void)ck.get_string(s.name); break;
      }
    }
    if (ck.has("recipe")) {
      try {
        const trainer::recipe r = trainer::recipe::from_json(nlohmann::json::parse(ck.get_string("recipe")));
        (void)trainer::recipe_problems(r);
      } catch (const nlohmann::json::exception&) {
      }
    }
    if (ck.has("history")) (void)trainer::parse_metrics(ck.get_string("history"), "history", 5);
    if (ck.has("data")) {
      try {
        (void)nlohmann::json::parse(ck.get_string("data"));
      } catch (const nlohmann::json::exception&) {
      }
    }
  } catch (const cnnzoo::error&) {
  }
  return 0;
}
