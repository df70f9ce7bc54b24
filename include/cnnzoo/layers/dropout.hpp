#pragma once
// Inverted dropout: in training each value is kept with probability 1 - rate and scaled by
// 1 / (1 - rate); in inference it is the identity. The rate in the type is the model's default;
// run_options::dropout overrides every dropout layer at run time (the seed's "more tricks"
// recipe trains SE-WideResNet at 0.1 instead of 0.2 without a new type).
#include "../graph/part.hpp"

namespace cnnzoo {

template <double Rate>
struct dropout {
  static_assert(Rate >= 0.0 && Rate < 1.0, "cnnzoo: dropout rate must be in [0, 1)");
  static constexpr double rate = Rate;
  template <shape In>
  struct bind : part_defaults {
    static constexpr shape in = In, out = In;
    // act: output, then the mask the backward pass multiplies by.
    static constexpr sizes size{0, 0, 2 * out.size(), 0};
    static constexpr std::size_t flops = out.size();

    template <class P>
    static float effective_rate(const pass<P>& ps) noexcept {
      return ps.options.dropout >= 0.0f ? ps.options.dropout : static_cast<float>(Rate);
    }
    template <class P>
    static void forward(const pass<P>& ps, slot_t<P> at, const value_t<P>* x) {
      const std::size_t count = ps.n * out.size();
      if (ps.training)
        ps.policy.dropout_forward(count, effective_rate(ps), ps.key(at.act), x, at.act + count, at.act);
      else
        ps.policy.copy(count, x, at.act);
    }
    template <class P>
    static void backward(const pass<P>& ps, slot_t<P> at, const value_t<P>*, const value_t<P>* dy,
                         value_t<P>* dx) {
      if (!dx) return;
      const std::size_t count = ps.n * out.size();
      if (ps.training) ps.policy.multiply(count, dy, at.act + count, dx);
      else ps.policy.copy(count, dy, dx);
    }
    template <class V>
    static void describe(V& v) {
      v.begin({"dropout", in, out, size, flops});
      v.end();
    }
  };
};

}  // namespace cnnzoo
