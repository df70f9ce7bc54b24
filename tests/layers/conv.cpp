// conv2d on the Eigen policy against the naive reference (forward, input, weight and bias
// gradients, float and double), the conv layer's wiring of padding and geometry inside a
// network, and finite-difference gradients of every kind of convolution the zoo uses.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "support/gradcheck.hpp"
#include "support/reference.hpp"

using namespace cnnzoo;
namespace ref = cnnzoo::testing::ref;

namespace {

struct conv_case {
  const char* name;
  int n, c, h, w, k, kh, kw;
  int sh, sw, dilation, groups;
  bool same, bias;
};

// Padding as the definition of "same" for an odd dilated extent gives it: half of (extent - 1).
ref::conv_params reference_params(const conv_case& t) {
  ref::conv_params p{t.n, t.c, t.h, t.w, t.k, t.kh, t.kw, t.sh, t.sw, 0, 0, t.dilation, t.dilation, t.groups};
  if (t.same) {
    p.ph = t.dilation * (t.kh - 1) / 2;
    p.pw = t.dilation * (t.kw - 1) / 2;
  }
  return p;
}

ops::conv_geometry geometry(const ref::conv_params& p, bool bias) {
  return {p.n, p.c, p.h, p.w, p.k, p.kh, p.kw, p.sh, p.sw, p.ph, p.pw, p.dh, p.dw, p.groups, p.out_h(), p.out_w(), bias};
}

const conv_case cases[] = {
    {"3x3 same, odd 7x9", 2, 3, 7, 9, 4, 3, 3, 1, 1, 1, 1, true, true},
    {"3x3 valid, 5x5, no bias", 2, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1, false, false},
    {"3x3 same stride 2, 7x9", 2, 3, 7, 9, 5, 3, 3, 2, 2, 1, 1, true, true},
    {"3x3 valid stride 2, 7x9", 3, 2, 7, 9, 4, 3, 3, 2, 2, 1, 1, false, false},
    {"5x5 same, 6x6", 2, 2, 6, 6, 3, 5, 5, 1, 1, 1, 1, true, false},
    {"groups 6 -> 9 in 3 groups", 2, 6, 5, 7, 9, 3, 3, 1, 1, 1, 3, true, true},
    {"groups 4 -> 8 in 2 groups, stride 2", 2, 4, 7, 7, 8, 3, 3, 2, 2, 1, 2, true, false},
    {"depthwise 3x3 same", 2, 5, 7, 9, 5, 3, 3, 1, 1, 1, 5, true, false},
    {"depthwise 3x3 same stride 2, bias", 2, 4, 7, 9, 4, 3, 3, 2, 2, 1, 4, true, true},
    {"depthwise 5x5 dilation 2", 2, 3, 9, 9, 3, 5, 5, 1, 1, 2, 3, true, false},
    {"depthwise multiplier 2 (groups = in, out = 2 in)", 2, 3, 5, 5, 6, 3, 3, 1, 1, 1, 3, true, true},
    {"dilation 2 same", 2, 3, 9, 8, 4, 3, 3, 1, 1, 2, 1, true, false},
    {"dilation 3 same", 2, 2, 9, 11, 3, 3, 3, 1, 1, 3, 1, true, true},
    {"dilation 2 valid", 2, 2, 9, 9, 3, 3, 3, 1, 1, 2, 1, false, false},
    {"1x7 same", 2, 3, 7, 9, 4, 1, 7, 1, 1, 1, 1, true, true},
    {"7x1 same", 2, 3, 9, 7, 4, 7, 1, 1, 1, 1, 1, true, false},
    {"1x7 valid", 2, 2, 5, 9, 3, 1, 7, 1, 1, 1, 1, false, false},
    {"1x1 pointwise (GEMM on the input itself)", 3, 5, 4, 6, 7, 1, 1, 1, 1, 1, 1, false, true},
    {"1x1 stride 2 projection", 2, 4, 7, 7, 6, 1, 1, 2, 2, 1, 1, true, true},
    {"1x1 pointwise groups", 2, 6, 3, 5, 4, 1, 1, 1, 1, 1, 2, false, false},
    {"2x2 valid stride 2 (even window)", 2, 3, 8, 6, 4, 2, 2, 2, 2, 1, 1, false, true},
    {"3x3 stride 1x2 (unequal strides)", 2, 2, 6, 9, 3, 3, 3, 1, 2, 1, 1, true, false},
    {"3x3 single image, single channel", 1, 1, 5, 5, 1, 3, 3, 1, 1, 1, 1, true, true},
    // Batches large enough that the kernel lays several images side by side in one GEMM and
    // splits the batch over threads (the ctest run of this file uses two).
    {"3x3 same, 17 images of 4x4", 17, 3, 4, 4, 5, 3, 3, 1, 1, 1, 1, true, true},
    {"3x3 same stride 2, 9 images of 6x6", 9, 4, 6, 6, 6, 3, 3, 2, 2, 1, 1, true, false},
    {"1x1 pointwise, 33 images of 2x2", 33, 6, 2, 2, 5, 1, 1, 1, 1, 1, 1, false, true},
    {"groups 4 -> 8 in 2 groups, 11 images of 5x5", 11, 4, 5, 5, 8, 3, 3, 1, 1, 1, 2, true, true},
};

template <class T>
void check_params(const ref::conv_params& p, bool bias);

template <class T>
void check_case(const conv_case& t) { check_params<T>(reference_params(t), t.bias); }

// The policy takes height and width strides, padding and dilation separately; the layers only
// use equal ones, but the op must keep the two apart.
const ref::conv_params unequal[] = {
    // n, c, h, w, k, kh, kw, sh, sw, ph, pw, dh, dw, groups
    {2, 3, 9, 8, 4, 3, 3, 1, 2, 2, 1, 2, 1, 1},
    {2, 2, 8, 9, 3, 3, 3, 2, 1, 1, 3, 1, 3, 1},
    {2, 4, 9, 9, 4, 3, 3, 1, 2, 2, 1, 2, 1, 4},    // depthwise
    {2, 3, 8, 9, 3, 3, 5, 2, 1, 1, 6, 1, 3, 3},    // depthwise, 3x5
    {2, 4, 7, 9, 6, 3, 1, 1, 1, 0, 0, 2, 1, 2},    // grouped, valid, 3x1
};

template <class T>
void check_params(const ref::conv_params& p, bool bias) {
  const conv_case t{"", p.n, p.c, p.h, p.w, p.k, p.kh, p.kw, p.sh, p.sw, 1, p.groups, false, bias};
  const ops::conv_geometry g = geometry(p, t.bias);
  const ref::vec x = ref::random_vector(p.in_count(), 1);
  const ref::vec w = ref::random_vector(p.weight_count(), 2, 0.5);
  const ref::vec b = t.bias ? ref::random_vector(static_cast<std::size_t>(p.k), 3) : ref::vec{};
  const ref::vec dy = ref::random_vector(p.out_count(), 4);
  // Round once to T so the reference sees exactly what the policy sees.
  const auto xt = ref::cast<T>(x), wt = ref::cast<T>(w), bt = ref::cast<T>(b), dyt = ref::cast<T>(dy);
  const auto back = [](const std::vector<T>& v) { return ref::vec(v.begin(), v.end()); };

  const double rtol = sizeof(T) == 8 ? 1e-12 : 1e-4, atol = sizeof(T) == 8 ? 1e-12 : 1e-4;
  const T garbage = std::numeric_limits<T>::quiet_NaN();   // outputs must be overwritten, not added to
  exec::eigen<T> pol;

  const ref::vec y_ref = ref::conv2d(p, back(xt), back(wt), back(bt));
  std::vector<T> y(p.out_count(), garbage);
  pol.conv2d_forward(g, xt.data(), wt.data(), t.bias ? bt.data() : nullptr, y.data());
  CNNZOO_CHECK_CLOSE(y.data(), y_ref, rtol, atol);

  const ref::conv_grads gr = ref::conv2d_backward(p, back(xt), back(wt), back(dyt));
  std::vector<T> dx(p.in_count(), garbage), dw(p.weight_count(), garbage), db(static_cast<std::size_t>(p.k), garbage);
  pol.conv2d_backward(g, xt.data(), wt.data(), dyt.data(), dx.data(), dw.data(), t.bias ? db.data() : nullptr);
  CNNZOO_CHECK_CLOSE(dx.data(), gr.dx, rtol, atol);
  CNNZOO_CHECK_CLOSE(dw.data(), gr.dw, rtol, atol);
  if (t.bias) CNNZOO_CHECK_CLOSE(db.data(), gr.db, rtol, atol);

  // Without an input gradient (the first layer of a network) the weight gradient is unchanged.
  std::vector<T> dw2(p.weight_count(), garbage);
  pol.conv2d_backward(g, xt.data(), wt.data(), dyt.data(), nullptr, dw2.data(), nullptr);
  CNNZOO_CHECK_CLOSE(dw2.data(), gr.dw, rtol, atol);
}

// The conv layer inside a network: its padding, output shape and parameter layout, against the
// reference computed from the layer's arguments alone.
template <conv_args A, shape In, class T>
void check_layer() {
  using layer = bind_t<conv<A>, In>;
  using M = testing::as_model<conv<A>, In>;
  const int kw = A.kernel_w ? A.kernel_w : A.kernel;
  const int groups = A.depthwise ? In.c : A.groups;
  const int filters = A.depthwise && A.out == 0 ? In.c : A.out;
  const conv_case t{"layer", 2, In.c, In.h, In.w, filters, A.kernel, kw, A.stride, A.stride, A.dilation, groups,
                    A.pad == padding::same, A.bias};
  const ref::conv_params p = reference_params(t);
  STATIC_REQUIRE(layer::out.c == filters);
  REQUIRE(layer::out.h == p.out_h());
  REQUIRE(layer::out.w == p.out_w());
  REQUIRE(layer::size.params == p.weight_count() + (A.bias ? filters : 0));

  testing::probe<M, T> pr(2, 7, true);
  const ref::vec y = pr.forward();
  const ref::vec y_ref = ref::conv2d(p, pr.x, pr.param(0), A.bias ? pr.param(1) : ref::vec{});
  const double tol = sizeof(T) == 8 ? 1e-12 : 1e-4;
  CNNZOO_CHECK_CLOSE(y.data(), y_ref, tol, tol);

  const ref::vec dy = pr.rounded(ref::random_vector(y.size(), 9));
  const ref::vec dx = pr.backward(dy);
  const ref::conv_grads gr = ref::conv2d_backward(p, pr.x, pr.param(0), dy);
  CNNZOO_CHECK_CLOSE(dx.data(), gr.dx, tol, tol);
  const ref::vec grads = pr.grads();
  CNNZOO_CHECK_CLOSE(pr.slice(grads, 0).data(), gr.dw, tol, tol);
  if constexpr (A.bias) CNNZOO_CHECK_CLOSE(pr.slice(grads, 1).data(), gr.db, tol, tol);
}

template <class T>
void check_layers() {
  check_layer<conv_args{.out = 4, .kernel = 3, .bias = true}, shape{3, 7, 9}, T>();
  check_layer<conv_args{.out = 4, .kernel = 3, .stride = 2}, shape{3, 7, 9}, T>();
  check_layer<conv_args{.out = 3, .kernel = 3, .stride = 2, .pad = padding::valid}, shape{2, 7, 9}, T>();
  check_layer<conv_args{.out = 9, .kernel = 3, .groups = 3, .bias = true}, shape{6, 5, 5}, T>();
  check_layer<conv_args{.kernel = 3, .depthwise = true}, shape{4, 7, 9}, T>();
  check_layer<conv_args{.kernel = 5, .stride = 2, .depthwise = true, .bias = true}, shape{3, 9, 7}, T>();
  check_layer<conv_args{.out = 3, .kernel = 3, .dilation = 2}, shape{2, 9, 9}, T>();
  check_layer<conv_args{.out = 3, .kernel = 3, .dilation = 3, .bias = true}, shape{2, 9, 11}, T>();
  check_layer<conv_args{.out = 4, .kernel = 1, .kernel_w = 7}, shape{3, 7, 9}, T>();
  check_layer<conv_args{.out = 4, .kernel = 7, .kernel_w = 1, .bias = true}, shape{3, 9, 7}, T>();
  check_layer<conv_args{.out = 5, .kernel = 1, .stride = 2, .bias = true}, shape{3, 7, 7}, T>();
}

}  // namespace

TEST_CASE("conv2d forward and backward match the reference in double", "[layers][conv]") {
  for (const conv_case& t : cases) {
    DYNAMIC_SECTION(t.name) { check_case<double>(t); }
  }
}

TEST_CASE("conv2d forward and backward match the reference in float", "[layers][conv]") {
  for (const conv_case& t : cases) {
    DYNAMIC_SECTION(t.name) { check_case<float>(t); }
  }
}

TEST_CASE("conv2d keeps height and width parameters apart", "[layers][conv]") {
  int i = 0;
  for (const ref::conv_params& p : unequal) {
    DYNAMIC_SECTION("case " << i << " double") { check_params<double>(p, i % 2 == 0); }
    DYNAMIC_SECTION("case " << i << " float") { check_params<float>(p, i % 2 == 1); }
    ++i;
  }
}

TEST_CASE("conv layers inside a network match the reference", "[layers][conv]") {
  SECTION("double") { check_layers<double>(); }
  SECTION("float") { check_layers<float>(); }
}

namespace grad {
using testing::as_model;
using same_bias = as_model<conv<conv_args{.out = 4, .kernel = 3, .bias = true}>, shape{3, 7, 9}>;
using valid = as_model<conv<conv_args{.out = 3, .kernel = 3, .pad = padding::valid}>, shape{2, 5, 5}>;
using stride2 = as_model<conv<conv_args{.out = 4, .kernel = 3, .stride = 2}>, shape{3, 7, 9}>;
using grouped = as_model<conv<conv_args{.out = 9, .kernel = 3, .groups = 3, .bias = true}>, shape{6, 5, 5}>;
using depthwise = as_model<conv<conv_args{.kernel = 3, .stride = 2, .depthwise = true, .bias = true}>, shape{4, 7, 9}>;
using dilated2 = as_model<conv<conv_args{.out = 2, .kernel = 3, .dilation = 2}>, shape{2, 9, 9}>;
using dilated3 = as_model<conv<conv_args{.out = 2, .kernel = 3, .dilation = 3, .bias = true}>, shape{2, 9, 9}>;
using one_by_seven = as_model<conv<conv_args{.out = 3, .kernel = 1, .kernel_w = 7}>, shape{2, 5, 9}>;
using seven_by_one = as_model<conv<conv_args{.out = 3, .kernel = 7, .kernel_w = 1}>, shape{2, 9, 5}>;
using pointwise = as_model<conv<conv_args{.out = 5, .kernel = 1, .bias = true}>, shape{3, 4, 4}>;
}  // namespace grad

TEST_CASE("conv layer gradients match finite differences", "[layers][conv][gradcheck]") {
  CNNZOO_CHECK_GRADIENTS(grad::same_bias, {});
  CNNZOO_CHECK_GRADIENTS(grad::valid, {});
  CNNZOO_CHECK_GRADIENTS(grad::stride2, {});
  CNNZOO_CHECK_GRADIENTS(grad::grouped, {});
  CNNZOO_CHECK_GRADIENTS(grad::depthwise, {});
  CNNZOO_CHECK_GRADIENTS(grad::dilated2, {});
  CNNZOO_CHECK_GRADIENTS(grad::dilated3, {});
  CNNZOO_CHECK_GRADIENTS(grad::one_by_seven, {});
  CNNZOO_CHECK_GRADIENTS(grad::seven_by_one, {});
  CNNZOO_CHECK_GRADIENTS(grad::pointwise, {});
}
