// The CPU policies' allocator (exec/eigen/host_memory.hpp): small buffers on 64-byte boundaries,
// large ones on 2 MiB boundaries (where a transparent huge page can back them), both usable whole.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include <cnnzoo/exec/eigen.hpp>

using namespace cnnzoo;

namespace {
template <class T>
std::uintptr_t address(const T* p) {
  return reinterpret_cast<std::uintptr_t>(p);
}
}  // namespace

TEST_CASE("host memory: small buffers are 64-byte aligned, large ones 2 MiB aligned", "[exec][memory]") {
  using alloc = exec::eigen_detail::host_allocator<float>;
  for (const std::size_t n : {std::size_t{1}, std::size_t{1000}, (alloc::huge_from / sizeof(float)) - 1}) {
    std::vector<float, alloc> v(n, 1.0f);
    CHECK(address(v.data()) % alloc::alignment == 0);
  }
  // At and above the threshold, and a size that is no whole number of huge pages.
  for (const std::size_t bytes : {alloc::huge_from, alloc::huge_from + 4 * alloc::huge_page + 12}) {
    std::vector<float, alloc> v(bytes / sizeof(float));
    CHECK(address(v.data()) % alloc::huge_page == 0);
    std::iota(v.begin(), v.end(), 0.0f);   // every byte writable
    CHECK(v.back() == static_cast<float>(v.size() - 1));
  }
}

TEST_CASE("host memory: the Eigen policy's buffers use it, zero-filled", "[exec][memory]") {
  const exec::eigen<double> p;
  auto small = p.allocate<double>(3);
  auto large = p.allocate<double>(std::size_t{1} << 20);   // 8 MiB
  CHECK(address(small.data()) % 64 == 0);
  CHECK(address(large.data()) % (std::size_t{2} << 20) == 0);
  CHECK(std::all_of(large.begin(), large.end(), [](double v) { return v == 0.0; }));
  // Moves keep the memory (the allocator has no state).
  const double* before = large.data();
  auto moved = std::move(large);
  CHECK(moved.data() == before);
}
