#pragma once
// Every execution policy implements the op contract of <cnnzoo/ops/policy.hpp>, whose
// descriptors (conv_geometry, activation, image_recipe, step_totals, ...) live one floor below,
// in cnnzoo::ops. They are the policies' vocabulary: inside cnnzoo::exec they are in scope, and
// exec::conv_geometry names the same type as ops::conv_geometry.
#include "../ops/attention.hpp"
#include "../ops/geometry.hpp"
#include "../ops/render.hpp"
#include "../ops/step_totals.hpp"

namespace cnnzoo::exec {
using namespace cnnzoo::ops;
}  // namespace cnnzoo::exec
