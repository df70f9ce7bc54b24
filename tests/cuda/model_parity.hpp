#pragma once
// Whole-model checks of the CUDA policy: one training step (forward, loss, backward) of a model
// bound to cuda<P> against the same model on the fp64 Eigen policy, from identical parameters
// and inputs (on a grid every precision holds exactly, so one reference serves fp32, tf32, bf16
// and fp16), comparing logits, loss, every parameter gradient and the BatchNorm statistics; then
// inference logits; then a few GPU SGD steps that must lower the loss.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/train/step.hpp>

#include "gpu_support.hpp"

namespace cnnzoo::testing::gpu {

struct model_tolerance {
  double logits, grads, state;
};
template <class P> constexpr model_tolerance model_tol() {
  if constexpr (std::is_same_v<P, fp32>) return {1e-4, 1e-4, 1e-5};
  else if constexpr (std::is_same_v<P, tf32>) return {5e-3, 1e-2, 1e-3};
  else if constexpr (std::is_same_v<P, bf16>) return {5e-2, 1e-1, 2e-2};
  else return {1e-2, 3e-2, 5e-3};
}

inline std::vector<float> images(std::size_t count, std::uint64_t seed) {
  const vec v = random_vector(count, seed);
  return std::vector<float>(v.begin(), v.end());
}

// A value every precision holds exactly: a bf16 value of magnitude at least 2^-14 (the smallest
// normal fp16), or zero. Its 8 significant bits fit fp16's 11 and fp32's 24, so one set of
// parameters and inputs on this grid is the same set in every precision, and one fp64 reference
// serves them all.
inline double on_common_grid(double v) {
  const float b = static_cast<float>(__nv_bfloat16(static_cast<float>(v)));
  return std::abs(b) < 0x1p-14f ? 0.0 : static_cast<double>(b);
}
inline vec on_common_grid(vec v) {
  for (double& x : v) x = on_common_grid(x);
  return v;
}

// One training step (forward, label-smoothed loss, backward; lr 0) of the fp64 Eigen policy, then
// inference logits with the running statistics it updated: what every GPU precision is checked
// against. Computed once per model, not once per precision.
struct step_reference {
  int batch = 0;
  std::vector<float> params, state, images;
  std::vector<int> labels;
  double loss = 0;
  vec logits, grads, state_after, inference_logits;
};

template <class M>
step_reference reference_step(int batch) {
  using cpu_net = network<M, exec::eigen<double>>;
  cpu_net c(batch, 3);
  step_reference r;
  r.batch = batch;
  const vec p = on_common_grid(c.download_params());
  c.upload_params(p);
  r.params.assign(p.begin(), p.end());
  const vec s0 = c.download_state();   // ones and zeros: on every grid
  r.state.assign(s0.begin(), s0.end());
  const vec x = on_common_grid(random_vector(std::size_t(batch) * cpu_net::input_shape.size(), 77));
  r.images.assign(x.begin(), x.end());
  for (int i = 0; i < batch; ++i) r.labels.push_back((i * 7 + 3) % cpu_net::classes);
  train::trainer ct(c);
  ct.options().lr = 0;   // the step computes everything but leaves the parameters where they were
  ct.options().weight_decay = 0;
  r.loss = ct.train_step(r.images.data(), r.labels.data(), batch, 0.1);
  const std::size_t nz = std::size_t(batch) * cpu_net::classes;
  r.logits.assign(c.logits(batch), c.logits(batch) + nz);
  r.grads = c.download_grads();
  r.state_after = c.download_state();
  c.set_training(false);
  r.inference_logits = c.logits_host(r.images.data(), batch);
  return r;
}

// The same step on the GPU in precision P (fp32, tf32, bf16 or fp16), from the reference's
// parameters, state and images, compared tensor by tensor.
template <class M, class P>
void check_against_reference(const step_reference& r) {
  using policy = typename policy_of<P>::type;
  using gpu_net = network<M, policy>;
  using T = typename policy::value_type;
  const model_tolerance tol = model_tol<P>();
  const int batch = r.batch;
  // fp16: a fixed loss scale, so the gradients can be compared after dividing it out.
  exec::cuda_options o = policy_of<P>::options();
  o.loss_scale = 1024;
  o.dynamic_loss_scale = false;
  gpu_net g(batch, 3, policy(o));
  g.upload_params(r.params);
  g.upload_state(r.state);
  train::trainer gt(g);
  gt.options().lr = 0;
  gt.options().weight_decay = 0;
  const double lg = gt.train_step(r.images.data(), r.labels.data(), batch, 0.1);
  INFO(P::name << ": loss " << lg << " vs CPU " << r.loss);
  record(std::string(P::name) + " loss", std::abs(lg - r.loss) / std::abs(r.loss), tol.logits);
  CHECK(std::abs(lg - r.loss) <= tol.logits * std::abs(r.loss));

  std::vector<T> zg(r.logits.size());
  g.policy().download(zg.data(), g.logits(batch), zg.size());
  CNNZOO_CHECK_REL(std::string(P::name) + " training logits", widen(zg), r.logits, tol.logits);

  // Gradients, tensor by tensor (the worst is reported), and as one vector.
  const double scale = g.policy().loss_scale();
  const std::vector<float> gg = g.download_grads();
  vec ga(gg.begin(), gg.end());
  for (double& v : ga) v /= scale;
  double worst = 0;
  std::string worst_name;
  for (const tensor_entry& t : g.tensors()) {
    if (t.is_state) continue;
    const auto b = static_cast<std::ptrdiff_t>(t.offset), e = b + static_cast<std::ptrdiff_t>(t.info.count());
    const double err = rel_error(vec(ga.begin() + b, ga.begin() + e), vec(r.grads.begin() + b, r.grads.begin() + e));
    if (err > worst) { worst = err; worst_name = t.path; }
  }
  INFO("worst tensor gradient: " << worst_name << " relative error " << worst);
  record(std::string(P::name) + " worst tensor gradient (" + worst_name + ")", worst, 5 * tol.grads);
  CNNZOO_CHECK_REL(std::string(P::name) + " all gradients", ga, r.grads, tol.grads);
  CHECK(worst <= 5 * tol.grads);

  const std::vector<float> sg = g.download_state();
  CNNZOO_CHECK_REL(std::string(P::name) + " BatchNorm running statistics", vec(sg.begin(), sg.end()), r.state_after,
                   tol.state);

  // Inference with the running statistics just updated.
  g.set_training(false);
  const auto yg = g.logits_host(r.images.data(), batch);
  CNNZOO_CHECK_REL(std::string(P::name) + " inference logits", widen(yg), r.inference_logits, tol.logits);
}

// The fp64 reference once, then every GPU precision against it.
template <class M>
void check_model_parity(int batch) {
  const step_reference r = reference_step<M>(batch);
  check_against_reference<M, fp32>(r);
  check_against_reference<M, tf32>(r);
  check_against_reference<M, bf16>(r);
  check_against_reference<M, fp16>(r);
}

template <class M, class P>
void check_gpu_training_lowers_loss(int batch, int steps, double lr, double ratio = 0.7) {
  network<M, exec::cuda<P>> g(batch, 5, exec::cuda<P>(fixed_loss_scale()));
  train::trainer gt(g);
  gt.options().lr = lr;
  const auto x = images(std::size_t(batch) * g.input_shape.size(), 91);
  std::vector<int> labels(static_cast<std::size_t>(batch));
  for (int i = 0; i < batch; ++i) labels[std::size_t(i)] = i % g.classes;
  std::vector<double> losses;
  for (int i = 0; i < steps; ++i) losses.push_back(gt.train_step(x.data(), labels.data(), batch, 0.0));
  std::string trace;
  for (double l : losses) trace += std::to_string(l) + " ";
  INFO(std::string(exec::cuda<P>::name) << " losses: " << trace << " (skipped steps " << g.policy().skipped_steps() << ")");
  record(std::string("loss ratio last/first over ") + std::to_string(steps) + " steps", losses.back() / losses.front(),
         ratio);
  CHECK(std::all_of(losses.begin(), losses.end(), [](double l) { return std::isfinite(l); }));
  CHECK(losses.back() < ratio * losses.front());
}

}  // namespace cnnzoo::testing::gpu
