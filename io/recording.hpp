#pragma once
// Recordings as users bring them (SPEC 6), split into training, validation and test tiers, with
// the image id of every test trial (repeats of an image share it):
// - the neuralpredictors file tree: data/images/<i>.npy (one image, [1, H, W] or [H, W]),
//   data/responses/<i>.npy ([neurons]), meta/trials/tiers.npy ("train", "validation", "test",
//   "final_test"; final_test trials are left out), meta/trials/frame_image_id.npy, and optionally
//   meta/neurons/cell_motor_coordinates.npy ([neurons, 3]);
// - the same packed in one .npz: images [T, 1, H, W] (or [T, H, W]), responses [T, N],
//   meta_trials_tiers, meta_trials_frame_image_id and optionally meta_neurons_cell_motor_coordinates;
// - Antolik et al. 2016, one region folder: training_inputs.npy [n, 961] (31x31 images),
//   training_set.npy [n, N], validation_inputs.npy [50, 961] (the test images) and
//   raw_validation_set.npy [repeats, 50, N]; the last 20% of the training trials validate.
// Errors name the file and what was expected (FormatError).
#include <cstdint>
#include <string>
#include <vector>

#include "io/dataset.hpp"
#include "io/populations.hpp"

namespace ww::io {

struct Recording {
  std::string origin;
  Dataset train, validation, test;            // test: single trials
  std::vector<std::int64_t> test_image_ids;   // one per test trial
  ad::Tensor cell_motor_coordinates;          // [neurons, 3]; undefined when the recording has none
};

// A folder with data/ and meta/ (file tree), an .npz (packed file tree) or a folder with
// training_inputs.npy (Antolik region).
Recording load_recording(const std::string& path);

// A recording's name: its file or folder name without extension ("data/mouse1/" -> "mouse1"),
// the data key of its readout in a model of several recordings.
std::string recording_name(const std::string& path);
// The names of several recordings; FormatError when two share one.
std::vector<std::string> distinct_recording_names(const std::vector<std::string>& paths);

// The training and validation tiers back to back, and the validation's share of them: what
// ww-train validates on (TrainConfig::validation_fraction holds out the end of the data).
struct TrainingSplit {
  Dataset data;
  float validation_fraction;
};
TrainingSplit training_split(const Recording& recording);

// Cortical coordinates [N, 3] (um) of simulated neurons at `locations` [N, 2] (row, col): a smooth
// retinotopic map (sheared, compressive along one axis) of each location plus 0.3 px of scatter,
// and a random depth that carries no position.
ad::Tensor simulated_cortical_coordinates(const ad::Tensor& locations, std::mt19937_64& rng);

// A simulated population as a recording: its training images split 80/20 into train and
// validation, each test image shown `repeats` times with fresh noise (y = r + N(0, |r|)), and
// cortical coordinates from simulated_cortical_coordinates.
Recording simulated_recording(const Population& population, std::int64_t repeats, std::uint64_t seed);

// The file tree and its .npz packing of a recording (trials in the order train, validation, test;
// training and validation trials get ids of their own, after the test ids).
void write_recording_tree(const Recording& recording, const std::string& folder);
void write_recording_npz(const Recording& recording, const std::string& path);

}  // namespace ww::io
