// cnnzoo-train: trains any zoo model on CIFAR-10 by its seed-table name.
//
//   cnnzoo-train --model ResNet18 --data data/cifar10 --epochs 30 --out runs/resnet18
//   cnnzoo-train --model SE-WideResNet_2 --recipe sota --device cuda
//   cnnzoo-train --resume runs/resnet18 --epochs 40
//   cnnzoo-train --list-models
//
// The flags, their ranges and the exit codes: train/cli.cpp and train/exit_codes.hpp.
#include "train/cli.hpp"

int main(int argc, char** argv) { return cnnzoo::trainer::train_main(argc, argv); }
