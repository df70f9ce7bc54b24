#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda/kernels.hpp> from one .cu file"
#endif
// The CUDA policy's ops of one family (included by kernels.hpp). Device steps, training steps that
// never wait for the host (exec/cuda.hpp, train/step.hpp): the step state in policy memory, staged
// uploads, the loss and accuracy totals, and the update that reads its learning rate from the
// device.

namespace cnnzoo::exec {

template <class P>
void cuda<P>::enable_device_steps() {
  using namespace cuda_detail;
  auto& c = *ctx_;
  if (!c.step.empty()) return;
  device_step init{};
  auto state = buffer<device_step>(1, stream_, "the device-step state");
  transfer(state.data(), &init, sizeof init, cudaMemcpyHostToDevice, "enable_device_steps");
  c.cublas_workspace = buffer<std::byte>(std::size_t{32} << 20, stream_, "the cuBLAS workspace");
  check_cublas(cublasSetWorkspace(c.cublas, c.cublas_workspace.data(), c.cublas_workspace.size()), "cublasSetWorkspace");
  for (staging_area& a : c.staging) {
    check_cuda(cudaEventCreateWithFlags(&a.copied, cudaEventDisableTiming), "cudaEventCreate");
    a.memory = pinned_buffer(std::size_t{1} << 20);
  }
  c.step = std::move(state);
}

template <class P>
void cuda<P>::set_device_step_active(bool on) const {
  if (on && ctx_->step.empty()) throw std::logic_error("cnnzoo: a device step needs enable_device_steps() first");
  ctx_->device_step_active = on;
}

template <class P>
bool cuda<P>::device_steps_enabled() const noexcept {
  return !ctx_->step.empty();
}

template <class P>
std::uint64_t cuda<P>::memory_generation() const noexcept {
  return cuda_detail::memory_generation.load();
}

template <class P>
void cuda<P>::refresh_compute_weights() const {
  ctx_->refresh();
}

template <class P>
void cuda<P>::stage(void* dst, const void* src, std::size_t bytes) {
  using namespace cuda_detail;
  auto& c = *ctx_;
  if (c.step.empty()) throw std::logic_error("cnnzoo: cuda::stage needs enable_device_steps() first");
  if (bytes == 0) return;
  staging_area& a = c.staging[c.staging_side];
  if (c.staging_used == 0 && a.pending) {
    // The copies of two steps ago must have left this half before it is overwritten; those of the
    // previous step use the other half, so the host stays up to two steps ahead of the GPU.
    check_cuda(cudaEventSynchronize(a.copied), "stage (waiting for earlier uploads)");
    a.pending = false;
  }
  std::size_t offset = (c.staging_used + 15) & ~std::size_t{15};
  if (offset + bytes > a.memory.size()) {
    // Copies queued from this half may still be reading it.
    check_cuda(cudaStreamSynchronize(stream_), "stage (growing the staging memory)");
    a.memory = pinned_buffer(std::max(2 * a.memory.size(), bytes + 16));
    offset = 0;
  }
  std::memcpy(a.memory.data() + offset, src, bytes);
  check_cuda(cudaMemcpyAsync(dst, a.memory.data() + offset, bytes, cudaMemcpyHostToDevice, stream_), "stage", mib(bytes));
  c.staging_used = offset + bytes;
}

template <class P>
void cuda<P>::set_step_inputs(double lr, std::uint64_t seed, std::int64_t step) {
  if (ctx_->step.empty()) throw std::logic_error("cnnzoo: cuda::set_step_inputs needs enable_device_steps() first");
  const cuda_detail::step_inputs in{lr, seed, static_cast<long long>(step)};
  stage(&ctx_->step.data()->in, &in, sizeof in);
}

template <class P>
void cuda<P>::finish_staging() {
  using namespace cuda_detail;
  auto& c = *ctx_;
  if (c.staging_used == 0) return;
  staging_area& a = c.staging[c.staging_side];
  check_cuda(cudaEventRecord(a.copied, stream_), "finish_staging");
  a.pending = true;
  c.staging_used = 0;
  c.staging_side ^= 1;
}

template <class P>
void cuda<P>::loss_and_accuracy(int n, int classes, const T* logits, const T* targets, const std::uint8_t* labels,
                                T* dlogits) const {
  using namespace cuda_detail;
  auto& c = *ctx_;
  if (c.step.empty()) throw std::logic_error("cnnzoo: cuda::loss_and_accuracy needs enable_device_steps() first");
  if (n <= 0) return;
  double* rows = c.step_rows.get(static_cast<std::size_t>(n), stream_);
  unsigned char* correct = c.step_correct.get(static_cast<std::size_t>(n), stream_);
  const loss_scale_state* ls = nullptr;
  if constexpr (context<P>::loss_scaling) {
    ls = c.ls.data();
    c.scaled.pending = true;
  }
  launch_each(stream_, static_cast<index_t>(n),
              softmax_xent_fn<T>{static_cast<index_t>(classes), 1.0 / n, logits, targets, dlogits, rows, ls, labels,
                                 correct},
              "loss_and_accuracy");
  launch_each(stream_, 1, step_finalize_fn{static_cast<index_t>(n), rows, correct, c.step.data()},
              "loss_and_accuracy (totals)");
}

template <class P>
void cuda<P>::sgd_update_device(std::size_t count, W* w, const W* grad, W* velocity, const W* decay_mask,
                                double momentum, double weight_decay, bool nesterov, double clip_norm) const {
  using namespace cuda_detail;
  auto& c = *ctx_;
  if (c.step.empty()) throw std::logic_error("cnnzoo: cuda::sgd_update_device needs enable_device_steps() first");
  const bool clip = clip_norm > 0;
  if (clip) {
    const index_t blocks = reduction_blocks(count);
    double* part = c.clip_partial.get(blocks, stream_);
    launch_sum_of_squares(stream_, grad, count, blocks, part);
    const loss_scale_state* ls = nullptr;
    if constexpr (context<P>::loss_scaling)
      if (c.scaled.carries_scale(grad, count)) ls = c.ls.data();
    launch_each(stream_, 1, clip_scale_fn{blocks, part, clip_norm, ls, c.step.data()}, "sgd_update (clipping)");
  }
  sgd_launch(count, w, grad, velocity, decay_mask, 0.0, momentum, weight_decay, nesterov, 1.0, true, clip);
}

template <class P>
ops::step_totals cuda<P>::take_step_totals() {
  auto& c = *ctx_;
  if (c.step.empty()) throw std::logic_error("cnnzoo: cuda::take_step_totals needs enable_device_steps() first");
  ops::step_totals t;
  ops::step_totals* on_device = &c.step.data()->totals;
  transfer(&t, on_device, sizeof t, cudaMemcpyDeviceToHost, "take_step_totals");
  const ops::step_totals zero{};
  transfer(on_device, &zero, sizeof zero, cudaMemcpyHostToDevice, "take_step_totals (reset)");
  return t;
}

}  // namespace cnnzoo::exec
