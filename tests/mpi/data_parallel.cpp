// Data-parallel training over MPI, run as `mpirun -np 2 test_mpi_data_parallel` (CTest does): the
// MPI engine's collectives, and the equivalence the gradient exchange promises. Every rank also
// trains the one-process reference itself (the same network at the whole global batch), so each
// rank checks its own weights against it and against rank 0's.
//
// Tolerances: in fp64 (exec::eigen<double>) the ranks' sum adds the same terms as the one-process
// batch in another order; measured 1e-16 relative after 4 steps, tested against 1e-13 (a missing
// 1/ranks or a wrongly weighted share is off by 1e-2 or more; per-rank BatchNorm statistics by
// 5e-3). In fp32 on the trainer's CPU policy: measured 5e-8, tested against 1e-6.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <limits>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/dist/gradient_exchange.hpp>
#include <cnnzoo/dist/mpi.hpp>
#include <cnnzoo/exec/cpu.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/train/step.hpp>

using namespace cnnzoo;

namespace {

dist::communicator* world = nullptr;

// No BatchNorm: each image's gradient depends on that image alone.
struct plain_net : seq<conv<conv_args{.out = 6, .kernel = 3}>, relu, conv<conv_args{.out = 8, .kernel = 3, .stride = 2}>,
                       relu, global_avg_pool, dense<10>> {};
// BatchNorm: each image's gradient depends on the statistics of the images it is normalised with.
struct bn_net : seq<conv<conv_args{.out = 6, .kernel = 3}>, batch_norm, relu,
                    conv<conv_args{.out = 8, .kernel = 3, .stride = 2}>, batch_norm, relu, global_avg_pool, dense<10>> {};

constexpr std::size_t image_floats = 3 * 32 * 32;

// Step s's global batch, the same on every rank: images and one-hot targets.
template <class T>
void global_batch(int s, int batch, std::vector<float>& images, std::vector<T>& targets) {
  rng g(1000 + static_cast<std::uint64_t>(s));
  images.resize(static_cast<std::size_t>(batch) * image_floats);
  for (float& v : images) v = static_cast<float>(g.normal());
  targets.assign(static_cast<std::size_t>(batch) * 10, T(0));
  for (int i = 0; i < batch; ++i) targets[static_cast<std::size_t>(i) * 10 + g.below(10)] = T(1);
}

template <class Net>
void configure(train::trainer<Net>& t) {
  t.options().lr = 0.1;
  t.options().momentum = 0.9;
  t.options().weight_decay = 5e-4;
}

// max |a - b| / max |b|
template <class W>
double relative_difference(const std::vector<W>& a, const std::vector<W>& b) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  return diff / scale;
}

// Whether this rank's values are rank 0's, bit for bit.
template <class W>
bool same_as_rank0(std::vector<W> v) {
  std::vector<W> leaders = v;
  world->broadcast_values(std::span<W>(leaders), 0);
  return std::memcmp(leaders.data(), v.data(), v.size() * sizeof(W)) == 0;
}

struct comparison {
  double params = 0, state = 0;   // largest relative difference from the one-process run
  bool ranks_identical = true;    // after every step
};

// `steps` steps of the global batch `batch` in one process and over the ranks (each its shard),
// from the same initial weights.
template <class M, class P>
comparison train_both_ways(int batch, int steps, bool sync_bn) {
  using net_t = network<M, P>;
  using T = value_t<P>;
  const int ranks = world->size(), rank = world->rank();
  const dist::share mine = dist::shard(static_cast<std::size_t>(batch), rank, ranks);
  net_t whole(batch, 7), part(static_cast<int>(dist::shard(static_cast<std::size_t>(batch), 0, ranks).count), 7);
  train::trainer<net_t> one(whole), shared(part);
  configure(one);
  configure(shared);
  dist::gradient_exchange exchange(*world, /*bucket_bytes=*/1024);   // several buckets even for these nets
  shared.set_gradient_exchange(&exchange);
  if (sync_bn) part.policy().set_batch_norm_sync(world);
  comparison c;
  std::vector<float> images;
  std::vector<T> targets;
  for (int s = 0; s < steps; ++s) {
    global_batch(s, batch, images, targets);
    const double l1 = one.train_step_soft(images.data(), targets.data(), batch);
    exchange.begin_step(static_cast<int>(mine.count), batch);
    const double l2 = shared.train_step_soft(images.data() + mine.first * image_floats, targets.data() + mine.first * 10,
                                             static_cast<int>(mine.count));
    CHECK(std::isfinite(l1));
    CHECK(std::isfinite(l2));
    c.ranks_identical = c.ranks_identical && same_as_rank0(part.download_params());
  }
  c.params = relative_difference(part.download_params(), whole.download_params());
  if (net_t::state_count() > 0) c.state = relative_difference(part.download_state(), whole.download_state());
  if (rank == 0)   // the figures the tolerances are set against
    std::printf("%d ranks, %s, global batch %d, %d steps%s: weights %.3g, statistics %.3g from one process\n", ranks,
                std::string(P::name).c_str(), batch, steps, sync_bn ? ", --sync-bn" : "", c.params, c.state);
  return c;
}

}  // namespace

TEST_CASE("mpi: sums and broadcasts give every rank the same values", "[mpi]") {
  const int ranks = world->size(), rank = world->rank();
  std::vector<double> d(1000);
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<double>(rank + 1) * static_cast<double>(i);
  world->sum(std::span<double>(d));
  const double total = ranks * (ranks + 1) / 2.0;
  // CHECK, never REQUIRE, in these tests: a rank that left a test case early would leave the
  // others waiting in its collectives.
  CHECK(std::all_of(d.begin(), d.end(), [&, i = std::size_t{0}](double v) mutable { return v == total * static_cast<double>(i++); }));
  std::vector<float> f(3'000'001, static_cast<float>(rank) + 0.5f);
  world->sum(std::span<float>(f));
  CHECK(std::all_of(f.begin(), f.end(), [&](float v) { return v == static_cast<float>(total - ranks / 2.0); }));
  std::vector<std::uint64_t> b{static_cast<std::uint64_t>(rank) * 11 + 5, 42};
  world->broadcast_values(std::span<std::uint64_t>(b), 0);
  CHECK(b == std::vector<std::uint64_t>{5, 42});
  CHECK(world->any(rank == ranks - 1));
  CHECK_FALSE(world->any(false));
  CHECK(world->engine().rfind("mpi (", 0) == 0);
}

TEST_CASE("mpi: without BatchNorm, the ranks' shards train as one process on the whole batch", "[mpi][equivalence]") {
  const comparison even = train_both_ways<plain_net, exec::eigen<double>>(8, 4, false);
  CHECK(even.ranks_identical);
  CHECK(even.params < 1e-13);
  // A batch that does not split evenly (4 + 3 over two ranks): the shares are weighted.
  const comparison uneven = train_both_ways<plain_net, exec::eigen<double>>(7, 4, false);
  CHECK(uneven.ranks_identical);
  CHECK(uneven.params < 1e-13);
}

TEST_CASE("mpi: with BatchNorm, --sync-bn's statistics make the job equal one process; per-rank statistics do not",
          "[mpi][equivalence][sync_bn]") {
  const comparison synced = train_both_ways<bn_net, exec::eigen<double>>(8, 4, true);
  CHECK(synced.ranks_identical);
  CHECK(synced.params < 1e-13);
  CHECK(synced.state < 1e-13);   // the running statistics too: every rank keeps the global batch's
  const comparison synced_uneven = train_both_ways<bn_net, exec::eigen<double>>(7, 3, true);
  CHECK(synced_uneven.ranks_identical);
  CHECK(synced_uneven.params < 1e-13);
  if (world->size() > 1) {
    const comparison per_rank = train_both_ways<bn_net, exec::eigen<double>>(8, 4, false);
    CHECK(per_rank.ranks_identical);   // the weights still agree across ranks ...
    CHECK(per_rank.params > 1e-6);     // ... but follow other statistics than one process's
  }
}

TEST_CASE("mpi: the trainer's fp32 CPU policy keeps the ranks identical and close to one process", "[mpi][equivalence]") {
  const comparison c = train_both_ways<bn_net, exec::cpu>(8, 3, true);
  CHECK(c.ranks_identical);
  CHECK(c.params < 1e-6);
}

TEST_CASE("mpi: a non-finite loss on one rank skips the update on every rank", "[mpi][nonfinite]") {
  using net_t = network<plain_net, exec::eigen<double>>;
  net_t net(4, 7);
  train::trainer<net_t> t(net);
  configure(t);
  dist::gradient_exchange exchange(*world);
  t.set_gradient_exchange(&exchange);
  std::vector<float> images;
  std::vector<double> targets;
  global_batch(0, 4, images, targets);
  // A NaN target makes that rank's loss NaN (a NaN pixel need not: ReLU can drop it).
  if (world->rank() == world->size() - 1) targets[3] = std::numeric_limits<double>::quiet_NaN();
  const auto before = net.download_params();
  exchange.begin_step(4, 4 * world->size());
  const double loss = t.train_step_soft(images.data(), targets.data(), 4);
  CHECK_FALSE(std::isfinite(loss));
  CHECK(net.download_params() == before);
  CHECK(same_as_rank0(net.download_params()));
  // The next good step goes ahead on every rank.
  global_batch(1, 4, images, targets);
  exchange.begin_step(4, 4 * world->size());
  CHECK(std::isfinite(t.train_step_soft(images.data(), targets.data(), 4)));
  CHECK(net.download_params() != before);
  CHECK(same_as_rank0(net.download_params()));
  const auto timing = exchange.take_timing();
  CHECK(timing.calls == 2);
}

int main(int argc, char** argv) {
  dist::mpi_session mpi(argc, argv);
  dist::mpi_world ranks;
  world = &ranks;
  return Catch::Session().run(argc, argv);
}
