// The one CUDA translation unit of the GPU tests: the policy's device code and op bodies for
// fp32, bf16 and fp16. The test files themselves are host C++.
#include <cnnzoo/exec/cuda/kernels.hpp>
