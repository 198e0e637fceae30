// The C++ side of the Python cross-check: reads the same lines as spec_model.py and prints the
// reference mapper's best mapping in the same format (energy as a hex float, exact).
// `map_rows --energies` prints the per-bit energies the Python side needs.
#include <cstdio>
#include <cstring>
#include <iostream>

#include "jaq/hw/reference_mapper.hpp"

int main(int argc, char** argv) {
  namespace hw = jaq::hw;
  const hw::energy_model em = hw::make_energy_model(hw::reference_config());
  if (argc > 1 && std::strcmp(argv[1], "--energies") == 0) {
    std::printf("%a,%a,%a,%a,%a,%a,%a\n", em.core_nJ_per_cycle, em.wbuf_rd, em.wbuf_wr, em.ibuf_rd, em.ibuf_wr, em.obuf_rd, em.obuf_wr);
    return 0;
  }
  long long f[15];
  while (true) {
    for (long long& x : f)
      if (!(std::cin >> x)) return 0;
    const hw::accel_config cfg{.N = f[9], .M = f[10], .wbuf_bytes = f[11], .ibuf_bytes = f[12], .obuf_bytes = f[13], .if_width = f[14]};
    const hw::layer l{.name = "x",
                      .K = f[0],
                      .O = f[1],
                      .S = f[2],
                      .IC = f[3],
                      .OC = f[4],
                      .B = f[5],
                      .im2col = f[6] != 0,
                      .iprec = static_cast<int>(f[7]),
                      .wprec = static_cast<int>(f[8])};
    // the same per-bit energies for every configuration: the model's arithmetic is the point
    const hw::mapping_result r = hw::map_layer_reference(cfg, l, em);
    if (!r.ok()) {
      std::printf("NOFIT\n");
      continue;
    }
    const hw::layer_mapping& m = r.value();
    const hw::tiling& t = m.tile;
    std::printf(
        "%lld %a %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %s %lld %lld %lld %lld "
        "%lld %lld %lld %lld %lld %lld %s\n",
        (long long)m.total_cycles, m.energy_nJ, (long long)t.b, (long long)t.num_b, (long long)t.ow, (long long)t.num_ow, (long long)t.oh,
        (long long)t.num_oh, (long long)t.ic, (long long)t.num_ic, (long long)t.oc, (long long)t.num_oc, m.order.to_string().c_str(),
        (long long)m.compute_cycles, (long long)m.stall_cycles, (long long)m.dram_rd_bits, (long long)m.dram_wr_bits,
        (long long)m.wbuf_rd_bits, (long long)m.wbuf_wr_bits, (long long)m.ibuf_rd_bits, (long long)m.ibuf_wr_bits,
        (long long)m.obuf_rd_bits, (long long)m.obuf_wr_bits, hw::to_string(m.scheme));
  }
}
