// expect: cnnzoo: dense expects a flat (features, 1, 1) input
#include <cnnzoo/cnnzoo.hpp>
using namespace cnnzoo;
struct bad : seq<conv<conv_args{.out = 8}>, dense<10>> {};
static_assert(trainable_params<bad> > 0);
