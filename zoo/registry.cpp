#include "registry.hpp"

#include <algorithm>
#include <cctype>

#if defined(CNNZOO_ZOO_WITH_CUDA)
#include <cnnzoo/exec/cuda.hpp>
#endif

namespace cnnzoo::zoo {

namespace {
std::vector<const entry*>& table() {
  static std::vector<const entry*> t;
  return t;
}
std::string normalise(std::string_view s) {
  std::string out;
  for (char c : s)
    if (std::isalnum(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

registration::registration(const entry* e) {
  auto& t = table();
  t.insert(std::upper_bound(t.begin(), t.end(), e,
                            [](const entry* a, const entry* b) { return a->info.order < b->info.order; }),
           e);
}

const std::vector<const entry*>& models() { return table(); }

bool cuda_usable() {
#if defined(CNNZOO_ZOO_WITH_CUDA)
  return exec::cuda_available();
#else
  return false;
#endif
}

const entry* find(std::string_view name) {
  for (const entry* e : table())
    if (e->info.name == name) return e;
  const std::string want = normalise(name);
  for (const entry* e : table())
    if (normalise(e->info.name) == want) return e;
  return nullptr;
}

}  // namespace cnnzoo::zoo
