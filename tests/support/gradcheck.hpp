#pragma once
// Finite-difference gradient checks for any model type on the double-precision Eigen policy.
//
// The scalar checked is L = sum(logits * R) for a fixed random R, so every output contributes.
// Analytic gradients (parameters and input) come from one backward pass; numeric ones from
// central differences. Random masks (dropout, drop-path) are fixed by reseeding the network's
// generator before every forward pass, so L is a deterministic function of the inputs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <cnnzoo/cnnzoo.hpp>
#include <cnnzoo/exec/eigen.hpp>

namespace cnnzoo::testing {

struct gradcheck_options {
  int batch = 2;
  bool training = true;
  std::uint64_t seed = 1;
  std::size_t max_param_samples = 400;   // coordinates checked per run (all if fewer)
  std::size_t max_input_samples = 200;
  double step = 1e-5;
  double rtol = 1e-5, atol = 1e-8;
  double param_noise = 0.1;              // added to the initial parameters so gammas are not all 1
};

struct gradcheck_report {
  std::size_t checked = 0, failed = 0;
  double worst = 0;
  std::string first_failure;
};

namespace detail {
inline std::vector<std::size_t> pick(std::size_t count, std::size_t max, rng& g) {
  std::vector<std::size_t> idx;
  if (count <= max) {
    for (std::size_t i = 0; i < count; ++i) idx.push_back(i);
  } else {
    for (std::size_t i = 0; i < max; ++i) idx.push_back(g.below(count));
  }
  return idx;
}
inline void compare(gradcheck_report& r, double analytic, double numeric, const gradcheck_options& o,
                    const std::string& where) {
  ++r.checked;
  const double err = std::abs(analytic - numeric);
  const double scale = std::max(std::abs(analytic), std::abs(numeric));
  r.worst = std::max(r.worst, err / std::max(scale, 1e-12));
  if (err > o.atol + o.rtol * scale) {
    if (r.failed++ == 0) {
      std::ostringstream s;
      s.precision(12);
      s << where << ": analytic " << analytic << " numeric " << numeric;
      r.first_failure = s.str();
    }
  }
}
}  // namespace detail

template <model M>
gradcheck_report gradcheck(const gradcheck_options& o = {}) {
  using net_t = network<M, exec::eigen<double>>;
  net_t net(o.batch, o.seed);
  net.set_training(o.training);
  rng g(o.seed + 17);
  const std::size_t np = net_t::param_count();
  const std::size_t nin = static_cast<std::size_t>(o.batch) * net_t::input_shape.size();
  const std::size_t nout = static_cast<std::size_t>(o.batch) * net_t::classes;
  double* params = net.params();
  for (std::size_t i = 0; i < np; ++i) params[i] += o.param_noise * g.normal();
  double* input = net.input();
  for (std::size_t i = 0; i < nin; ++i) input[i] = g.normal();
  std::vector<double> weights(nout);
  for (double& r : weights) r = g.normal();

  const std::uint64_t mask_seed = o.seed * 7919 + 3;
  auto loss = [&] {
    net.generator().reseed(mask_seed);
    const double* z = net.forward(o.batch);
    double l = 0;
    for (std::size_t i = 0; i < nout; ++i) l += z[i] * weights[i];
    return l;
  };
  // Analytic gradients.
  net.generator().reseed(mask_seed);
  net.forward(o.batch);
  std::vector<double> dinput(nin);
  net.backward(weights.data(), o.batch, dinput.data());
  const std::vector<double> grads(net.grads(), net.grads() + np);

  gradcheck_report r;
  const auto& table = net.tensors();
  auto param_name = [&](std::size_t i) {
    for (const auto& e : table)
      if (!e.is_state && i >= e.offset && i < e.offset + e.info.count())
        return e.path + "[" + std::to_string(i - e.offset) + "]";
    return std::string("param[") + std::to_string(i) + "]";
  };
  // Running statistics move with every training-mode forward; keep them fixed between probes so
  // that inference-mode checks see one function.
  const std::vector<double> state(net.state(), net.state() + net_t::state_count());
  auto restore_state = [&] { std::copy(state.begin(), state.end(), net.state()); };
  for (std::size_t i : detail::pick(np, o.max_param_samples, g)) {
    const double keep = params[i];
    params[i] = keep + o.step; restore_state();
    const double up = loss();
    params[i] = keep - o.step; restore_state();
    const double down = loss();
    params[i] = keep;
    detail::compare(r, grads[i], (up - down) / (2 * o.step), o, param_name(i));
  }
  for (std::size_t i : detail::pick(nin, o.max_input_samples, g)) {
    const double keep = input[i];
    input[i] = keep + o.step; restore_state();
    const double up = loss();
    input[i] = keep - o.step; restore_state();
    const double down = loss();
    input[i] = keep;
    detail::compare(r, dinput[i], (up - down) / (2 * o.step), o, "input[" + std::to_string(i) + "]");
  }
  return r;
}

// Catch2 assertion with a readable failure message.
#define CNNZOO_CHECK_GRADIENTS(Model, ...)                                                        \
  do {                                                                                            \
    const auto report_ = ::cnnzoo::testing::gradcheck<Model>(__VA_ARGS__);                        \
    INFO("checked " << report_.checked << " coordinates, worst relative error " << report_.worst \
                    << "; first failure: " << report_.first_failure);                             \
    CHECK(report_.checked > 0);                                                                   \
    CHECK(report_.failed == 0);                                                                   \
  } while (false)

// A single layer (or any spec with a spatial output) as a model: L on `In`, then flatten.
template <class L, shape In>
struct as_model : seq<L, flatten> {
  static constexpr shape input = In;
};

}  // namespace cnnzoo::testing
