#include "io/config.hpp"

#include <nlohmann/json.hpp>

#include <set>

#include "io/atomic_file.hpp"
#include "io/npy.hpp"

namespace ww::io {
namespace {

using nlohmann::json;

// Reads one JSON object, checking every key is known and every value has the right type.
class ObjectReader {
 public:
  ObjectReader(const json& object, std::string path, const std::string& origin) : object_(object), path_(std::move(path)), origin_(origin) {
    if (!object_.is_object()) fail(path_, "expected an object");
  }
  ~ObjectReader() noexcept(false) {
    if (std::uncaught_exceptions() > 0) return;
    for (const auto& item : object_.items()) {
      if (!used_.count(item.key())) fail(path_ + "." + item.key(), "unknown key");
    }
  }

  template <class T>
  void read(const char* key, T& value) {
    used_.insert(key);
    const auto found = object_.find(key);
    if (found == object_.end()) return;
    try {
      if constexpr (std::is_same_v<T, bool>) {
        if (!found->is_boolean()) throw std::invalid_argument("expected true or false");
      } else if constexpr (std::is_integral_v<T>) {
        if (!found->is_number_integer()) throw std::invalid_argument("expected an integer");
      } else if constexpr (std::is_floating_point_v<T>) {
        if (!found->is_number()) throw std::invalid_argument("expected a number");
      }
      value = found->get<T>();
    } catch (const std::exception& e) {
      fail(path_ + "." + key, e.what());
    }
  }

  // A string from a fixed set of names, mapped to an enum value.
  template <class E, std::size_t N>
  void read_choice(const char* key, E& value, const nn::EnumName<E> (&choices)[N]) {
    std::string name;
    read(key, name);
    if (name.empty()) return;
    std::string known;
    for (const nn::EnumName<E>& choice : choices) {
      if (name == choice.name) {
        value = choice.value;
        return;
      }
      known += std::string(known.empty() ? "" : ", ") + choice.name;
    }
    fail(path_ + "." + key, "'" + name + "' is not one of " + known);
  }

  const json* child(const char* key) {
    used_.insert(key);
    const auto found = object_.find(key);
    return found == object_.end() ? nullptr : &*found;
  }
  std::string path_of(const std::string& key) const { return path_ + "." + key; }
  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw FormatError(origin_ + ": " + path + ": " + what);
  }

 private:
  const json& object_;
  std::string path_;
  const std::string& origin_;
  std::set<std::string> used_;
};

constexpr nn::EnumName<ops::Padding> padding_names[] = {{"valid", ops::Padding::valid}, {"same", ops::Padding::same}};
constexpr nn::EnumName<optim::OptimizerKind> optimizer_names[] = {{"adam", optim::OptimizerKind::adam},
                                                                  {"sgd", optim::OptimizerKind::sgd}};

void read_layer(const json& j, const std::string& path, const std::string& origin, nn::LayerSpec& layer) {
  ObjectReader r(j, path, origin);
  r.read("channels", layer.channels);
  r.read("kernel", layer.kernel);
  r.read_choice("padding", layer.padding, padding_names);
  r.read("batch_norm", layer.batch_norm);
  r.read("bn_center", layer.bn_center);
  r.read("bn_scale", layer.bn_scale);
  r.read_choice("nonlinearity", layer.nonlinearity, nn::nonlinearity_names);
}

void read_model(const json& j, const std::string& origin, nn::ModelConfig& m) {
  ObjectReader r(j, "model", origin);
  if (const json* core = r.child("core")) {
    ObjectReader c(*core, "model.core", origin);
    c.read("input_channels", m.core.input_channels);
    if (const json* layers = c.child("layers")) {
      if (!layers->is_array()) c.fail("model.core.layers", "expected a list of layers");
      m.core.layers.clear();
      for (std::size_t i = 0; i < layers->size(); ++i) {
        m.core.layers.emplace_back();
        read_layer((*layers)[i], "model.core.layers[" + std::to_string(i) + "]", origin, m.core.layers.back());
      }
    }
  }
  if (const json* readout = r.child("readout")) {
    ObjectReader o(*readout, "model.readout", origin);
    o.read_choice("kind", m.readout.kind, nn::readout_kind_names);
    o.read("positive", m.readout.positive);
    o.read("normalize_features", m.readout.normalize_features);
    o.read("bias", m.readout.bias);
    o.read_choice("output", m.readout.output, nn::nonlinearity_names);
    o.read_choice("covariance", m.readout.covariance, nn::covariance_names);
    o.read_choice("location_init", m.readout.location_init, nn::location_init_names);
    o.read("init_mu_range", m.readout.init_mu_range);
    o.read("init_sigma", m.readout.init_sigma);
    o.read("coordinate_dimensions", m.readout.coordinate_dimensions);
    o.read("position_hidden_layers", m.readout.position_hidden_layers);
    o.read("position_hidden_features", m.readout.position_hidden_features);
  }
  if (const json* penalties = r.child("penalties")) {
    ObjectReader p(*penalties, "model.penalties", origin);
    p.read("smoothness", m.penalties.smoothness);
    p.read("smoothness_normalized", m.penalties.smoothness_normalized);
    p.read("group_sparsity", m.penalties.group_sparsity);
    p.read("kernel_l2", m.penalties.kernel_l2);
    p.read("mask_l1", m.penalties.mask_l1);
    p.read("feature_l1", m.penalties.feature_l1);
    p.read("readout_product", m.penalties.readout_product);
    p.read("readout_l2", m.penalties.readout_l2);
    p.read("activity_l1", m.penalties.activity_l1);
  }
  r.read_choice("loss", m.loss, nn::loss_names);
  r.read("input_height", m.input_height);
  r.read("input_width", m.input_width);
  r.read("neurons", m.neurons);
  if (const json* recordings = r.child("recordings")) {
    if (!recordings->is_array()) r.fail("model.recordings", "expected a list of {\"key\", \"neurons\"}");
    for (std::size_t i = 0; i < recordings->size(); ++i) {
      ObjectReader e((*recordings)[i], "model.recordings[" + std::to_string(i) + "]", origin);
      m.recordings.emplace_back();
      e.read("key", m.recordings.back().key);
      e.read("neurons", m.recordings.back().neurons);
    }
  }
}

void read_training(const json& j, const std::string& origin, optim::TrainConfig& t) {
  ObjectReader r(j, "training", origin);
  r.read_choice("optimizer", t.optimizer, optimizer_names);
  r.read("learning_rate", t.learning_rate);
  r.read("momentum", t.momentum);
  r.read("batch_size", t.batch_size);
  r.read("validation_fraction", t.validation_fraction);
  r.read("seed", t.seed);
  r.read("init_from_data", t.init_from_data);
  r.read("search_locations", t.search_locations);
  r.read("normalize", t.normalize);
  r.read("freeze_core", t.freeze_core);
  if (const json* schedule = r.child("schedule")) {
    ObjectReader s(*schedule, "training.schedule", origin);
    s.read("eval_every", t.schedule.eval_every);
    s.read("patience", t.schedule.patience);
    s.read("decay", t.schedule.decay);
    s.read("max_decays", t.schedule.max_decays);
    s.read("max_steps", t.schedule.max_steps);
  }
}

void validate(const Config& c, const std::string& origin) {
  auto fail = [&origin](const std::string& path, const std::string& what) { throw FormatError(origin + ": " + path + ": " + what); };
  if (c.model.core.layers.empty()) fail("model.core.layers", "the core needs at least one layer");
  for (std::size_t i = 0; i < c.model.core.layers.size(); ++i) {
    const auto& l = c.model.core.layers[i];
    if (l.channels <= 0 || l.kernel <= 0) fail("model.core.layers[" + std::to_string(i) + "]", "channels and kernel must be positive");
  }
  if (c.training.batch_size <= 0) fail("training.batch_size", "must be positive");
  if (!(c.training.learning_rate > 0)) fail("training.learning_rate", "must be positive");
  if (!(c.training.validation_fraction > 0 && c.training.validation_fraction < 1)) fail("training.validation_fraction", "must be in (0, 1)");
  const auto& s = c.training.schedule;
  if (s.eval_every <= 0 || s.patience <= 0 || s.max_decays < 0 || s.max_steps <= 0) {
    fail("training.schedule", "eval_every, patience and max_steps must be positive, max_decays not negative");
  }
  if (!(s.decay > 0 && s.decay < 1)) fail("training.schedule.decay", "must be in (0, 1)");
}


}  // namespace

Config parse_config(const std::string& json_text, const std::string& origin) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw FormatError(origin + ": not valid JSON: " + e.what());
  }
  Config config;
  {
    ObjectReader r(root, "(top level)", origin);
    if (const json* model = r.child("model")) read_model(*model, origin, config.model);
    if (const json* training = r.child("training")) read_training(*training, origin, config.training);
  }
  validate(config, origin);
  return config;
}

Config read_config(const std::string& path) {
  const std::vector<char> bytes = read_file(path);
  return parse_config(std::string(bytes.begin(), bytes.end()), path);
}

std::string config_to_json(const Config& c) {
  json layers = json::array();
  for (const auto& l : c.model.core.layers) {
    layers.push_back({{"channels", l.channels}, {"kernel", l.kernel}, {"padding", nn::name_of(padding_names, l.padding)},
                      {"batch_norm", l.batch_norm}, {"bn_center", l.bn_center}, {"bn_scale", l.bn_scale},
                      {"nonlinearity", nn::to_string(l.nonlinearity)}});
  }
  json recordings = json::array();
  for (const nn::RecordingShape& r : c.model.recordings) recordings.push_back({{"key", r.key}, {"neurons", r.neurons}});
  const auto& ro = c.model.readout;
  const auto& p = c.model.penalties;
  const auto& t = c.training;
  json root = {
      {"model",
       {{"input_height", c.model.input_height},
        {"input_width", c.model.input_width},
        {"neurons", c.model.neurons},
        {"recordings", recordings},
        {"core", {{"input_channels", c.model.core.input_channels}, {"layers", layers}}},
        {"readout",
         {{"kind", nn::to_string(ro.kind)}, {"positive", ro.positive}, {"normalize_features", ro.normalize_features},
          {"bias", ro.bias}, {"output", nn::to_string(ro.output)}, {"covariance", nn::to_string(ro.covariance)},
          {"location_init", nn::to_string(ro.location_init)}, {"init_mu_range", ro.init_mu_range}, {"init_sigma", ro.init_sigma},
          {"coordinate_dimensions", ro.coordinate_dimensions}, {"position_hidden_layers", ro.position_hidden_layers},
          {"position_hidden_features", ro.position_hidden_features}}},
        {"penalties",
         {{"smoothness", p.smoothness}, {"smoothness_normalized", p.smoothness_normalized},
          {"group_sparsity", p.group_sparsity}, {"kernel_l2", p.kernel_l2}, {"mask_l1", p.mask_l1},
          {"feature_l1", p.feature_l1}, {"readout_product", p.readout_product}, {"readout_l2", p.readout_l2},
          {"activity_l1", p.activity_l1}}},
        {"loss", nn::to_string(c.model.loss)}}},
      {"training",
       {{"optimizer", nn::name_of(optimizer_names, t.optimizer)},
        {"learning_rate", t.learning_rate},
        {"momentum", t.momentum},
        {"batch_size", t.batch_size},
        {"validation_fraction", t.validation_fraction},
        {"seed", t.seed},
        {"init_from_data", t.init_from_data},
        {"search_locations", t.search_locations},
        {"normalize", t.normalize},
        {"freeze_core", t.freeze_core},
        {"schedule",
         {{"eval_every", t.schedule.eval_every}, {"patience", t.schedule.patience}, {"decay", t.schedule.decay},
          {"max_decays", t.schedule.max_decays}, {"max_steps", t.schedule.max_steps}}}}}};
  return root.dump(2) + "\n";
}

}  // namespace ww::io
