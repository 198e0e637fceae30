#!/usr/bin/env bash
# tools/device_check.sh: the GPU checks of issue 9 in one prepared script, for a GPU machine that
# has nvcc, g++ and CMake but neither Bazel nor the Debian header packages.
#
# On a machine with the Debian packages (here, before going to the GPU machine):
#   tools/device_check.sh --prepare       # copies the headers and libtbb into .gpu_headers/
# On the GPU machine, from the checkout (with .gpu_headers/ carried along):
#   tools/device_check.sh                 # builds, runs the GPU tests and the benchmark, reports
#
# It builds exactly what Bazel builds (the same nvcc flags as bazel/cuda.bzl, the same sources)
# with plain nvcc and g++, runs tests/kernels/{device,pair_score,train_program,train_search,train_supernet,gpu}_test,
# bench/cuda_map_bench and bench/cuda_train_bench, then PyTorch's training step on the same GPU
# (tools/bench_csq_torch.py --device cuda, when python3 has torch), and prints a short report.
# Nothing here is needed by CI or by `bazel test`.
set -euo pipefail
cd "$(dirname "$0")/.."
H=.gpu_headers

if [[ "${1:-}" == "--prepare" ]]; then
  rm -rf "$H" && mkdir -p "$H/include" "$H/lib"
  for d in xsimd xtensor xtl tbb oneapi doctest nlohmann; do cp -r "/usr/include/$d" "$H/include/"; done
  cp /usr/include/zlib.h /usr/include/zconf.h "$H/include/"
  mkdir -p "$H/include/openblas" && cp /usr/include/x86_64-linux-gnu/openblas-pthread/*.h "$H/include/openblas/"
  cp -P /usr/lib/x86_64-linux-gnu/libtbb.so* "$H/lib/"
  cp -L /lib/x86_64-linux-gnu/libz.so.1 "$H/lib/"
  # OpenBLAS (36 MB) and the Fortran runtime it needs travel xz-compressed (the carry limit is 64 MiB)
  for l in /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0 /lib/x86_64-linux-gnu/libgfortran.so.5 \
           /lib/x86_64-linux-gnu/libquadmath.so.0; do
    xz -T2 -c "$l" > "$H/lib/$(basename "$l").xz"
  done
  du -sh "$H"
  exit 0
fi

[[ -d "$H/include" ]] || { echo "device_check: $H/ missing: run tools/device_check.sh --prepare on a machine with the packages"; exit 2; }
for z in "$H"/lib/*.xz; do [[ -e "$z" && ! -e "${z%.xz}" ]] && xz -dc "$z" > "${z%.xz}"; done
ln -sf libopenblas.so.0 "$H/lib/libopenblas.so"
CUDA=${CUDA:-/usr/local/cuda}
NVCC="$CUDA/bin/nvcc"
B=${BUILD_DIR:-/tmp/jaq_device_check}
mkdir -p "$B"
# bazel/cuda.bzl's NVCC_FLAGS, and the host flags of .bazelrc / bazel/copts.bzl (tests: asserts on).
NVCC_FLAGS=(-std=c++20 -O3 --fmad=false --expt-relaxed-constexpr --extended-lambda -Xcompiler=-fPIC
  -gencode=arch=compute_90,code=sm_90 -gencode=arch=compute_90,code=compute_90 -DNDEBUG -Werror=all-warnings)
INC=(-I. -isystem "$H/include" -isystem "$H/include/openblas" -isystem "$CUDA/include")
CXX=${CXX:-g++}
CXXFLAGS=(-std=c++20 -O2 -DJAQ_ENABLE_ASSERTS=1 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
LIBS=(-L"$CUDA/lib64" -lcudart_static -L"$H/lib" -ltbb -lopenblas "$H/lib/libz.so.1" -ldl -lpthread -lrt)

t0=$(date +%s)
echo "== build"
objs=()
for cu in kernels/batchtile.cu kernels/csq.cu kernels/device.cu kernels/fake_quant.cu kernels/train.cu; do
  o="$B/$(basename "$cu" .cu).o"
  "$NVCC" "${NVCC_FLAGS[@]}" "${INC[@]}" -c "$cu" -o "$o" &
  objs+=("$o")
done
"$CXX" "${CXXFLAGS[@]}" "${INC[@]}" -c tests/doctest_main.cpp -o "$B/doctest_main.o" &
wait
for t in device_test pair_score_test train_program_test train_search_test train_supernet_test gpu_test; do
  "$CXX" "${CXXFLAGS[@]}" "${INC[@]}" tests/kernels/$t.cpp "$B/doctest_main.o" "${objs[@]}" "${LIBS[@]}" -o "$B/$t" &
done
"$CXX" "${CXXFLAGS[@]}" -O3 -Wno-restrict "${INC[@]}" bench/cuda_map_bench.cpp "${objs[@]}" "${LIBS[@]}" -o "$B/cuda_map_bench" &
"$CXX" "${CXXFLAGS[@]}" -O3 -Wno-restrict "${INC[@]}" bench/cuda_train_bench.cpp "${objs[@]}" "${LIBS[@]}" -o "$B/cuda_train_bench" &
wait
echo "built in $(( $(date +%s) - t0 )) s"

export LD_LIBRARY_PATH="$PWD/$H/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
rc=0
echo "== tests"
for t in device_test pair_score_test train_program_test train_search_test train_supernet_test gpu_test; do
  if "$B/$t" > "$B/$t.log" 2>&1; then echo "$t: PASSED ($(grep -E '^\[doctest\] assertions' "$B/$t.log"))"; else echo "$t: FAILED"; tail -40 "$B/$t.log"; rc=1; fi
done
grep -h "skipped:" "$B"/*_test.log | sort -u || true
echo "== benchmark"
"$B/cuda_map_bench" --reps "${REPS:-20}" || rc=1
"$B/cuda_train_bench" --batch 256 --reps "${REPS:-20}" --threads "$(nproc)" || rc=1
if python3 -c 'import torch; assert torch.cuda.is_available()' 2> /dev/null; then
  echo "== PyTorch $(python3 -c 'import torch; print(torch.__version__)') on the same GPU"
  python3 tools/bench_csq_torch.py --device cuda --models small-cnn,mbconv-small --modes fp32,lsq4 --batches 256 --steps "${REPS:-20}" || rc=1
else
  echo "== PyTorch: no python3 with CUDA torch here; its figures are missing"
fi
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
echo "device_check: $([[ $rc -eq 0 ]] && echo ok || echo FAILED) in $(( $(date +%s) - t0 )) s"
exit $rc
