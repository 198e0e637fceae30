// kernels/no_cuda.cpp: kernels/device.hpp, the batchtile, fake_quant and csq launchers and the
// device trainer in a build without the CUDA toolkit (`--define=jaq_cuda=off`): every call
// reports that no device can be used, so the programs' --device auto runs on the CPU and
// --device cuda is a clear error.
#include <string>

#include "kernels/csq.hpp"
#include "kernels/detail/batchtile_launch.hpp"
#include "kernels/device.hpp"
#include "kernels/fake_quant.hpp"
#include "kernels/train.hpp"

namespace jaq::cuda {
namespace {
const char* const why = "jaq was built without CUDA (--define=jaq_cuda=off)";
status unavailable() { return {1, why}; }
}  // namespace

device_probe probe() {
  device_probe pr;
  pr.reason = std::string("no CUDA device: ") + why;
  pr.built_with_cuda = false;
  return pr;
}

namespace detail {
status device_alloc(void** ptr, std::size_t, int) {
  *ptr = nullptr;
  return unavailable();
}
void device_free(void*) noexcept {}
status copy_to_device(void*, const void*, std::size_t) { return unavailable(); }
status copy_to_host(void*, const void*, std::size_t) { return unavailable(); }
status device_memset_zero(void*, std::size_t) { return unavailable(); }
status best_pairs(int, flow_id, std::span<const map_job>, std::span<job_best>) { return unavailable(); }
}  // namespace detail

status lsq_forward(const float*, std::int64_t, const float*, quant::qrange, float*) { return unavailable(); }
status lsq_forward_per_channel(const float*, std::int64_t, std::int64_t, const float*, quant::qrange, float*) { return unavailable(); }
status lsq_backward(const float*, const float*, std::int64_t, const float*, quant::qrange, float*, double*) { return unavailable(); }
status lsq_backward_per_channel(const float*, const float*, std::int64_t, std::int64_t, const float*, quant::qrange, float*, double*) {
  return unavailable();
}
status pact_forward(const float*, std::int64_t, const float*, int, float*) { return unavailable(); }
status pact_backward(const float*, const float*, std::int64_t, const float*, float*, double*) { return unavailable(); }
status minmax_range(const float*, std::int64_t, float*) { return unavailable(); }
status minmax_forward(const float*, std::int64_t, const float*, int, float*) { return unavailable(); }
status minmax_backward(const float*, const float*, std::int64_t, const float*, float*) { return unavailable(); }
status csq_stack_input(const csq_shape&, const float*, const csq_channel*, const float*, const quant::qrange*, float*) {
  return unavailable();
}
status csq_stack_weights(const csq_shape&, const float*, const csq_channel*, const float*, const quant::qrange*, const float*,
                         const std::int32_t*, std::int32_t, float*) {
  return unavailable();
}

struct device_trainer::impl {
  train::net nt;
  std::int64_t max_batch = 0;
};
device_trainer::device_trainer(train::net, std::int64_t, int) { throw error(std::string("CUDA: ") + why); }
device_trainer::~device_trainer() = default;
const train::net& device_trainer::net() const { return p_->nt; }
std::int64_t device_trainer::max_batch() const { return p_->max_batch; }
status device_trainer::set_state(std::span<const float>, std::span<const float>, std::span<const float>) { return unavailable(); }
status device_trainer::get_state(std::span<float>, std::span<float>, std::span<float>) const { return unavailable(); }
status device_trainer::get_grads(std::span<float>) const { return unavailable(); }
status device_trainer::step(std::span<const float>, std::span<const std::int32_t>, float, const train::sgd_settings&, train::step_stats&) {
  return unavailable();
}
status device_trainer::step(std::span<const float>, std::span<const std::int32_t>, float, const train::sgd_settings&,
                            const train::step_plan&, train::step_stats&) {
  return unavailable();
}
status device_trainer::get_mixture_grads(std::span<float>) const { return unavailable(); }
status device_trainer::set_mask(std::size_t, std::span<const std::int32_t>) { return unavailable(); }

}  // namespace jaq::cuda
