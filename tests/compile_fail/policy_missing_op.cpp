// expect: cnnzoo: the execution policy lacks a convolution, BatchNorm or activation op
#include <cnnzoo/exec/eigen.hpp>
#include <cnnzoo/graph/network.hpp>
#include <cnnzoo/models/resnet.hpp>
using namespace cnnzoo;
// A CPU policy that forgot the convolution's backward pass.
struct forgetful : exec::eigen<float> {
  void conv2d_backward() const {}
};
network<models::resnet18, forgetful> net{2};
