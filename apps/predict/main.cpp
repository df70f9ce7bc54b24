// cnnzoo-predict: the top classes of image files, from a zoo model and its weights.
//
//   cnnzoo-predict --weights runs/resnet18/model.safetensors cat.png ship.jpg
//   cnnzoo-predict --model ResNet18 --weights model.safetensors --top 5 --json *.png
#include <iostream>

#include "predict.hpp"

int main(int argc, char** argv) { return cnnzoo::predict::main(argc, argv, std::cout, std::cerr); }
