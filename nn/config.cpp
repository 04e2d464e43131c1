#include "nn/config.hpp"

#include <stdexcept>

namespace ww::nn {

FeatureShape core_output_shape(const ModelConfig& config) {
  FeatureShape s{config.core.input_channels, config.input_height, config.input_width};
  for (std::size_t i = 0; i < config.core.layers.size(); ++i) {
    const LayerSpec& layer = config.core.layers[i];
    if (layer.padding == ops::Padding::valid) {
      if (layer.kernel > s.height || layer.kernel > s.width) {
        throw std::invalid_argument("model: core layer " + std::to_string(i) + " has a " + std::to_string(layer.kernel) +
                                    "x" + std::to_string(layer.kernel) + " kernel but its input is only " +
                                    std::to_string(s.height) + "x" + std::to_string(s.width));
      }
      s.height -= layer.kernel - 1;
      s.width -= layer.kernel - 1;
    }
    s.channels = layer.channels;
  }
  return s;
}

}  // namespace ww::nn
