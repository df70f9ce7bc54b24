#pragma once
// The fastest CPU policy this build has, the one cnnzoo-train, the zoo and the benchmarks run on the
// CPU: exec::onednn where the build found oneDNN (CNNZOO_HAVE_ONEDNN), else exec::eigen<float>.
// Both are fp32, NCHW, and checked against exec::eigen<double>.
//
//   cnnzoo::network<cnnzoo::models::resnet18, cnnzoo::exec::cpu> net{/*batch=*/32};
#ifdef CNNZOO_HAVE_ONEDNN
#include "onednn.hpp"
namespace cnnzoo::exec {
using cpu = onednn;
}
#else
#include "eigen.hpp"
namespace cnnzoo::exec {
using cpu = eigen<float>;
}
#endif
