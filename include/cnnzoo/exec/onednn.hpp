#pragma once
// The oneDNN execution policy: the Eigen policy with its convolutions done by oneDNN's primitives,
// whose kernels are generated at run time for the CPU found, so that one portable binary trains at
// what an AVX-512 or AVX2 machine can do. The trainer's CPU backend where the build has oneDNN
// (CNNZOO_HAVE_ONEDNN, Debian's libdnnl-dev); every other op, the memory and the NCHW layout are
// the Eigen policy's. fp32 only; exec::eigen<double> stays the reference it is checked against
// (tests/exec/onednn.cpp).
//
// Like a network, a policy object is used from one thread at a time: its primitives and buffers are
// its own (a copy gets new ones).
//
//   cnnzoo::network<cnnzoo::models::resnet18, cnnzoo::exec::onednn> net{/*batch=*/32};
//   exec::onednn{threads, exec::onednn::algorithms::direct_only}   // no Winograd (exec/onednn/conv.hpp)
#ifndef CNNZOO_HAVE_ONEDNN
#error "cnnzoo: exec/onednn.hpp needs oneDNN (libdnnl-dev): link DNNL::dnnl and define CNNZOO_HAVE_ONEDNN, as the cnnzoo::cnnzoo target does where it finds oneDNN"
#endif
#include "eigen.hpp"

#define CNNZOO_ONEDNN_POLICY_INTERNAL
#include "onednn/conv.hpp"
#undef CNNZOO_ONEDNN_POLICY_INTERNAL

#include <memory>
#include <string>
#include <string_view>

namespace cnnzoo::exec {

class onednn : public eigen<float> {
public:
  using algorithms = onednn_detail::conv_algorithms;
  static constexpr std::string_view name = "onednn";

  // Threads for oneDNN's and the shared kernels' OpenMP regions (0: all cores).
  explicit onednn(int threads = 0, algorithms a = algorithms::fastest)
      : eigen<float>(threads), conv_(std::make_unique<onednn_detail::conv_engine>(a)) {}
  // A copy builds its own primitives and buffers: two networks never share scratch memory.
  onednn(const onednn& o) : eigen<float>(o), conv_(std::make_unique<onednn_detail::conv_engine>(o.conv_->choice())) {}
  onednn& operator=(const onednn& o) {
    if (this != &o) conv_ = std::make_unique<onednn_detail::conv_engine>(o.conv_->choice());
    return *this;
  }
  onednn(onednn&&) noexcept = default;
  onednn& operator=(onednn&&) noexcept = default;

  void conv2d_forward(const conv_geometry& g, const float* x, const float* w, const float* b, float* y) const {
    conv_->forward(g, x, w, b, y);
  }
  void conv2d_backward(const conv_geometry& g, const float* x, const float* w, const float* dy, float* dx, float* dw,
                       float* db) const {
    conv_->backward(g, x, w, dy, dx, dw, db);
  }

  // Inference: the convolution, BatchNorm on running statistics and activation a as one primitive
  // (graph/fusion.hpp): BatchNorm folded into the weights and bias, the activation a post-op where
  // oneDNN has it (relu, relu6, sigmoid, swish), else one pass over the output.
  void conv2d_norm_activation_forward_infer(const conv_geometry& g, const batch_norm_geometry& bg, activation a,
                                            const float* x, const float* w, const float* b, const float* gamma,
                                            const float* beta, const float* running_mean, const float* running_var,
                                            float* y) const {
    const auto post = onednn_detail::eltwise_for(a);
    conv_->forward_norm_folded(g, bg, post, x, w, b, gamma, beta, running_mean, running_var, y);
    if (!post && a != activation::identity)
      activation_forward(a, static_cast<std::size_t>(g.n) * g.k * g.oh * g.ow, y, y);
  }

  // "winograd" or "direct": what a convolution of this geometry runs here.
  const char* conv_algorithm(const conv_geometry& g) const { return conv_->algorithm_for(g, g.bias); }
  // For the programs' first line: "oneDNN 2.6.3, AVX-512 kernels, Winograd and direct convolutions".
  std::string describe() const {
    const dnnl_version_t* v = dnnl_version();
    return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
           ", " + onednn_detail::isa_name() + " kernels, " +
           (conv_->choice() == algorithms::fastest ? "Winograd and direct" : "direct") + " convolutions";
  }

private:
  // The primitives and buffers change as convolutions run; the policy's ops are const, as on every
  // policy, so they live behind a pointer.
  std::unique_ptr<onednn_detail::conv_engine> conv_;
};

}  // namespace cnnzoo::exec
