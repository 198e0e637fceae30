// jaq/fwd.hpp: forward declarations of jaq's main types, for headers that only name them.
// Each module adds its declarations here as it lands.
#pragma once

namespace jaq {
class error;
class config_error;
class data_error;
class model_error;
class hardware_error;
}  // namespace jaq
