// A network small enough that a training run takes a fraction of a second, registered in the
// in-process test programs only (cnnzoo-train does not have it). It has every kind of state the
// trainer must carry across a resume: BatchNorm statistics, momentum and dropout masks.
#include <cnnzoo/cnnzoo.hpp>

#include "trainer_support.hpp"
#include "zoo/entry.hpp"

namespace {

using namespace cnnzoo;

struct tiny_net : seq<conv<conv_args{.out = 8, .kernel = 3, .stride = 2}>, batch_norm, relu,
                      conv<conv_args{.out = 16, .kernel = 3, .stride = 2}>, batch_norm, relu, global_avg_pool,
                      dropout<0.1>, dense<10>> {};

// Its recipe defaults are the table's usual ones: batch 128, 100 epochs, lr 0.1.
const zoo::entry entry_ = zoo::make_entry<tiny_net>(
    {.name = test::tiny_model, .type = "tiny_net (tests/apps/tiny_model.cpp)", .header = "tests/apps/tiny_model.cpp",
     .order = 1000});
const zoo::registration registration_{&entry_};

}  // namespace
