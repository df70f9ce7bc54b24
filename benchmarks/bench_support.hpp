#pragma once
// What the benchmark programs share: the context they print beside their figures.
#include <fstream>
#include <string>
#ifdef _OPENMP
#include <omp.h>
#endif

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

// The OpenMP threads the CPU kernels use (OMP_NUM_THREADS, default all cores).
inline int threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace cnnzoo::bench
