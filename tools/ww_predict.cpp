// ww-predict: a trained model's predicted responses to images, as .npy [n, neurons].
#include <CLI/CLI.hpp>

#include <cstdio>

#include "io/npy.hpp"
#include "ops/parallel.hpp"
#include "tools/cli.hpp"
#include "tools/training.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ww-predict: predict neural responses with a trained model"};
  std::string checkpoint_path, images_path, out_path;
  int threads = 0;
  std::int64_t batch = 256;
  app.add_option("--checkpoint", checkpoint_path, "checkpoint.wwc written by ww-train")->required()->check(CLI::ExistingFile);
  app.add_option("--images", images_path, "images .npy [n,h,w] or [n,c,h,w], or an .npz with 'images'")->required()->check(CLI::ExistingFile);
  app.add_option("--out", out_path, "predictions .npy [n, neurons]")->required();
  app.add_option("--batch", batch, "images per forward pass")->check(CLI::PositiveNumber);
  std::string data_key;
  app.add_option("--data-key", data_key, "a model of several recordings: whose neurons to predict");
  app.add_option("--threads", threads, "worker threads (0: all cores)")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  return ww::tools::run_tool("ww-predict", [&] {
    ww::ops::set_num_threads(threads);
    const ww::io::Checkpoint checkpoint = ww::io::load_checkpoint(checkpoint_path);
    auto model = ww::training::load_model(checkpoint);
    const ww::io::Dataset data = ww::io::load_dataset(images_path, "-");
    const ww::ad::Tensor prediction = model->predict(data.images, batch, ww::training::recording_index(*model, data_key));
    ww::io::write_npy(out_path, prediction);
    std::printf("ww-predict: %s -> %s %s\n", images_path.c_str(), out_path.c_str(),
                ww::ad::shape_string(prediction.shape()).c_str());
    return int{ww::tools::ok};
  });
}
