#pragma once
// The gradient sum of data-parallel training on a host-memory policy (the CPU policies).
//
// Each step every rank computes the gradient of its own images' mean loss; the exchange turns them
// into the gradient of the global batch's mean loss on every rank:
//   - begin_step(local, global) says how many of the step's `global` images are this rank's;
//     a rank's loss gradient is weighted by ranks * local / global (loss_weight, 1 when the global
//     batch splits evenly), so that unequal shares (an epoch's last batch) still average exactly;
//   - reduce() sums the (weighted) loss over the ranks first: a non-finite loss on any rank is
//     then non-finite on every rank, and every rank skips the update together; else it sums the
//     gradients in buckets of at most bucket_bytes, in place, and the optimiser applies
//     grad_scale() = 1 / ranks.
// The ranks' sum is the engine's (dist::communicator::sum), the same bits on every rank, so the
// ranks' weights stay bit-identical step after step.
//
// The sum runs after the whole backward pass. Overlapping it with the backward pass does not pay
// on the CPU: the engine progresses a collective only inside its own calls, and the backward pass
// keeps every core busy.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>

#include "communicator.hpp"

namespace cnnzoo::dist {

class gradient_exchange {
public:
  static constexpr std::size_t default_bucket_bytes = std::size_t{16} << 20;

  explicit gradient_exchange(communicator& ranks, std::size_t bucket_bytes = default_bucket_bytes)
      : ranks_(ranks), bucket_bytes_(std::max<std::size_t>(bucket_bytes, 64)) {}

  communicator& ranks() noexcept { return ranks_; }
  std::size_t bucket_bytes() const noexcept { return bucket_bytes_; }

  // This rank trains on `local` of the step's `global` images (local >= 1).
  void begin_step(int local, int global) {
    if (local < 1 || global < local)
      throw std::invalid_argument("cnnzoo: a rank's share of " + std::to_string(local) + " images of a global batch of " +
                                  std::to_string(global));
    weight_ = static_cast<double>(ranks_.size()) * local / global;
  }
  // The factor on this rank's loss gradient (and loss) for the step begun last.
  double loss_weight() const noexcept { return weight_; }
  // The factor the optimiser applies to the summed gradients.
  double grad_scale() const noexcept { return 1.0 / ranks_.size(); }

  // Sums the loss and the gradients over the ranks; returns the global batch's mean loss (NaN or
  // infinite on every rank when it is on any; the gradients are then left as they are).
  template <class W>
  double reduce(std::span<W> grads, double local_loss) {
    const auto start = std::chrono::steady_clock::now();
    double loss = local_loss * weight_;
    ranks_.sum(std::span<double>(&loss, 1));
    loss /= ranks_.size();
    if (std::isfinite(loss)) {
      const std::size_t bucket = std::max<std::size_t>(bucket_bytes_ / sizeof(W), 1);
      for (std::size_t first = 0; first < grads.size(); first += bucket)
        ranks_.sum(grads.subspan(first, std::min(bucket, grads.size() - first)));
    }
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++calls_;
    return loss;
  }

  // Time spent in reduce() (waiting for the slowest rank included) and calls, since the last take.
  struct timing {
    double seconds = 0;
    long long calls = 0;
  };
  timing take_timing() noexcept {
    const timing t{seconds_, calls_};
    seconds_ = 0;
    calls_ = 0;
    return t;
  }

private:
  communicator& ranks_;
  std::size_t bucket_bytes_;
  double weight_ = 1.0;
  double seconds_ = 0;
  long long calls_ = 0;
};

}  // namespace cnnzoo::dist
