// expect: cnnzoo: the branches of sum<>/mean_join<>/residual<> must have the same output shape
#include <cnnzoo/cnnzoo.hpp>
using namespace cnnzoo;
struct bad : seq<sum<conv<conv_args{.out = 8}>, conv<conv_args{.out = 16}>>, global_avg_pool, dense<10>> {};
static_assert(trainable_params<bad> > 0);
