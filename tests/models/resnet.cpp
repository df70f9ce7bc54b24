#include <catch2/catch.hpp>
#include <cnnzoo/models/resnet.hpp>
#include <cnnzoo/models/wide_resnet.hpp>
#include <cnnzoo/exec/eigen.hpp>
#include <iostream>

using namespace cnnzoo;
static_assert(trainable_params<models::resnet18> == 11'177'098);
static_assert(keras_total<models::resnet18> == 11'185'034);
static_assert(trainable_params<models::wide_resnet_28_10> == 36'489'322);
static_assert(keras_total<models::wide_resnet_28_10> == 36'507'306);

TEST_CASE("resnet18 forward") {
  network<models::resnet18, exec::eigen<float>> net(2);
  std::vector<float> x(2 * 3 * 32 * 32, 0.5f);
  int labels[2] = {1, 2};
  double l = net.train_step(x.data(), labels, 2);
  std::cout << l << "\n";
  CHECK(std::isfinite(l));
}
