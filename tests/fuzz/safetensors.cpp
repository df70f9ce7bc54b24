// A weights file on any bytes, loaded as cnnzoo-predict, cnnzoo-export and --init-from load one:
// the safetensors container, the tensor table of a network (the tests' tiny one), the values and
// the input convention in the metadata. A result or an io::weights_error, nothing else.
#include <cnnzoo/io/weights.hpp>

#include <cnnzoo/cnnzoo.hpp>

#include "fuzz_support.hpp"

namespace {
// The tensors of the trainer tests' tiny network (tests/apps/tiny_model.cpp), whose weights file is
// the seed: its dropout (which has no tensors) is a ReLU here, as clang 14 has no floating-point
// template arguments; every tensor keeps its name and shape.
struct tiny_tensors : cnnzoo::seq<cnnzoo::conv<cnnzoo::conv_args{.out = 8, .kernel = 3, .stride = 2}>, cnnzoo::batch_norm,
                                  cnnzoo::relu, cnnzoo::conv<cnnzoo::conv_args{.out = 16, .kernel = 3, .stride = 2}>,
                                  cnnzoo::batch_norm, cnnzoo::relu, cnnzoo::global_avg_pool, cnnzoo::relu,
                                  cnnzoo::dense<10>> {};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cnnzoo;
  static const std::vector<tensor_entry> table = tensor_table<tiny_tensors>();
  static const std::size_t n_params = [] {
    std::size_t n = 0;
    for (const auto& e : table)
      if (!e.is_state) n = std::max(n, e.offset + e.info.count());
    return n;
  }();
  static const std::size_t n_state = [] {
    std::size_t n = 0;
    for (const auto& e : table)
      if (e.is_state) n = std::max(n, e.offset + e.info.count());
    return n;
  }();
  const fuzz::memory_file f(data, size);
  try {
    const io::safetensors_reader reader(f.path());
    std::vector<float> params(n_params), state(n_state);
    io::read_weights(reader, table, params, state, "TestTinyNet");
    (void)io::read_input_convention(reader);
  } catch (const io::weights_error&) {
  }
  return 0;
}
