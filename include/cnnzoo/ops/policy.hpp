#pragma once
// The execution-policy contract: every op a layer, a combinator, the network or the training step
// asks of a policy, with what it means. exec::eigen (the CPU reference) and exec::cuda implement
// it; tests/ops/archetype.cpp holds a policy with exactly these ops and nothing else, and binds
// models to it, so the contract below is the whole contract.
//
// Conventions of every op:
//  - T is P::value_type (activations and their gradients), W is P::weight_type (parameters, their
//    gradients, momentum, BatchNorm statistics). Pointers are policy memory (P::buffer).
//  - Activations are NCHW; parameter layouts are fixed by ops/geometry.hpp.
//  - "Overwritten" outputs are written without being read; an output pointer that may be null is
//    skipped when it is (said per op).
//  - Ops are const on the policy and queue work in order; only download, synchronize and the ops
//    that return a value wait for it.
//  - Random masks are functions of (key, index) only (core/rng.hpp hash_uniform), so every policy
//    draws the same ones from the same key.
//
// Each family is its own concept, so that network<> can say which family a policy lacks
// (static_assert messages starting with "cnnzoo:").
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "attention.hpp"
#include "geometry.hpp"
#include "render.hpp"
#include "step_totals.hpp"

namespace cnnzoo::ops {

// ---- memory ---------------------------------------------------------------------------------------
// P::buffer<U>: an owning array of U in policy memory with data() and size().
// allocate<U>(n): n value-initialised elements. upload/download: n elements from / to host memory
// (download waits). synchronize(): waits for every queued op. bind_parameters(params, grads, n):
// network<> names its flat parameter and gradient buffers once (a policy may keep a compute-dtype
// copy of the weights, or unscale fp16 gradients, only there).
template <class P, class T, class W>
concept memory_ops_of = requires(P& p, const P& cp, T* t, const T* ct, W* w, const W* cw, std::size_t n) {
  { P::name } -> std::convertible_to<std::string_view>;
  { cp.template allocate<T>(n).data() } -> std::same_as<T*>;
  { cp.template allocate<W>(n).size() } -> std::convertible_to<std::size_t>;
  cp.upload(t, ct, n);
  cp.upload(w, cw, n);
  cp.download(t, ct, n);
  cp.download(w, cw, n);
  cp.synchronize();
  p.bind_parameters(w, w, n);
};

// ---- convolution, BatchNorm, activation ---------------------------------------------------------------
// conv2d_forward(g, x, w, b, y): y = x * w (+ b when b is not null), overwritten.
// conv2d_backward(g, x, w, dy, dx, dw, db): dw and db overwritten (db skipped when null), dx
//   overwritten (skipped when null).
// batch_norm_forward(g, training, x, gamma, beta, running_mean, running_var, save_mean,
//   save_invstd, y): training normalises with the batch statistics, saves them and updates the
//   running ones with g.momentum; inference uses the running ones. y overwritten.
// batch_norm_backward(g, training, x, gamma, save_mean, save_invstd, dy, dx, dgamma, dbeta):
//   dgamma, dbeta overwritten; dx overwritten (skipped when null).
// activation_forward(a, n, x, y), activation_backward(a, n, x, y, dy, dx): elementwise; dx
//   overwritten.
template <class P, class T, class W>
concept conv_norm_activation_ops_of = requires(const P& p, const conv_geometry& cg, const batch_norm_geometry& bg,
                                               activation a, bool b, std::size_t n, const T* x, T* y, const W* cw,
                                               W* w) {
  p.conv2d_forward(cg, x, cw, cw, y);
  p.conv2d_backward(cg, x, cw, x, y, w, w);
  p.batch_norm_forward(bg, b, x, cw, cw, w, w, w, w, y);
  p.batch_norm_backward(bg, b, x, cw, cw, cw, x, y, w, w);
  p.activation_forward(a, n, x, y);
  p.activation_backward(a, n, x, x, x, y);
};

// Optional (graph/fusion.hpp runs it where a policy has it, the two ops above where not):
// batch_norm_activation_forward_infer(g, a, x, gamma, beta, running_mean, running_var, y): BatchNorm
//   on the running statistics then activation a, in one pass; y overwritten with exactly what
//   batch_norm_forward (inference) then activation_forward would leave in the second output.
template <class P, class T, class W>
concept fused_norm_activation_ops_of = requires(const P& p, const batch_norm_geometry& bg, activation a, const T* x,
                                                T* y, const W* cw) {
  p.batch_norm_activation_forward_infer(bg, a, x, cw, cw, cw, cw, y);
};

// Optional (graph/fusion.hpp runs it where a policy has it, the parts one by one where not):
// conv2d_norm_activation_forward_infer(cg, bg, a, x, w, b, gamma, beta, running_mean, running_var, y):
//   a convolution (bias b, or none where b is null), BatchNorm on the running statistics and
//   activation a (identity: none) as one op; y overwritten with what the three would leave, up to
//   fp32 rounding (the BatchNorm may be folded into the convolution's weights and bias).
template <class P, class T, class W>
concept fused_conv_norm_activation_ops_of = requires(const P& p, const conv_geometry& cg, const batch_norm_geometry& bg,
                                                     activation a, const T* x, T* y, const W* cw) {
  p.conv2d_norm_activation_forward_infer(cg, bg, a, x, cw, cw, cw, cw, cw, cw, y);
};

// ---- pooling, dense, flatten ------------------------------------------------------------------------------
// pool_forward(k, g, x, y), pool_backward(k, g, x, dy, dx): window pooling (average divides by
//   the window's in-image count); dx overwritten.
// global_pool_forward(k, n, c, hw, x, y) -> (n, c); global_pool_backward(..., x, dy, dx).
// dense_forward(n, in, out, x, w, b, y): y = x w^T (+ b); dense_backward(n, in, out, x, w, dy, dx,
//   dw, db): dw, db overwritten (db skipped when null), dx overwritten (skipped when null).
// flatten_forward(n, c, hw, x, y), flatten_backward(n, c, hw, dy, dx): (n, c, h, w) <-> (n, c*h*w)
//   in NCHW order.
template <class P, class T, class W>
concept pool_dense_ops_of = requires(const P& p, pool_kind k, const pool_geometry& g, int i, const T* x, T* y,
                                     const W* cw, W* w) {
  p.pool_forward(k, g, x, y);
  p.pool_backward(k, g, x, x, y);
  p.global_pool_forward(k, i, i, i, x, y);
  p.global_pool_backward(k, i, i, i, x, x, y);
  p.dense_forward(i, i, i, x, cw, cw, y);
  p.dense_backward(i, i, i, x, cw, x, y, w, w);
  p.flatten_forward(i, i, i, x, y);
  p.flatten_backward(i, i, i, x, y);
};

// ---- elementwise, channel blocks, masks, augmentation -----------------------------------------------------
// copy(n, x, y); fill(n, v, y); add(n, a, b, y): y = a + b; axpby(n, alpha, x, beta, y):
//   y = alpha x + beta y (beta = 0 does not read y); multiply(n, x, m, y): y = x m.
// copy_channels(block, src, dst, accumulate): dst[:, dst_off + j] (+)= src[:, src_off + j].
// dropout_forward(n, rate, key, x, mask, y): inverted dropout, the mask (0 or 1 / (1 - rate)) kept.
// bernoulli_mask(n, drop, rescale, key, mask): mask[i] = 0 with probability drop, else 1 or
//   1 / (1 - drop).
// shuffle_channels(n, c, hw, groups, x, y): y[:, j * groups + g] = x[:, g * (c / groups) + j].
// scale_channels_forward(n, c, hw, x, s, y): y[i, ch, :] = x[i, ch, :] s[i, ch];
//   scale_channels_backward(n, c, hw, x, s, dy, dx, ds, accumulate): ds overwritten (skipped when
//   null), dx overwritten or added to (skipped when null).
// render_batch(g, n, recipes, pixels, norm, out): the augmented, normalised batch from 8-bit
//   images in policy memory, value i = render_value(recipes, pixels, norm, g, i) (ops/render.hpp).
template <class P, class T>
concept elementwise_ops_of = requires(const P& p, std::size_t n, int i, float f, bool b, std::uint64_t key, T v,
                                      const T* x, T* y, const channel_copy& block, const render_geometry& rg,
                                      const image_recipe* recipes, const std::uint8_t* pixels, const float* norm) {
  p.copy(n, x, y);
  p.fill(n, v, y);
  p.add(n, x, x, y);
  p.axpby(n, v, x, v, y);
  p.multiply(n, x, x, y);
  p.copy_channels(block, x, y, b);
  p.dropout_forward(n, f, key, x, y, y);
  p.bernoulli_mask(n, f, b, key, y);
  p.shuffle_channels(i, i, i, i, x, y);
  p.scale_channels_forward(i, i, i, x, x, y);
  p.scale_channels_backward(i, i, i, x, x, x, y, y, b);
  p.render_batch(rg, i, recipes, pixels, norm, y);
};

// ---- attention pieces ----------------------------------------------------------------------------------------
// channel_pool_forward(k, n, c, hw, x, y): y[i, p] = mean or max over channels (y is (n, 1, h, w));
//   channel_pool_backward(k, n, c, hw, x, dy, dx): dx overwritten.
// scale_spatial_forward(n, c, hw, x, s, y): y[i, ch, p] = x[i, ch, p] s[i, p];
//   scale_spatial_backward as scale_channels_backward.
// softmax_forward(g, x, y), softmax_backward(g, y, dy, dx): over channels or groups (ops/attention.hpp).
template <class P, class T>
concept attention_ops_of = requires(const P& p, pool_kind k, int i, bool b, const softmax_geometry& g, const T* x,
                                    T* y) {
  p.channel_pool_forward(k, i, i, i, x, y);
  p.channel_pool_backward(k, i, i, i, x, x, y);
  p.scale_spatial_forward(i, i, i, x, x, y);
  p.scale_spatial_backward(i, i, i, x, x, x, y, y, b);
  p.softmax_forward(g, x, y);
  p.softmax_backward(g, x, x, y);
};

// ---- loss and optimiser ------------------------------------------------------------------------------------------
// softmax_cross_entropy(n, classes, logits, targets, dlogits) -> the mean loss against soft targets
//   (waits); dlogits = (softmax - targets) / n, overwritten (a policy may scale it for fp16, and
//   then unscales the bound gradients it reaches).
// sum_of_squares(n, w) -> sum of w[i]^2 over a weight-typed buffer (waits).
// sgd_update(n, w, grad, velocity, decay_mask, lr, momentum, weight_decay, nesterov, grad_scale):
//   PyTorch's SGD: g = grad_scale grad + weight_decay mask w; v = momentum v + g;
//   w -= lr (nesterov ? g + momentum v : v). decay_mask may be null (all ones).
template <class P, class T, class W>
concept loss_optimizer_ops_of = requires(const P& p, int i, std::size_t n, double d, bool b, const T* x, T* y,
                                         const W* cw, W* w) {
  { p.softmax_cross_entropy(i, i, x, x, y) } -> std::convertible_to<double>;
  { p.sum_of_squares(n, cw) } -> std::convertible_to<double>;
  p.sgd_update(n, w, cw, w, cw, d, d, d, b, d);
};

template <class P> concept memory_ops = memory_ops_of<P, typename P::value_type, typename P::weight_type>;
template <class P>
concept conv_norm_activation_ops = conv_norm_activation_ops_of<P, typename P::value_type, typename P::weight_type>;
template <class P> concept pool_dense_ops = pool_dense_ops_of<P, typename P::value_type, typename P::weight_type>;
template <class P> concept elementwise_ops = elementwise_ops_of<P, typename P::value_type>;
template <class P> concept attention_ops = attention_ops_of<P, typename P::value_type>;
template <class P> concept loss_optimizer_ops = loss_optimizer_ops_of<P, typename P::value_type, typename P::weight_type>;

// Everything network<> and the training step need.
template <class P>
concept execution_policy = requires {
  typename P::value_type;
  typename P::weight_type;
} && memory_ops<P> && conv_norm_activation_ops<P> && pool_dense_ops<P> && elementwise_ops<P> && attention_ops<P> &&
                           loss_optimizer_ops<P>;

// ---- device steps: a training step that never waits for the host (exec::cuda) ----------------------------------
// enable_device_steps(): the step's inputs and totals get policy memory. set_device_step_active(on):
//   between on and off, dropout and drop-path keys are XORed with the step's seed from policy memory.
// stage(dst, src, bytes): an asynchronous upload (the host data may be reused at once);
//   set_step_inputs(lr, seed, step) stages the step's inputs; finish_staging() ends a step's uploads.
// loss_and_accuracy(n, classes, logits, targets, labels, dlogits): the loss, correct count and a
//   non-finite loss accumulate in policy memory; dlogits overwritten.
// sgd_update_device(n, w, grad, velocity, decay_mask, momentum, weight_decay, nesterov, clip_norm):
//   sgd_update with the learning rate (and clipping factor) from policy memory, skipped after a
//   non-finite loss.
// take_step_totals() -> the totals since the last call (waits), reset.
// memory_generation(): changes whenever scratch memory moves (a captured graph must be recaptured);
// refresh_compute_weights(): before replaying a graph, brings a compute-dtype weight copy up to date.
template <class P, class T, class W>
concept device_step_ops_of = requires(P& p, const P& cp, int i, std::size_t n, double d, bool b, std::int64_t s,
                                      std::uint64_t key, const void* src, void* dst, const T* x, T* y, W* w,
                                      const W* cw, const std::uint8_t* labels) {
  p.enable_device_steps();
  { cp.device_steps_enabled() } -> std::convertible_to<bool>;
  cp.set_device_step_active(b);
  p.stage(dst, src, n);
  p.set_step_inputs(d, key, s);
  p.finish_staging();
  cp.loss_and_accuracy(i, i, x, x, labels, y);
  cp.sgd_update_device(n, w, cw, w, cw, d, d, b, d);
  { p.take_step_totals() } -> std::same_as<step_totals>;
  { cp.memory_generation() } -> std::convertible_to<std::uint64_t>;
  cp.refresh_compute_weights();
};
template <class P>
concept device_step_policy =
    execution_policy<P> && device_step_ops_of<P, typename P::value_type, typename P::weight_type>;

}  // namespace cnnzoo::ops
