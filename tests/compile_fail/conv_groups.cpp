// expect: cnnzoo: conv2d input channels must be divisible by groups
#include <cnnzoo/cnnzoo.hpp>
using namespace cnnzoo;
struct bad : seq<conv<conv_args{.out = 8, .kernel = 3, .groups = 2}>, global_avg_pool, dense<10>> {};
static_assert(trainable_params<bad> > 0);
