#pragma once
// Fusion in an inference-only forward (network::infer): adjacent parts of a seq<> that a policy
// runs as one op, reading the first part's input once and writing only the last part's output.
// No backward follows such a forward, so the outputs between them are never read; a forward that
// a backward may follow (training, a gradient check in inference mode) never fuses.
//
// What fuses, first match from a part on, each where the policy has the optional op (ops/policy.hpp):
//  1. convolution, BatchNorm, activation (conv2d_norm_activation_forward_infer): in inference
//     BatchNorm is a per-channel affine map, which folds into the convolution's weights (scaled)
//     and bias (shifted), and the activation runs on the convolution's output while it is still
//     in cache. Two memory-bound passes over the activations disappear; the folded weights round
//     differently, so the outputs match the unfused ones to fp32 rounding, not bit for bit.
//  2. convolution, BatchNorm (the same op, identity activation): a residual block's last
//     convolution, whose BatchNorm feeds the sum.
//  3. BatchNorm, activation (batch_norm_activation_forward_infer): one pass instead of two, the
//     same arithmetic, so the outputs are those of the unfused forward bit for bit.
// On the CPU the BatchNorm and activation passes were a sixth (ResNet18) to a third (DenseNet100)
// of an inference forward (tests/graph/fusion.cpp checks every case).
//
// Parts are recognised by what they say they are: a convolution by its conv_geometry, a BatchNorm
// by `inference_affine` (per-channel gamma, beta at params, running mean and variance at state),
// an activation by its `activation` constant (activation_layer).
#include <array>
#include <concepts>
#include <cstddef>

#include "../ops/geometry.hpp"
#include "../ops/policy.hpp"
#include "part.hpp"

namespace cnnzoo::detail {

// The most parts one fused op covers.
inline constexpr int max_fused_parts = 3;

// Runs parts i .. i + parts - 1 as one: `slots` are their slots, x the first one's input; the
// output goes to the last one's act.
template <class P>
using fused_fn = void (*)(const pass<P>&, const slot_t<P>* slots, const value_t<P>* x);

template <class P>
struct fused_op {
  fused_fn<P> run = nullptr;
  int parts = 0;
  constexpr explicit operator bool() const noexcept { return run != nullptr; }
};

template <class A>
concept conv_part = requires {
  { A::geometry(1) } -> std::same_as<ops::conv_geometry>;
  { A::weights } -> std::convertible_to<std::size_t>;
};
template <class A>
concept affine_norm_part = requires { requires A::inference_affine; };
template <class A>
concept activation_part = requires {
  { A::activation } -> std::convertible_to<ops::activation>;
};

// Convolution (A), BatchNorm (B) and, unless Act is void, an activation.
template <class P, class A, class B, class Act>
void run_conv_norm_activation(const pass<P>& ps, const slot_t<P>* s, const value_t<P>* x) {
  constexpr ops::activation a = [] {
    if constexpr (std::is_void_v<Act>) return ops::activation::identity;
    else return Act::activation;
  }();
  constexpr ops::conv_geometry probe = A::geometry(1);
  constexpr std::size_t c = B::c;
  const slot_t<P>& conv = s[0];
  const slot_t<P>& norm = s[1];
  ps.policy.conv2d_norm_activation_forward_infer(A::geometry(ps.n), B::geometry(ps.n), a, x, conv.params,
                                                  probe.bias ? conv.params + A::weights : nullptr, norm.params,
                                                  norm.params + c, norm.state, norm.state + c,
                                                  s[std::is_void_v<Act> ? 1 : 2].act);
}

template <class P, class A, class B>
void run_norm_activation(const pass<P>& ps, const slot_t<P>* s, const value_t<P>* x) {
  constexpr std::size_t c = A::c;
  ps.policy.batch_norm_activation_forward_infer(A::geometry(ps.n), B::activation, x, s[0].params, s[0].params + c,
                                                s[0].state, s[0].state + c, s[1].act);
}

// The fused op that starts at part A, followed by B and C (void past the end of the seq), or none.
template <class P, class A, class B, class C>
constexpr fused_op<P> fusion_from() {
  using T = value_t<P>;
  using W = weight_t<P>;
  if constexpr (conv_part<A> && affine_norm_part<B> && ops::fused_conv_norm_activation_ops_of<P, T, W>) {
    if constexpr (activation_part<C>) return {&run_conv_norm_activation<P, A, B, C>, 3};
    else return {&run_conv_norm_activation<P, A, B, void>, 2};
  } else if constexpr (affine_norm_part<A> && activation_part<B> && ops::fused_norm_activation_ops_of<P, T, W>) {
    return {&run_norm_activation<P, A, B>, 2};
  } else {
    return {};
  }
}

}  // namespace cnnzoo::detail
