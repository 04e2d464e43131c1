#pragma once
// Model and training configuration as one JSON file a person can write by hand:
//   {"model": {"core": {...}, "readout": {...}, "penalties": {...}, "loss": "mse"},
//    "training": {"optimizer": "adam", "learning_rate": 0.001, ..., "schedule": {...}}}
// Every key is optional (defaults in nn/config.hpp and optim/train_config.hpp); unknown keys and
// wrong types are errors naming the file and the key's path. See configs/ for examples.
#include <string>

#include "nn/config.hpp"
#include "optim/train_config.hpp"

namespace ww::io {

struct Config {
  nn::ModelConfig model;
  optim::TrainConfig training;
};

// `origin` names the text in errors (a file name).
Config parse_config(const std::string& json_text, const std::string& origin);
Config read_config(const std::string& path);
// Complete JSON (every key, defaults included), pretty-printed.
std::string config_to_json(const Config& config);

}  // namespace ww::io
