// Runs repeat exactly: two networks built with the same seed hold bit-identical parameters,
// state and momentum after the same training steps (dropout masks, OpenMP reductions and all),
// and a network restored from another's buffers and generator continues identically, which is
// what resuming a run from a checkpoint relies on.
#include <catch2/catch.hpp>

#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/train/step.hpp>

using namespace cnnzoo;

namespace {

template <int Out, int K = 3, int Stride = 1>
using cv = conv<conv_args{.out = Out, .kernel = K, .stride = Stride}>;

// Every kind of part whose arithmetic or randomness could differ between runs.
struct small_net : seq<cv<8>, batch_norm, relu, residual<seq<cv<8>, batch_norm, relu, dropout<0.3>, cv<8>>>,
                       concat<identity, seq<batch_norm, relu, cv<4, 1>>>, max_pool<2>,
                       residual<seq<cv<16, 3, 2>, batch_norm, swish>, cv<16, 1, 2>>, global_avg_pool,
                       dropout<0.2>, dense<10>> {
  static constexpr shape input{3, 16, 16};
};

constexpr int batch = 8;

struct sample_batch {
  std::vector<float> images = std::vector<float>(batch * small_net::input.size());
  std::vector<int> labels = std::vector<int>(batch);
  sample_batch() {
    rng g(77);
    for (float& v : images) v = static_cast<float>(g.normal());
    for (int& l : labels) l = static_cast<int>(g.below(10));
  }
};

template <class T>
using net_t = network<small_net, exec::eigen<T>>;

// A network and its trainer (which owns the momentum).
template <class T>
struct run {
  net_t<T> net;
  train::trainer<net_t<T>> trainer{net};
  explicit run(std::uint64_t seed) : net(batch, seed) {}
  std::vector<double> steps(const sample_batch& d, int count) {
    std::vector<double> losses;
    for (int s = 0; s < count; ++s) losses.push_back(trainer.train_step(d.images.data(), d.labels.data(), batch, 0.1));
    return losses;
  }
  std::vector<T> velocity() const { return trainer.optimizer().download_velocity(net.policy()); }
};

template <class T>
void check_same_seed() {
  const sample_batch d;
  run<T> a(42), b(42);
  REQUIRE(a.net.download_params() == b.net.download_params());
  const auto la = a.steps(d, 3), lb = b.steps(d, 3);
  CHECK(la == lb);
  CHECK(a.net.download_params() == b.net.download_params());
  CHECK(a.net.download_state() == b.net.download_state());
  CHECK(a.velocity() == b.velocity());
  CHECK(a.net.generator() == b.net.generator());
  // A different seed really is a different run.
  run<T> c(43);
  c.steps(d, 3);
  CHECK(c.net.download_params() != a.net.download_params());
}

}  // namespace

TEST_CASE("same seed, same steps: bit-identical parameters (float)", "[graph][determinism]") {
  check_same_seed<float>();
}

TEST_CASE("same seed, same steps: bit-identical parameters (double)", "[graph][determinism]") {
  check_same_seed<double>();
}

TEST_CASE("a network restored from buffers and generator state continues identically", "[graph][determinism]") {
  const sample_batch d;
  run<float> a(42);
  a.steps(d, 2);
  // Resume: another network (another seed) takes a's parameters, state, momentum and generator.
  run<float> b(1000);
  b.net.upload_params(a.net.download_params());
  b.net.upload_state(a.net.download_state());
  b.trainer.optimizer().upload_velocity(b.net.policy(), a.velocity());
  b.net.generator().set_state(a.net.generator().state());
  const auto la = a.steps(d, 2), lb = b.steps(d, 2);
  CHECK(la == lb);
  CHECK(a.net.download_params() == b.net.download_params());
  CHECK(a.net.download_state() == b.net.download_state());
}

TEST_CASE("inference is a pure function of parameters, state and input", "[graph][determinism]") {
  const sample_batch d;
  run<float> r(42);
  r.steps(d, 1);
  net_t<float>& a = r.net;
  a.set_training(false);
  const auto z1 = a.logits_host(d.images.data(), batch);
  const auto z2 = a.logits_host(d.images.data(), batch);
  CHECK(z1 == z2);
  // A smaller batch gives the same logits for the images it holds (no batch statistics in
  // inference), up to rounding: the GEMMs block differently for another batch size.
  const auto z3 = a.logits_host(d.images.data(), 3);
  for (std::size_t i = 0; i < z3.size(); ++i) CHECK(z3[i] == Approx(z1[i]).epsilon(1e-5).margin(1e-5));
  CHECK(a.predict(d.images.data(), batch).size() == static_cast<std::size_t>(batch));
}
