// expect: cnnzoo: residual body and shortcut shapes differ
#include <cnnzoo/cnnzoo.hpp>
using namespace cnnzoo;
struct bad : seq<conv<conv_args{.out = 8}>, residual<conv<conv_args{.out = 8, .stride = 2}>>, global_avg_pool,
                 dense<10>> {};
static_assert(trainable_params<bad> > 0);
