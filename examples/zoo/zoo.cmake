# The zoo, in seed-table order: name (the table's spelling) | C++ type | header.
# examples/CMakeLists.txt generates one translation unit per row (zoo_entry.cpp.in).
set(CNNZOO_ZOO
  "ResNet18|cnnzoo::models::resnet18|cnnzoo/models/resnet.hpp"
  "ResNet50|cnnzoo::models::resnet50|cnnzoo/models/resnet.hpp"
  "WideResNet|cnnzoo::models::wide_resnet_28_10|cnnzoo/models/wide_resnet.hpp"
)
