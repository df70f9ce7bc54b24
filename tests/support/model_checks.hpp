#pragma once
// Checks every zoo model passes on the CPU: a forward and backward pass at batch 2 with finite
// results of the right shape in training and inference mode, and a few SGD steps on one fixed
// batch that lower its loss.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/train/step.hpp>

namespace cnnzoo::testing {

inline std::vector<float> random_images(int n, shape s, std::uint64_t seed) {
  rng g(seed);
  std::vector<float> x(static_cast<std::size_t>(n) * s.size());
  for (float& v : x) v = static_cast<float>(g.normal());
  return x;
}

inline bool all_finite(const float* p, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

template <model M>
void check_forward_backward(int n = 2) {
  using net_t = network<M, exec::eigen<float>>;
  STATIC_REQUIRE(net_t::output_shape == shape{cifar10_classes, 1, 1});
  net_t net(n, 5);
  const auto x = random_images(n, net_t::input_shape, 11);
  std::vector<int> labels(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) labels[static_cast<std::size_t>(i)] = i % cifar10_classes;

  // Training mode: loss, gradients and the updated parameters are finite.
  train::trainer trainer(net);
  trainer.options().lr = 0.01;
  const double loss = trainer.train_step(x.data(), labels.data(), n, 0.1);
  CHECK(std::isfinite(loss));
  CHECK(all_finite(net.grads(), net_t::param_count()));
  CHECK(all_finite(net.params(), net_t::param_count()));
  double grad_norm = 0;
  for (std::size_t i = 0; i < net_t::param_count(); ++i) grad_norm += double(net.grads()[i]) * net.grads()[i];
  CHECK(grad_norm > 0);

  // Both modes produce (n, classes) finite logits.
  for (bool training : {true, false}) {
    net.set_training(training);
    const auto z = net.logits_host(x.data(), n);
    CHECK(z.size() == static_cast<std::size_t>(n) * cifar10_classes);
    CHECK(all_finite(z.data(), z.size()));
  }
}

// Returns the losses of `steps` SGD steps on one fixed batch.
template <model M>
std::vector<double> sgd_losses(int n = 4, int steps = 6, double lr = 0.02) {
  using net_t = network<M, exec::eigen<float>>;
  net_t net(n, 21);
  train::trainer trainer(net);
  trainer.options().lr = lr;
  trainer.options().weight_decay = 0;
  net.options().dropout = 0.0f;  // the same function at every step
  const auto x = random_images(n, net_t::input_shape, 31);
  std::vector<int> labels(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) labels[static_cast<std::size_t>(i)] = (3 * i + 1) % cifar10_classes;
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) losses.push_back(trainer.train_step(x.data(), labels.data(), n));
  return losses;
}

template <model M>
void check_sgd_lowers_loss(int n = 4, int steps = 6, double lr = 0.02) {
  const auto losses = sgd_losses<M>(n, steps, lr);
  INFO("first loss " << losses.front() << ", last loss " << losses.back());
  CHECK(std::isfinite(losses.back()));
  CHECK(losses.back() < losses.front());
}

}  // namespace cnnzoo::testing
