// expect: cnnzoo: the branches of concat<> must have the same height and width
#include <cnnzoo/cnnzoo.hpp>
using namespace cnnzoo;
struct bad : seq<concat<conv<conv_args{.out = 8}>, max_pool<2>>, global_avg_pool, dense<10>> {};
static_assert(trainable_params<bad> > 0);
