// cnnzoo-summary MODEL [--depth N]: a Keras-style summary of one zoo model.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "zoo/registry.hpp"

int main(int argc, char** argv) {
  std::string name;
  int depth = 2;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--depth") == 0 && i + 1 < argc) depth = std::atoi(argv[++i]);
    else if (argv[i][0] != '-' && name.empty()) name = argv[i];
    else {
      std::fprintf(stderr, "cnnzoo-summary: unexpected argument '%s'\n", argv[i]);
      name.clear();
      break;
    }
  }
  if (name.empty()) {
    std::fprintf(stderr, "usage: cnnzoo-summary MODEL [--depth N]   (cnnzoo-models lists the models)\n");
    return 2;
  }
  const auto* e = cnnzoo::zoo::find(name);
  if (!e) {
    std::fprintf(stderr, "cnnzoo-summary: no model named '%s'; known models:", name.c_str());
    for (const auto* m : cnnzoo::zoo::models()) std::fprintf(stderr, " %s", m->info.name.c_str());
    std::fprintf(stderr, "\n");
    return 2;
  }
  e->summary(std::cout, depth);
  return 0;
}
