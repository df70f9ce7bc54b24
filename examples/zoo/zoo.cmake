# The zoo, in seed-table order: name (the table's spelling) | C++ type | header.
# examples/CMakeLists.txt generates one translation unit per row (zoo_entry.cpp.in).
set(CNNZOO_ZOO
  "AlexNet|cnnzoo::models::alexnet|cnnzoo/models/alexnet.hpp"
  "NIN|cnnzoo::models::nin|cnnzoo/models/nin.hpp"
  "VGG16|cnnzoo::models::vgg16|cnnzoo/models/vgg.hpp"
  "InceptionV1|cnnzoo::models::inception_v1|cnnzoo/models/inception.hpp"
  "InceptionV2|cnnzoo::models::inception_v2|cnnzoo/models/inception.hpp"
  "InceptionV3|cnnzoo::models::inception_v3|cnnzoo/models/inception.hpp"
  "InceptionV4|cnnzoo::models::inception_v4|cnnzoo/models/inception.hpp"
  "ResNet18|cnnzoo::models::resnet18|cnnzoo/models/resnet.hpp"
  "ResNet50|cnnzoo::models::resnet50|cnnzoo/models/resnet.hpp"
  "DilatedConv|cnnzoo::models::dilated_conv|cnnzoo/models/dilated.hpp"
  "SqueezeNet|cnnzoo::models::squeezenet|cnnzoo/models/squeezenet.hpp"
  "FractalNet|cnnzoo::models::fractalnet|cnnzoo/models/fractalnet.hpp"
  "Xception|cnnzoo::models::xception|cnnzoo/models/xception.hpp"
  "WideResNet|cnnzoo::models::wide_resnet_28_10|cnnzoo/models/wide_resnet.hpp"
  "DenseNet100|cnnzoo::models::densenet100|cnnzoo/models/densenet.hpp"
  "DenseNet121|cnnzoo::models::densenet121|cnnzoo/models/densenet.hpp"
)
