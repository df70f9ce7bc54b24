// The CUDA policy's device code, compiled once for the program (nvcc).
#include <cnnzoo/exec/cuda/kernels.hpp>
