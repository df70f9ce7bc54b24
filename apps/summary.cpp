// cnnzoo-summary MODEL [--depth N]: a Keras-style summary of one zoo model.
// cnnzoo-summary MODEL --tensors: its tensor table, one line per tensor in the order of the
//   parameter and state buffers: name, kind (param or state), shape, offset. These names are the
//   ones weight files use (io/safetensors.hpp).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "zoo/registry.hpp"

int main(int argc, char** argv) {
  std::string name;
  int depth = 2;
  bool tensors = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--depth") == 0 && i + 1 < argc) depth = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--tensors") == 0) tensors = true;
    else if (argv[i][0] != '-' && name.empty()) name = argv[i];
    else {
      std::fprintf(stderr, "cnnzoo-summary: unexpected argument '%s'\n", argv[i]);
      name.clear();
      break;
    }
  }
  if (name.empty()) {
    std::fprintf(stderr, "usage: cnnzoo-summary MODEL [--depth N | --tensors]   (cnnzoo-models lists the models)\n");
    return 2;
  }
  const auto* e = cnnzoo::zoo::find(name);
  if (!e) {
    std::fprintf(stderr, "cnnzoo-summary: no model named '%s'; known models:", name.c_str());
    for (const auto* m : cnnzoo::zoo::models()) std::fprintf(stderr, " %s", m->info.name.c_str());
    std::fprintf(stderr, "\n");
    return 2;
  }
  if (tensors) {
    std::printf("name\tkind\tshape\toffset\n");
    for (const auto& t : e->tensors()) {
      std::string dims;
      for (int d = 0; d < t.info.rank; ++d) dims += (d ? "x" : "") + std::to_string(t.info.dims[d]);
      std::printf("%s\t%s\t%s\t%zu\n", t.path.c_str(), t.is_state ? "state" : "param", dims.c_str(), t.offset);
    }
    return 0;
  }
  e->summary(std::cout, depth);
  return 0;
}
