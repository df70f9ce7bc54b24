// How a data-parallel job splits its work (dist/communicator.hpp) and weighs unequal shares
// (dist/gradient_exchange.hpp), without any MPI: the one-process engine and the arithmetic.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include <cnnzoo/dist/communicator.hpp>
#include <cnnzoo/dist/gradient_exchange.hpp>

using namespace cnnzoo;

TEST_CASE("shard: the ranks' parts are contiguous, disjoint and together the whole, within one of each other", "[dist]") {
  for (const std::size_t n : {0u, 1u, 2u, 7u, 8u, 128u, 50000u, 50001u})
    for (const int ranks : {1, 2, 3, 4, 7, 16}) {
      std::size_t next = 0, smallest = n, largest = 0;
      for (int r = 0; r < ranks; ++r) {
        const dist::share s = dist::shard(n, r, ranks);
        CHECK(s.first == next);
        next += s.count;
        smallest = std::min(smallest, s.count);
        largest = std::max(largest, s.count);
      }
      CHECK(next == n);
      CHECK(largest - smallest <= 1);
      CHECK(dist::shard(n, 0, ranks).count == largest);   // rank 0 holds a largest share
    }
  CHECK_THROWS_AS(dist::shard(10, 2, 2), std::invalid_argument);
  CHECK_THROWS_AS(dist::shard(10, -1, 2), std::invalid_argument);
}

TEST_CASE("gradient exchange: one process changes nothing; unequal shares are weighted by size", "[dist]") {
  dist::solo one;
  dist::gradient_exchange x(one, 8);
  std::vector<float> g{1, 2, 3, 4, 5};
  x.begin_step(5, 5);
  CHECK(x.loss_weight() == 1.0);
  CHECK(x.reduce(std::span<float>(g), 0.25) == 0.25);
  CHECK(g == std::vector<float>{1, 2, 3, 4, 5});
  CHECK(x.grad_scale() == 1.0);
  CHECK(std::isnan(x.reduce(std::span<float>(g), std::nan(""))));
  CHECK(x.take_timing().calls == 2);
  CHECK(x.take_timing().calls == 0);
  CHECK_THROWS_AS(x.begin_step(0, 5), std::invalid_argument);
  CHECK_THROWS_AS(x.begin_step(6, 5), std::invalid_argument);
  CHECK(one.any(true));
  CHECK_FALSE(one.any(false));
}
