#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: the headers of exec/cuda/ are internal; include <cnnzoo/exec/cuda.hpp>"
#endif
// The CUDA policy's own arithmetic, one small struct per op with `operator()(i)` for output
// element (or row, plane, channel) i, one header per op family beside the family's launches
// (<family>.hpp) and the Eigen policy's <family>.hpp. The GPU runs each from one generic
// grid-stride kernel (detail_kernels.hpp). Under a host compiler CNNZOO_HD is empty and these are
// ordinary C++, so the CPU tests run them in a plain loop against the Eigen policy
// (tests/cuda/functors.cpp): the indexing and the formulas are checked on a machine without a GPU,
// and the GPU only adds the launch.
//
// Activations are T (float, __nv_bfloat16 or __half); arithmetic is in float, sums over many
// values and the loss in double; parameters, their gradients and BatchNorm statistics are float.
// Layout: NCHW, as in the Eigen policy.
#include "common_functors.hpp"
#include "activation_functors.hpp"
#include "attention_functors.hpp"
#include "channels_functors.hpp"
#include "dense_functors.hpp"
#include "elementwise_functors.hpp"
#include "loss_functors.hpp"
#include "norm_functors.hpp"
#include "pool_functors.hpp"
