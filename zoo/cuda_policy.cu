// The CUDA policy's device code and op bodies, compiled once for the zoo (all three precisions).
#include <cnnzoo/exec/cuda/kernels.hpp>
