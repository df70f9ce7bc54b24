// Shape arithmetic: sizes of shapes, and the output extent of a window under "same" and "valid"
// padding, checked against the closed forms (same: ceil(in / stride); valid: floor((in - extent)
// / stride) + 1) over a grid of sizes, and through the layers that use it.
#include <catch2/catch.hpp>

#include <cnnzoo/cnnzoo.hpp>

using namespace cnnzoo;

static_assert(shape{3, 32, 32}.size() == 3072 && shape{3, 32, 32}.spatial() == 1024);
static_assert(shape{10}.size() == 10 && shape{10} == shape{10, 1, 1});
static_assert(shape{3, 4, 5} != shape{3, 5, 4});
static_assert(cifar10_image == shape{3, 32, 32} && cifar10_classes == 10);

static_assert(detail::effective_extent(3, 1) == 3 && detail::effective_extent(3, 2) == 5 &&
              detail::effective_extent(3, 3) == 7 && detail::effective_extent(1, 5) == 1);
static_assert(detail::pad_for(padding::same, 3, 1) == 1 && detail::pad_for(padding::same, 7, 1) == 3 &&
              detail::pad_for(padding::same, 3, 2) == 2 && detail::pad_for(padding::same, 1, 1) == 0 &&
              detail::pad_for(padding::valid, 5, 3) == 0);
static_assert(detail::out_extent(32, 3, 1, 1, 1) == 32 && detail::out_extent(32, 3, 2, 1, 1) == 16 &&
              detail::out_extent(7, 3, 2, 1, 1) == 4 && detail::out_extent(7, 3, 2, 0, 1) == 3 &&
              detail::out_extent(7, 2, 2, 0, 1) == 3 && detail::out_extent(9, 3, 1, 0, 3) == 3);

// Layers use that arithmetic for their output shapes.
static_assert(bind_t<conv<conv_args{.out = 8, .kernel = 3}>, shape{3, 7, 9}>::out == shape{8, 7, 9});
static_assert(bind_t<conv<conv_args{.out = 8, .kernel = 3, .stride = 2}>, shape{3, 7, 9}>::out == shape{8, 4, 5});
static_assert(bind_t<conv<conv_args{.out = 8, .kernel = 3, .pad = padding::valid}>, shape{3, 7, 9}>::out ==
              shape{8, 5, 7});
static_assert(bind_t<conv<conv_args{.out = 8, .kernel = 3, .stride = 2, .pad = padding::valid}>, shape{3, 7, 9}>::out ==
              shape{8, 3, 4});
static_assert(bind_t<conv<conv_args{.out = 2, .kernel = 3, .dilation = 3}>, shape{3, 7, 9}>::out == shape{2, 7, 9});
static_assert(bind_t<conv<conv_args{.out = 2, .kernel = 3, .pad = padding::valid, .dilation = 3}>,
                     shape{3, 7, 9}>::out == shape{2, 1, 3});
static_assert(bind_t<conv<conv_args{.out = 2, .kernel = 1, .kernel_w = 7}>, shape{3, 7, 9}>::out == shape{2, 7, 9});
static_assert(bind_t<conv<conv_args{.out = 2, .kernel = 1, .kernel_w = 7, .pad = padding::valid}>,
                     shape{3, 7, 9}>::out == shape{2, 7, 3});
static_assert(bind_t<conv<conv_args{.kernel = 3, .stride = 2, .depthwise = true}>, shape{5, 8, 8}>::out ==
              shape{5, 4, 4});
static_assert(bind_t<max_pool<2>, shape{4, 7, 9}>::out == shape{4, 3, 4});
static_assert(bind_t<max_pool<3, 2, padding::same>, shape{4, 7, 9}>::out == shape{4, 4, 5});
static_assert(bind_t<avg_pool<3, 1, padding::same>, shape{4, 7, 9}>::out == shape{4, 7, 9});
static_assert(bind_t<max_pool<3, 2>, shape{4, 7, 9}>::out == shape{4, 3, 4});
static_assert(bind_t<global_avg_pool, shape{4, 7, 9}>::out == shape{4, 1, 1});
static_assert(bind_t<flatten, shape{4, 7, 9}>::out == shape{252, 1, 1});

TEST_CASE("'same' padding gives ceil(in / stride) for every odd extent", "[core][shape]") {
  for (int in = 1; in <= 40; ++in)
    for (int stride = 1; stride <= 4; ++stride)
      for (int kernel : {1, 3, 5, 7})
        for (int dilation = 1; dilation <= 3; ++dilation) {
          const int ext = detail::effective_extent(kernel, dilation);
          const int pad = detail::pad_for(padding::same, kernel, dilation);
          if (in + 2 * pad < ext) continue;   // the layers refuse this at compile time
          INFO("in " << in << " kernel " << kernel << " dilation " << dilation << " stride " << stride);
          CHECK(pad == dilation * (kernel - 1) / 2);
          CHECK(detail::out_extent(in, kernel, stride, pad, dilation) == (in + stride - 1) / stride);
        }
}

TEST_CASE("'valid' padding gives floor((in - extent) / stride) + 1", "[core][shape]") {
  for (int in = 1; in <= 40; ++in)
    for (int stride = 1; stride <= 4; ++stride)
      for (int kernel = 1; kernel <= 7; ++kernel)
        for (int dilation = 1; dilation <= 3; ++dilation) {
          const int ext = dilation * (kernel - 1) + 1;
          if (in < ext) continue;
          INFO("in " << in << " kernel " << kernel << " dilation " << dilation << " stride " << stride);
          CHECK(detail::pad_for(padding::valid, kernel, dilation) == 0);
          const int out = detail::out_extent(in, kernel, stride, 0, dilation);
          CHECK(out == (in - ext) / stride + 1);
          // The last window ends inside the image, and one more would not.
          const int last = (out - 1) * stride;
          CHECK(last + ext <= in);
          CHECK(last + stride + ext > in);
        }
}
