// expect: cnnzoo: conv2d kernel is larger than its padded input
#include <cnnzoo/cnnzoo.hpp>
using namespace cnnzoo;
struct bad : seq<conv<conv_args{.out = 8, .kernel = 5, .pad = padding::valid}>, global_avg_pool, dense<10>> {
  static constexpr shape input{3, 4, 4};
};
static_assert(trainable_params<bad> > 0);
