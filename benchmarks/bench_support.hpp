#pragma once
// What the benchmark programs share: the context they print beside their figures.
#include <fstream>
#include <string>

namespace cnnzoo::bench {

// The CPU's model name from /proc/cpuinfo ("unknown" where there is none).
inline std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  return "unknown";
}

}  // namespace cnnzoo::bench
