#pragma once
// Fusion in an inference-only forward (network::infer): two adjacent parts of a seq<> that a policy
// runs as one op, reading the first part's input once and writing only the second part's output.
// No backward follows such a forward, so the output between them is never read; a forward that a
// backward may follow (training, a gradient check in inference mode) never fuses.
//
// The pair so far: BatchNorm on running statistics, then a pointwise activation, where the policy
// has batch_norm_activation_forward_infer (ops/policy.hpp). On the CPU these two memory-bound
// passes were a sixth (ResNet18) to a third (DenseNet100) of an inference forward; fused they
// read and write the activations once instead of twice, with the same arithmetic, so the logits
// are those of the unfused forward (tests/graph/fusion.cpp).
//
// A pair is recognised by what its parts say they are: a part with `inference_affine` (BatchNorm:
// per-channel gamma, beta, running mean and variance at params and state) followed by a part with
// an `activation` constant (activation_layer).
#include <concepts>
#include <cstddef>

#include "../ops/geometry.hpp"
#include "../ops/policy.hpp"
#include "part.hpp"

namespace cnnzoo::detail {

// Runs parts i and i + 1 as one: `first` and `second` are their slots, x the first one's input.
template <class P>
using fused_fn = void (*)(const pass<P>&, slot_t<P> first, slot_t<P> second, const value_t<P>* x);

template <class A, class B>
struct fusion {
  template <class P> static constexpr fused_fn<P> forward = nullptr;
};

template <class A, class B>
concept norm_then_activation = A::inference_affine && requires {
  { B::activation } -> std::convertible_to<ops::activation>;
};

template <class A, class B>
  requires norm_then_activation<A, B>
struct fusion<A, B> {
  template <class P>
  static void run(const pass<P>& ps, slot_t<P> first, slot_t<P> second, const value_t<P>* x) {
    constexpr std::size_t c = A::c;
    ps.policy.batch_norm_activation_forward_infer(A::geometry(ps.n), B::activation, x, first.params, first.params + c,
                                                  first.state, first.state + c, second.act);
  }
  template <class P>
  static constexpr fused_fn<P> forward = [] {
    if constexpr (ops::fused_norm_activation_ops_of<P, value_t<P>, weight_t<P>>)
      return &run<P>;
    else
      return fused_fn<P>{nullptr};
  }();
};

}  // namespace cnnzoo::detail
