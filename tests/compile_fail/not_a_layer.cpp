// expect: cnnzoo: a part of this network is not a layer
#include <cnnzoo/cnnzoo.hpp>
using namespace cnnzoo;
struct not_a_layer {};
struct bad : seq<conv<conv_args{.out = 8, .kernel = 3}>, not_a_layer, global_avg_pool, dense<10>> {};
static_assert(trainable_params<bad> > 0);
