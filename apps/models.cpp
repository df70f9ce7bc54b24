// cnnzoo-models: one tab-separated line per zoo model, with a header line:
//   name, trainable, keras_total, forward_flops_per_image
// The numbers are the compile-time counts of each model type; scripts check them against the
// seed table from outside.
#include <cstdio>
#include <cstring>

#include "zoo/registry.hpp"

int main(int argc, char** argv) {
  const bool wide = argc > 1 && std::strcmp(argv[1], "--wide") == 0;
  if (argc > 1 && !wide) {
    std::fprintf(stderr, "usage: cnnzoo-models [--wide]\n  --wide  also print the C++ type and header\n");
    return 2;
  }
  std::printf(wide ? "name\ttrainable\tkeras_total\tforward_flops_per_image\ttype\theader\n"
                   : "name\ttrainable\tkeras_total\tforward_flops_per_image\n");
  for (const auto* e : cnnzoo::zoo::models()) {
    const auto& i = e->info;
    std::printf("%s\t%zu\t%zu\t%zu", i.name.c_str(), i.trainable, i.keras_total, i.flops);
    if (wide) std::printf("\t%s\t%s", i.type.c_str(), i.header.c_str());
    std::printf("\n");
  }
  return 0;
}
