#pragma once
// A stochastic-depth gate on a residual branch: the whole branch of a sample is kept or dropped.
//
//   drop_path<drop_path_args{.survival = p}>                  Huang et al., "Deep Networks with
//       Stochastic Depth" (ECCV 2016): training y = x * b, b ~ Bernoulli(p) per sample;
//       inference y = x * p (the branch's expected contribution).
//   drop_path<drop_path_args{.survival = p, .rescale = true}> EfficientNet's drop-connect (Tan &
//       Le 2019): training y = x * b / p; inference y = x.
// (In training the policy computes 1 / p in the activation type from the float drop probability,
// as dropout does.)
//
// The drop probability 1 - p is the type's default; run_options::drop_path, when >= 0, multiplies
// it at run time (0 switches every gate off, 1 keeps the defaults, values are clamped to [0, 1]),
// and the effective survival p' = 1 - drop replaces p everywhere above, inference included.
// Sample i is kept when hash_uniform(pass.key(at.act), i) >= drop (the rule dropout uses), so
// every policy draws the same coins from the same step seed. Put the gate last in the branch,
// before the join: residual<seq<..., drop_path<...>>, Shortcut>.
#include <algorithm>

#include "../graph/part.hpp"

namespace cnnzoo {

struct drop_path_args {
  double survival = 1.0;   // probability of keeping a sample's branch
  bool rescale = false;    // divide kept branches by the survival probability (inference: identity)
};

template <drop_path_args A>
struct drop_path {
  static_assert(A.survival > 0.0 && A.survival <= 1.0, "cnnzoo: drop_path survival must be in (0, 1]");
  static constexpr drop_path_args args = A;
  template <shape In>
  struct bind : part_defaults {
    static constexpr shape in = In, out = In;
    // act: output, then one mask value per sample.
    static constexpr sizes size{0, 0, out.size() + 1, 0};
    static constexpr std::size_t flops = out.size();
    static constexpr int per_sample = static_cast<int>(In.size());

    // The drop probability of this pass.
    template <class P>
    static double drop_rate(const pass<P>& ps) noexcept {
      double d = 1.0 - A.survival;
      if (ps.options.drop_path >= 0.0f) d *= static_cast<double>(ps.options.drop_path);
      return std::clamp(d, 0.0, 1.0);
    }
    // The factor inference applies (and training's expectation).
    template <class P>
    static double inference_scale(const pass<P>& ps) noexcept {
      return A.rescale ? 1.0 : 1.0 - drop_rate(ps);
    }

    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      using T = value_t<P>;
      const std::size_t count = ps.n * out.size();
      if (ps.training) {
        T* mask = at.act + count;
        ps.policy.bernoulli_mask(static_cast<std::size_t>(ps.n), static_cast<float>(drop_rate(ps)), A.rescale,
                                 ps.key(at.act), mask);
        ps.policy.scale_channels_forward(ps.n, 1, per_sample, x, mask, at.act);
      } else {
        ps.policy.axpby(count, static_cast<T>(inference_scale(ps)), x, T(0), at.act);
      }
    }
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P> at, const value_t<P>*, const value_t<P>* dy,
                         value_t<P>* dx) {
      using T = value_t<P>;
      if (!dx) return;
      const std::size_t count = ps.n * out.size();
      if (ps.training) ps.policy.scale_channels_forward(ps.n, 1, per_sample, dy, at.act + count, dx);
      else ps.policy.axpby(count, static_cast<T>(inference_scale(ps)), dy, T(0), dx);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({"drop_path", in, out, size, flops});
      v.end();
    }
  };
};

}  // namespace cnnzoo
