# The CUDA/cuDNN execution policy is optional: the CPU build never needs nvcc or cuDNN.
# CNNZOO_CUDA=AUTO turns it on when both are found; ON makes their absence an error.
set(CNNZOO_HAVE_CUDA OFF)
if(NOT CNNZOO_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    find_package(CUDAToolkit QUIET)
    find_package(CUDNN QUIET)
  endif()
  if(CMAKE_CUDA_COMPILER AND CUDAToolkit_FOUND AND CUDNN_FOUND)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)   # Hopper (H100/H200)
    endif()
    enable_language(CUDA)
    set(CNNZOO_HAVE_CUDA ON)
    add_library(cnnzoo_cuda INTERFACE)
    add_library(cnnzoo::cuda ALIAS cnnzoo_cuda)
    target_link_libraries(cnnzoo_cuda INTERFACE cnnzoo::cnnzoo CUDA::cudart CUDA::cublas CUDNN::cudnn)
    # CMake 3.25 does not turn CUDA_STANDARD 20 into -std=c++20 for nvcc; say it directly.
    target_compile_options(cnnzoo_cuda INTERFACE
      $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20 --expt-relaxed-constexpr>)
    message(STATUS "cnnzoo: CUDA policy ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, cuDNN ${CUDNN_VERSION}, sm_${CMAKE_CUDA_ARCHITECTURES})")
    # NCCL (shipped with the toolkit here): the CUDA policy's gradient sum across ranks
    # (include/cnnzoo/dist/nccl.hpp), as cnnzoo::nccl.
    find_path(CNNZOO_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
    find_library(CNNZOO_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib
                 ${CUDAToolkit_LIBRARY_ROOT}/lib64)
    if(CNNZOO_NCCL_INCLUDE_DIR AND CNNZOO_NCCL_LIBRARY)
      add_library(cnnzoo_nccl INTERFACE)
      add_library(cnnzoo::nccl ALIAS cnnzoo_nccl)
      target_include_directories(cnnzoo_nccl INTERFACE ${CNNZOO_NCCL_INCLUDE_DIR})
      target_link_libraries(cnnzoo_nccl INTERFACE cnnzoo::cuda ${CNNZOO_NCCL_LIBRARY})
      target_compile_definitions(cnnzoo_nccl INTERFACE CNNZOO_HAVE_NCCL)
      message(STATUS "cnnzoo: NCCL found (${CNNZOO_NCCL_LIBRARY}): dist/nccl.hpp")
    endif()
  elseif(CNNZOO_CUDA STREQUAL "ON")
    message(FATAL_ERROR "cnnzoo: CNNZOO_CUDA=ON but nvcc, the CUDA toolkit or cuDNN was not found "
      "(nvcc: '${CMAKE_CUDA_COMPILER}', cuDNN found: '${CUDNN_FOUND}'). Set CUDNN_ROOT or use CNNZOO_CUDA=AUTO.")
  else()
    message(STATUS "cnnzoo: CUDA policy OFF (nvcc or cuDNN not found); the CPU build is complete without it")
  endif()
endif()
