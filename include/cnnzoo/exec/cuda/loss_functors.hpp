#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda.hpp>"
#endif
// The CUDA policy's arithmetic, one functor per op (see functors.hpp). The loss, fp16 loss scaling,
// device-step state and the optimiser (Eigen: exec/eigen/loss.hpp).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "common_functors.hpp"

namespace cnnzoo::exec::cuda_detail {

// Dynamic loss scaling for fp16, kept on the device so a step needs no host round trip.
struct loss_scale_state {
  float scale = 1.0f, inv_scale = 1.0f;
  int overflow = 0;        // set by the gradient check of the current step
  int good_steps = 0;      // clean steps since the scale last changed
  int skipped_steps = 0;   // steps skipped for non-finite gradients, in total
};

// fp16 loss scaling: which gradients carry the loss scale. The loss (softmax_cross_entropy,
// loss_and_accuracy) multiplies dlogits by the scale, so the scale reaches exactly what the
// backward pass writes from them: the network's own gradient buffer, bound by bind_parameters.
// The rule, applied in sum_of_squares, sgd_update and the device step's clipping:
//  - between a loss and the next update of the bound gradients, a buffer lying inside them
//    carries the scale and is read unscaled; any other buffer is taken as it is;
//  - sgd_update unscales (and checks for overflow, and adapts the scale) only when it is given
//    the whole bound gradient buffer, which ends the scaled stretch; a part of it is refused,
//    since the overflow check and the scale's adaptation are per step, not per part.
struct scaled_gradients {
  const float* begin = nullptr;   // the bound gradient buffer
  std::size_t count = 0;
  bool pending = false;           // a loss was computed since its last update

  bool inside(const float* p, std::size_t n) const noexcept {
    const auto a = reinterpret_cast<std::uintptr_t>(p), b = reinterpret_cast<std::uintptr_t>(begin);
    return begin && a >= b && a + n * sizeof(float) <= b + count * sizeof(float);
  }
  bool overlaps(const float* p, std::size_t n) const noexcept {
    const auto a = reinterpret_cast<std::uintptr_t>(p), b = reinterpret_cast<std::uintptr_t>(begin);
    return begin && n > 0 && a < b + count * sizeof(float) && a + n * sizeof(float) > b;
  }
  bool whole(const float* p, std::size_t n) const noexcept { return begin && p == begin && n == count; }
  // Read by sum_of_squares and clipping: does this buffer still carry the scale?
  bool carries_scale(const float* p, std::size_t n) const noexcept { return pending && inside(p, n); }
  // For sgd_update: true to unscale, false to take the gradients as they are; throws for a
  // part of the bound gradients while they are scaled.
  bool unscale_in_update(const float* p, std::size_t n) const {
    if (!pending || !overlaps(p, n)) return false;
    if (whole(p, n)) return true;
    throw std::logic_error("cnnzoo: sgd_update on part of the bound gradient buffer (" + std::to_string(n) + " of " +
                           std::to_string(count) + " values) while it carries the fp16 loss scale: update the "
                           "whole buffer in one call");
  }
};

// What a device step reads and writes in policy memory (cuda::enable_device_steps).
struct step_inputs {
  double lr = 0;
  std::uint64_t seed = 0;   // XORed into every dropout and drop-path key
  long long step = 0;       // the caller's step number, reported for a non-finite loss
};

struct device_step {
  step_inputs in;           // staged by the host before each step
  float clip_scale = 1.0f;  // written by clip_scale_fn
  int bad = 0;              // this step's loss is not finite: the update is skipped
  ops::step_totals totals;
};

// One row of mean softmax cross-entropy against soft targets, in double as the Eigen policy;
// dlogits are multiplied by the loss scale when there is one.
template <class T>
struct softmax_xent_fn {
  index_t classes; double inv_n; const T* logits; const T* targets; T* dlogits; double* row_loss;
  const loss_scale_state* ls;
  const std::uint8_t* labels = nullptr;    // device steps: count argmax(logits) == label
  unsigned char* row_correct = nullptr;
  CNNZOO_HD void operator()(index_t i) const {
    const T* z = logits + i * classes;
    const T* t = targets + i * classes;
    T* d = dlogits + i * classes;
    double zmax = to_float(z[0]);
    for (index_t k = 1; k < classes; ++k) zmax = to_float(z[k]) > zmax ? to_float(z[k]) : zmax;
    double sum = 0;
    for (index_t k = 0; k < classes; ++k) sum += exp(static_cast<double>(to_float(z[k])) - zmax);
    const double log_sum = zmax + log(sum);
    const double scale = ls ? static_cast<double>(ls->scale) : 1.0;
    double loss = 0;
    for (index_t k = 0; k < classes; ++k) {
      const double logp = static_cast<double>(to_float(z[k])) - log_sum;
      const double tk = to_float(t[k]);
      loss -= tk * logp;
      d[k] = from_float<T>(static_cast<float>((exp(logp) - tk) * inv_n * scale));
    }
    row_loss[i] = loss;
    if (row_correct) {
      index_t best = 0;
      for (index_t k = 1; k < classes; ++k) best = to_float(z[k]) > to_float(z[best]) ? k : best;
      row_correct[i] = best == labels[i] ? 1 : 0;
    }
  }
};

// One thread: the step's loss from the rows, into the totals; a non-finite loss marks the step bad
// (sgd_fn then leaves the parameters alone) and is counted instead.
struct step_finalize_fn {
  index_t n; const double* row_loss; const unsigned char* row_correct; device_step* s;
  CNNZOO_HD void operator()(index_t) const {
    double sum = 0;
    unsigned long long correct = 0;
    for (index_t i = 0; i < n; ++i) {
      sum += row_loss[i];
      correct += row_correct[i];
    }
    const bool bad = !(sum - sum == 0.0);
    s->bad = bad ? 1 : 0;
    s->totals.steps += 1;
    if (bad) {
      if (s->totals.bad_steps == 0) {
        s->totals.first_bad_step = s->in.step;
        s->totals.first_bad_loss = sum / static_cast<double>(n);
      }
      s->totals.bad_steps += 1;
      s->totals.last_loss = sum / static_cast<double>(n);
    } else {
      s->totals.loss_sum += sum;
      s->totals.images += n;
      s->totals.correct += correct;
      s->totals.last_loss = sum / static_cast<double>(n);
    }
  }
};

// One thread: the clipping factor from the per-block sums of squared gradients, which still carry
// the fp16 loss scale when there is one.
struct clip_scale_fn {
  index_t blocks; const double* partial; double clip_norm; const loss_scale_state* ls; device_step* s;
  CNNZOO_HD void operator()(index_t) const {
    double total = 0;
    for (index_t b = 0; b < blocks; ++b) total += partial[b];
    if (ls) total /= static_cast<double>(ls->scale) * static_cast<double>(ls->scale);
    const double norm = sqrt(total);
    s->clip_scale = norm > clip_norm ? static_cast<float>(clip_norm / norm) : 1.0f;
  }
};

struct nonfinite_check_fn {
  const float* g; loss_scale_state* ls;
  CNNZOO_HD void operator()(index_t i) const {
    if (!finite(g[i])) ls->overflow = 1;   // every writer stores the same value: a benign race
  }
};

// Run once per step after the update: back off on overflow, grow after a clean stretch.
struct loss_scale_update_fn {
  loss_scale_state* ls; int growth_interval; bool dynamic;
  const device_step* step = nullptr;   // device steps: a non-finite loss is not an overflow to adapt to
  CNNZOO_HD void operator()(index_t) const {
    if (step && step->bad) {
      ls->overflow = 0;
      return;
    }
    if (ls->overflow) {
      ++ls->skipped_steps;
      if (dynamic) ls->scale = ls->scale * 0.5f < 1.0f ? 1.0f : ls->scale * 0.5f;
      ls->good_steps = 0;
    } else if (dynamic && ++ls->good_steps >= growth_interval) {
      ls->scale = ls->scale * 2.0f > 16777216.0f ? 16777216.0f : ls->scale * 2.0f;
      ls->good_steps = 0;
    }
    ls->inv_scale = 1.0f / ls->scale;
    ls->overflow = 0;
  }
};

// SGD as the Eigen policy (PyTorch's formulation), in double per element. When `work` is set the
// compute-dtype copy of the weights is refreshed in the same pass; with a loss-scale state the
// gradients are unscaled, and the whole step is skipped if any of them was not finite.
template <class T>
struct sgd_fn {
  float* w; const float* grad; float* velocity; const float* decay_mask; T* work;
  double lr, momentum, weight_decay, grad_scale; bool nesterov; const loss_scale_state* ls;
  const device_step* step = nullptr;   // device steps: lr, the clipping factor and the skip flag
  bool clip = false;
  CNNZOO_HD void operator()(index_t i) const {
    if (ls && ls->overflow) return;
    if (step && step->bad) return;
    double gs = ls ? grad_scale * static_cast<double>(ls->inv_scale) : grad_scale;
    if (step && clip) gs *= static_cast<double>(step->clip_scale);
    const double lr = step ? step->in.lr : this->lr;
    const double g = gs * grad[i] + weight_decay * (decay_mask ? decay_mask[i] : 1.0f) * w[i];
    const double v = momentum * velocity[i] + g;
    velocity[i] = static_cast<float>(v);
    const float nw = static_cast<float>(w[i] - lr * (nesterov ? g + momentum * v : v));
    w[i] = nw;
    if (work) work[i] = from_float<T>(nw);
  }
};

}  // namespace cnnzoo::exec::cuda_detail
