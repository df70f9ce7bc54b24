#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda/kernels.hpp> from one .cu file"
#endif
// The CUDA policy's ops of one family (included by kernels.hpp). Convolutions: cuDNN, with each
// geometry's algorithms chosen once per process (detail_context.hpp); the bias by a kernel of
// cnnzoo's own. Eigen: exec/eigen/conv.hpp; arithmetic: common_functors.hpp.

namespace cnnzoo::exec {

template <class P>
void cuda<P>::conv2d_forward(const conv_geometry& g, const T* x, const W* w, const W* b, T* y) const {
  using namespace cuda_detail;
  auto& c = *ctx_;
  const auto what = [&] { return g.describe(); };
  const std::size_t wcount = static_cast<std::size_t>(g.k) * (g.c / g.groups) * g.kh * g.kw;
  const T* wt = c.weights(w, wcount, c.weights_tmp);
  conv_plan& p = c.plan(g, alignment_of({x, wt, y}));
  c.choose_forward(p, g, x, wt, y);
  const float one = 1.0f, zero = 0.0f;
  check_cudnn(cudnnConvolutionForward(c.cudnn, &one, p.x.d, x, p.w.d, wt, p.forward_conv.d, p.forward_algo,
                                      c.workspace.data(), p.forward_bytes, &zero, p.y.d, y),
              "conv2d_forward", what);
  if (b) {
    const index_t hw = static_cast<index_t>(g.oh) * g.ow;
    launch_each(stream_, static_cast<index_t>(g.n) * g.k * hw, bias_add_fn<T>{hw, static_cast<index_t>(g.k), b, y},
                "conv2d_forward (bias)");
  }
}

template <class P>
void cuda<P>::conv2d_backward(const conv_geometry& g, const T* x, const W* w, const T* dy, T* dx, W* dw,
                              W* db) const {
  using namespace cuda_detail;
  auto& c = *ctx_;
  const auto what = [&] { return g.describe(); };
  const std::size_t wcount = static_cast<std::size_t>(g.k) * (g.c / g.groups) * g.kh * g.kw;
  const float one = 1.0f, zero = 0.0f;
  if (db) {
    const index_t hw = static_cast<index_t>(g.oh) * g.ow, per = static_cast<index_t>(g.n) * hw;
    const index_t k = static_cast<index_t>(g.k), slices = channel_slices(k, per);
    sum2* part = c.partial.get(k * slices, stream_);
    launch_channel_partials(stream_, sum_x_fn<T>{dy}, k, slices, per, hw, part, "conv2d_backward (bias)");
    launch_each(stream_, k, channel_total_fn{part, slices, db}, "conv2d_backward (bias)");
  }
  // The filter gradient in the compute type, then (16-bit) widened into the float gradients.
  T* dwt;
  if constexpr (std::is_same_v<T, float>) dwt = dw;
  else dwt = c.weight_grad_tmp.get(wcount, stream_);
  conv_plan& pf = c.plan(g, alignment_of({x, dy, dwt}));
  c.choose_filter(pf, g, x, dy, dwt);
  check_cudnn(cudnnConvolutionBackwardFilter(c.cudnn, &one, pf.x.d, x, pf.y.d, dy, pf.filter_conv.d, pf.filter_algo,
                                             c.workspace.data(), pf.filter_bytes, &zero, pf.w.d, dwt),
              "conv2d_backward (filter)", what);
  if constexpr (!std::is_same_v<T, float>)
    launch_each(stream_, wcount, convert_fn<T, float>{dwt, dw}, "conv2d_backward (filter gradient to fp32)");
  if (dx) {
    const T* wt = c.weights(w, wcount, c.weights_tmp);
    conv_plan& pd = c.plan(g, alignment_of({wt, dy, dx}));
    c.choose_data(pd, g, wt, dy, dx);
    check_cudnn(cudnnConvolutionBackwardData(c.cudnn, &one, pd.w.d, wt, pd.y.d, dy, pd.data_conv.d, pd.data_algo,
                                             c.workspace.data(), pd.data_bytes, &zero, pd.x.d, dx),
                "conv2d_backward (data)", what);
  }
}

}  // namespace cnnzoo::exec
