#pragma once
// Everything a model file needs: layers, combinators, model traits and the network binding.
// Execution policies are included separately (<cnnzoo/exec/eigen.hpp>, <cnnzoo/exec/cuda.hpp>).
#include "graph/concat.hpp"
#include "graph/network.hpp"
#include "graph/identity.hpp"
#include "graph/join.hpp"
#include "graph/model.hpp"
#include "graph/seq.hpp"
#include "layers/activation.hpp"
#include "layers/conv.hpp"
#include "layers/dense.hpp"
#include "layers/dropout.hpp"
#include "layers/norm.hpp"
#include "layers/pool.hpp"
