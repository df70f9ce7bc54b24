#pragma once
// What a run of training steps did, accumulated where the steps run: on the host for the CPU, in
// GPU memory for the CUDA policy's device steps (read once in a while, so a step never waits for
// the host). Plain data, so device code can update it in place.
namespace cnnzoo::ops {

struct step_totals {
  double loss_sum = 0;                 // sum of the per-image losses of the finite steps
  unsigned long long images = 0;       // images of the finite steps
  unsigned long long correct = 0;      // of those, argmax(logits) == label
  unsigned long long steps = 0;
  unsigned long long bad_steps = 0;    // loss not finite: the parameters were left alone
  long long first_bad_step = -1;       // the caller's number of the first bad step
  double first_bad_loss = 0;           // and its loss (NaN or infinite)
  double last_loss = 0;                // mean loss of the last step

  double mean_loss() const noexcept { return images ? loss_sum / static_cast<double>(images) : 0.0; }
  double accuracy() const noexcept { return images ? static_cast<double>(correct) / static_cast<double>(images) : 0.0; }
};

}  // namespace cnnzoo::ops
