// Runs repeat exactly: two networks built with the same seed hold bit-identical parameters,
// state and momentum after the same training steps (dropout masks, OpenMP reductions and all),
// and a network restored from another's buffers and generator continues identically, which is
// what resuming a run from a checkpoint relies on.
#include <catch2/catch.hpp>

#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/eigen.hpp>

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

template <class T>
std::vector<double> run_steps(net_t<T>& net, const sample_batch& d, int steps) {
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) losses.push_back(net.train_step(d.images.data(), d.labels.data(), batch, 0.1));
  return losses;
}

template <class T>
void check_same_seed() {
  const sample_batch d;
  net_t<T> a(batch, 42), b(batch, 42);
  REQUIRE(a.download_params() == b.download_params());
  const auto la = run_steps(a, d, 3), lb = run_steps(b, d, 3);
  CHECK(la == lb);
  CHECK(a.download_params() == b.download_params());
  CHECK(a.download_state() == b.download_state());
  CHECK(a.download_velocity() == b.download_velocity());
  CHECK(a.generator() == b.generator());
  // A different seed really is a different run.
  net_t<T> c(batch, 43);
  run_steps(c, d, 3);
  CHECK(c.download_params() != a.download_params());
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
  net_t<float> a(batch, 42);
  run_steps(a, d, 2);
  // Resume: another network (another seed) takes a's parameters, state, momentum and generator.
  net_t<float> b(batch, 1000);
  b.upload_params(a.download_params());
  b.upload_state(a.download_state());
  b.upload_velocity(a.download_velocity());
  b.generator().set_state(a.generator().state());
  const auto la = run_steps(a, d, 2), lb = run_steps(b, d, 2);
  CHECK(la == lb);
  CHECK(a.download_params() == b.download_params());
  CHECK(a.download_state() == b.download_state());
}

TEST_CASE("inference is a pure function of parameters, state and input", "[graph][determinism]") {
  const sample_batch d;
  net_t<float> a(batch, 42);
  run_steps(a, d, 1);
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
