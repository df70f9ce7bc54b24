#pragma once
// Whole-model checks of the CUDA policy: one training step (forward, loss, backward) of a model
// bound to cuda<P> against the same model on the fp64 Eigen policy, from identical parameters
// and inputs (rounded to P's type), comparing logits, loss, every parameter gradient and the
// BatchNorm statistics; then inference logits; then a few GPU SGD steps that must lower the loss.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>

#include "gpu_support.hpp"

namespace cnnzoo::testing::gpu {

struct model_tolerance {
  double logits, grads, state;
};
template <class P> constexpr model_tolerance model_tol() {
  if constexpr (std::is_same_v<P, fp32>) return {1e-4, 1e-4, 1e-5};
  else if constexpr (std::is_same_v<P, bf16>) return {5e-2, 1e-1, 2e-2};
  else return {1e-2, 3e-2, 5e-3};
}

inline std::vector<float> images(std::size_t count, std::uint64_t seed) {
  const vec v = random_vector(count, seed);
  return std::vector<float>(v.begin(), v.end());
}

template <class M, class P>
void check_model_parity(int batch) {
  using gpu_net = network<M, exec::cuda<P>>;
  using cpu_net = network<M, exec::eigen<double>>;
  using T = typename exec::cuda<P>::value_type;
  const model_tolerance tol = model_tol<P>();
  // fp16: a fixed loss scale, so the gradients can be compared after dividing it out.
  exec::cuda_options o;
  o.loss_scale = 1024;
  o.dynamic_loss_scale = false;
  gpu_net g(batch, 3, exec::cuda<P>(o));
  cpu_net c(batch, 3);

  // The CPU starts from the GPU's parameters as the GPU computes with them (16-bit weights).
  const std::vector<float> p = g.download_params();
  const vec pr = rounded<T>(vec(p.begin(), p.end()));
  c.upload_params(pr);
  const std::vector<float> s = g.download_state();
  c.upload_state(vec(s.begin(), s.end()));

  const std::vector<float> x = [&] {
    const vec r = rounded<T>(random_vector(std::size_t(batch) * gpu_net::input_shape.size(), 77));
    return std::vector<float>(r.begin(), r.end());
  }();
  std::vector<int> labels(static_cast<std::size_t>(batch));
  for (int i = 0; i < batch; ++i) labels[std::size_t(i)] = (i * 7 + 3) % gpu_net::classes;

  // lr = 0: the step computes everything but leaves the parameters where they were.
  for (auto* opt : {&g.optimizer(), &c.optimizer()}) {
    opt->lr = 0;
    opt->weight_decay = 0;
  }
  const double lg = g.train_step(x.data(), labels.data(), batch, 0.1);
  const double lc = c.train_step(x.data(), labels.data(), batch, 0.1);
  INFO(std::string(exec::cuda<P>::name) << ": loss " << lg << " vs CPU " << lc);
  record("loss", std::abs(lg - lc) / std::abs(lc), tol.logits);
  CHECK(std::abs(lg - lc) <= tol.logits * std::abs(lc));

  const std::size_t nz = std::size_t(batch) * gpu_net::classes;
  std::vector<T> zg(nz);
  g.policy().download(zg.data(), g.logits(batch), nz);
  CNNZOO_CHECK_REL("training logits", widen(zg), vec(c.logits(batch), c.logits(batch) + nz), tol.logits);

  // Gradients, tensor by tensor (the worst is reported), and as one vector.
  const double scale = g.policy().loss_scale();
  const std::vector<float> gg = g.download_grads();
  const vec gc = c.download_grads();
  vec ga(gg.begin(), gg.end());
  for (double& v : ga) v /= scale;
  double worst = 0;
  std::string worst_name;
  for (const tensor_entry& t : g.tensors()) {
    if (t.is_state) continue;
    const auto b = static_cast<std::ptrdiff_t>(t.offset), e = b + static_cast<std::ptrdiff_t>(t.info.count());
    const double err = rel_error(vec(ga.begin() + b, ga.begin() + e), vec(gc.begin() + b, gc.begin() + e));
    if (err > worst) { worst = err; worst_name = t.path; }
  }
  INFO("worst tensor gradient: " << worst_name << " relative error " << worst);
  record("worst tensor gradient (" + worst_name + ")", worst, 5 * tol.grads);
  CNNZOO_CHECK_REL("all gradients", ga, gc, tol.grads);
  CHECK(worst <= 5 * tol.grads);

  const std::vector<float> sg = g.download_state();
  CNNZOO_CHECK_REL("BatchNorm running statistics", vec(sg.begin(), sg.end()), c.download_state(), tol.state);

  // Inference with the running statistics just updated.
  g.set_training(false);
  c.set_training(false);
  const auto yg = g.logits_host(x.data(), batch);
  const auto yc = c.logits_host(x.data(), batch);
  CNNZOO_CHECK_REL("inference logits", widen(yg), yc, tol.logits);
}

template <class M, class P>
void check_gpu_training_lowers_loss(int batch, int steps, double lr, double ratio = 0.7) {
  network<M, exec::cuda<P>> g(batch, 5);
  g.optimizer().lr = lr;
  const auto x = images(std::size_t(batch) * g.input_shape.size(), 91);
  std::vector<int> labels(static_cast<std::size_t>(batch));
  for (int i = 0; i < batch; ++i) labels[std::size_t(i)] = i % g.classes;
  std::vector<double> losses;
  for (int i = 0; i < steps; ++i) losses.push_back(g.train_step(x.data(), labels.data(), batch, 0.0));
  std::string trace;
  for (double l : losses) trace += std::to_string(l) + " ";
  INFO(std::string(exec::cuda<P>::name) << " losses: " << trace << " (skipped steps " << g.policy().skipped_steps() << ")");
  record(std::string("loss ratio last/first over ") + std::to_string(steps) + " steps", losses.back() / losses.front(),
         ratio);
  CHECK(std::all_of(losses.begin(), losses.end(), [](double l) { return std::isfinite(l); }));
  CHECK(losses.back() < ratio * losses.front());
}

}  // namespace cnnzoo::testing::gpu
