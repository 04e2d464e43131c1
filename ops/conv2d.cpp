#include "ops/conv2d.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ops/matmul.hpp"
#include "ops/parallel.hpp"
#include "ops/scratch.hpp"
#include "ops/simd/kernel_table.hpp"

namespace ww::ops {
namespace {

std::size_t column_rows(const Conv2dShape& s) { return s.in_channels * s.kernel_h * s.kernel_w; }
std::size_t pixels(const Conv2dShape& s) { return s.out_height * s.out_width; }
// A column matrix's row length for rows of `floats`: padded to whole 64-byte lines, so the GEMM may
// read its rows in place (gemm_serial's b_padded), and to an odd number of lines, so the rows of a
// block fall in different L1 sets (1,024 pixels would put every row in the same one).
std::size_t odd_lines(std::size_t floats) { return ((floats + 15) / 16 | 1) * 16; }

bool unpadded(const Conv2dShape& s) { return s.pad_top == 0 && s.pad_left == 0 && s.out_height + s.kernel_h - 1 == s.height && s.out_width + s.kernel_w - 1 == s.width; }

// The image itself is the column matrix when the kernel is 1x1 without padding.
bool direct_columns(const Conv2dShape& s) {
  return s.kernel_h == 1 && s.kernel_w == 1 && s.pad_top == 0 && s.pad_left == 0;
}

// Where row r = (c, ky, kx) of the column matrix reads the image: output rows [oy, oy + rows) and
// columns [ox, ox + len) read input rows from iy and columns from ix (a block of `rows` stretches of
// `len` floats, strided by out_width in the column matrix and by width in the image). Everything
// else in the column matrix is padding (zero).
struct ColumnBlock {
  std::size_t r, c, oy, iy, ox, ix, len, rows;
};

// Calls block(ColumnBlock) for every row of the column matrix that reads the image.
template <class Block>
void each_column_block(const Conv2dShape& s, Block&& block) {
  for (std::size_t c = 0; c < s.in_channels; ++c)
    for (std::size_t ky = 0; ky < s.kernel_h; ++ky)
      for (std::size_t kx = 0; kx < s.kernel_w; ++kx) {
        // Output (oy, ox) reads input (oy + ky - pad_top, ox + kx - pad_left), inside the image.
        // (A kernel larger than a padded image can leave no output reading it at all.)
        const std::size_t ox_begin = s.pad_left > kx ? s.pad_left - kx : 0;
        const std::size_t ox_end = s.width + s.pad_left > kx ? std::min(s.out_width, s.width + s.pad_left - kx) : 0;
        const std::size_t oy_begin = s.pad_top > ky ? s.pad_top - ky : 0;
        const std::size_t oy_end = s.height + s.pad_top > ky ? std::min(s.out_height, s.height + s.pad_top - ky) : 0;
        if (ox_begin >= ox_end || oy_begin >= oy_end) continue;
        block(ColumnBlock{(c * s.kernel_h + ky) * s.kernel_w + kx, c, oy_begin, oy_begin + ky - s.pad_top, ox_begin,
                          ox_begin + kx - s.pad_left, ox_end - ox_begin, oy_end - oy_begin});
      }
}

// Where a block's first stretch starts in the image and in the column matrix's row.
std::size_t image_offset(const Conv2dShape& s, const ColumnBlock& b) { return (b.c * s.height + b.iy) * s.width + b.ix; }
std::size_t column_offset(const Conv2dShape& s, const ColumnBlock& b) { return b.oy * s.out_width + b.ox; }

// each_column_block's blocks clipped to output rows [oy_begin, oy_end), with where each starts in
// a column matrix of only those rows' pixels.
template <class Block>
void each_band_block(const Conv2dShape& s, std::size_t oy_begin, std::size_t oy_end, Block&& block) {
  each_column_block(s, [&](const ColumnBlock& b) {
    ColumnBlock band = b;
    band.oy = std::max(b.oy, oy_begin);
    const std::size_t oy_last = std::min(b.oy + b.rows, oy_end);
    if (band.oy >= oy_last) return;
    band.iy = b.iy + (band.oy - b.oy);
    band.rows = oy_last - band.oy;
    block(band, column_offset(s, band) - oy_begin * s.out_width);
  });
}

// The column matrix of output rows [oy_begin, oy_end) of one image:
// cols[r, (oy - oy_begin) * out_width + ox], rows `stride` apart.
void im2col(const float* image, float* cols, std::size_t stride, std::size_t oy_begin, std::size_t oy_end, const Conv2dShape& s) {
  if (!unpadded(s)) std::memset(cols, 0, column_rows(s) * stride * sizeof(float));
  const auto& k = simd::kernels();
  each_band_block(s, oy_begin, oy_end, [&](const ColumnBlock& b, std::size_t at) {
    k.copy_rows(b.rows, b.len, image + image_offset(s, b), s.width, cols + b.r * stride + at, s.out_width);
  });
}

// image += the column matrix of output rows [oy_begin, oy_end) folded back (the adjoint of im2col).
void col2im_add(const float* cols, std::size_t stride, std::size_t oy_begin, std::size_t oy_end, float* image, const Conv2dShape& s) {
  const auto& k = simd::kernels();
  if (unpadded(s)) {
    // Image row oy + ky of channel c takes the kw taps (c, ky, 0..kw-1) of output row oy at once.
    for (std::size_t c = 0; c < s.in_channels; ++c)
      for (std::size_t ky = 0; ky < s.kernel_h; ++ky)
        for (std::size_t oy = oy_begin; oy < oy_end; ++oy)
          k.add_shifted_rows(s.kernel_w, s.out_width, cols + (c * s.kernel_h + ky) * s.kernel_w * stride + (oy - oy_begin) * s.out_width,
                             stride, image + (c * s.height + oy + ky) * s.width);
    return;
  }
  each_band_block(s, oy_begin, oy_end, [&](const ColumnBlock& b, std::size_t at) {
    k.axpy_rows(b.rows, b.len, 1.f, cols + b.r * stride + at, s.out_width, image + image_offset(s, b), s.width);
  });
}

// Output rows per band of a column matrix (or its gradient) that is written and read back while
// it is still in L2 (at most ~512 KB) rather than streamed through memory: conv_nl2's whole
// column matrix is 4 MB an image.
std::size_t band_rows(const Conv2dShape& s) {
  return std::clamp<std::size_t>(512 * 1024 / sizeof(float) / (column_rows(s) * s.out_width), 1, s.out_height);
}

// One input channel and few output channels: a GEMM would have a handful of rows, so its
// packing and the im2col copies would cost more than the arithmetic. These convolutions run
// directly on image rows instead (the blocks of each_column_block).
bool direct_single_channel(const Conv2dShape& s) { return s.in_channels == 1 && s.out_channels <= 4; }

// A convolution's column matrix read where it lies, in "wide rows": output pixels are taken over
// whole rows of the plane (the image with its padding: plane_width = width + the padding on both
// sides), pixel oy * plane_width + ox with ox up to plane_width - 1, so row r = (c, ky, kx) of the
// column matrix is the plane itself from offset (c * plane_height + ky) * plane_width + kx. No
// im2col copy, at plane_width / out_width times the products (the pixels past out_width do not
// exist: they are dropped, or get zero gradient).
std::size_t plane_width(const Conv2dShape& s) { return s.out_width + s.kernel_w - 1; }
std::size_t plane_height(const Conv2dShape& s) { return s.out_height + s.kernel_h - 1; }
std::size_t plane_size(const Conv2dShape& s) { return s.in_channels * plane_height(s) * plane_width(s); }
// Where wide rows pay: at most 1/8 more products than the column matrix's, and at least 128
// rows of it (with 25, conv_nl1's, the product is too short: writing its wide output and
// compacting it cost more than im2col; 100 rows broke even). 2 threads, old and new code
// alternately in one process, two runs: conv_v1_2 (256 x 48 -> 48, 3x3, 19x19) forward 3-7%
// faster, backward (input gradient as a transposed convolution, weight gradient) 14-18%; the
// same padded, 17x17: 6-13% and 10-16%; conv_nl2 (64 x 32 -> 64, 5x5, 40x40) forward 8-9%.
bool wide_enough(const Conv2dShape& s) {
  return !direct_columns(s) && 8 * plane_width(s) <= 9 * s.out_width && column_rows(s) >= 128;
}
// The wide pixels the products run over: the last output row stops at out_width, so no row reads
// past the plane.
std::size_t wide_pixels(const Conv2dShape& s) { return (s.out_height - 1) * plane_width(s) + s.out_width; }
std::vector<std::size_t> wide_row_offsets(const Conv2dShape& s) {
  const std::size_t taps = s.kernel_h * s.kernel_w;
  std::vector<std::size_t> offsets(column_rows(s));
  for (std::size_t r = 0; r < offsets.size(); ++r) {
    const std::size_t c = r / taps, ky = r % taps / s.kernel_w, kx = r % s.kernel_w;
    offsets[r] = (c * plane_height(s) + ky) * plane_width(s) + kx;
  }
  return offsets;
}

// The plane of one image in the calling thread's scratch: zero padding around each channel, and
// zeros past its end where the GEMM's last vectors read (up to 16 floats).
const float* plane_of(const float* image, const Conv2dShape& s) {
  const std::size_t size = plane_size(s), width = plane_width(s), height = plane_height(s);
  float* plane = scratch(ScratchSlot::plane, size + 16);
  if (!unpadded(s)) std::memset(plane, 0, size * sizeof(float));
  std::memset(plane + size, 0, 16 * sizeof(float));
  for (std::size_t c = 0; c < s.in_channels; ++c)
    simd::kernels().copy_rows(s.height, s.width, image + c * s.height * s.width, s.width,
                              plane + (c * height + s.pad_top) * width + s.pad_left, width);
  return plane;
}

// Several input channels but few output channels, unpadded: direct multi-channel correlation
// (ops/simd/correlate_impl.hpp); the weight gradient too for 3- and 5-wide kernels there and with
// one input channel. Their GEMMs would have few rows (or, in the weight gradient, vectors along
// few output channels). Fig. 5e's last layer, 64 -> 8 and 64 -> 16 channels on 64 images of 36x36,
// two threads: forward 14.3 -> 6.4 and 19.8 -> 12.9 ms, weight gradient 14.2
// -> 10.1 ms for 8 but 12.9 -> 21.5 for 16 (a full vector of output channels suits the GEMM). The
// input gradient stays a GEMM on the transposed convolution's columns: measured faster, as its
// column matrix has only out_channels x taps rows.
bool direct_few_outputs(const Conv2dShape& s) { return s.in_channels > 1 && s.out_channels <= 16 && unpadded(s); }
bool direct_weight_gradient(const Conv2dShape& s) {
  return unpadded(s) && (s.kernel_w == 3 || s.kernel_w == 5) && (s.out_channels <= 8 || s.in_channels == 1);
}

// The correlation of image b of x with w into y, as the direct kernels see it (w tap-major, as
// tap_major_weights writes it).
simd::ChannelCorrelation channel_correlation(const float* image, const float* w, float* y, const Conv2dShape& s) {
  return {image, s.in_channels, s.width, s.height * s.width, w, s.kernel_h, s.kernel_w,
          y, s.out_channels, s.out_height, s.out_width, pixels(s)};
}

// w [out_channels, in_channels, kh, kw] as [in_channels, kh, kw, out_channels]: the direct
// kernels broadcast a tap's weights for every output channel from one pointer (with a pointer
// per output channel they ran out of registers and reloaded their offsets from the stack).
std::vector<float> tap_major_weights(const float* w, const Conv2dShape& s) {
  const std::size_t R = column_rows(s);
  std::vector<float> tap_major(R * s.out_channels);
  for (std::size_t o = 0; o < s.out_channels; ++o)
    for (std::size_t r = 0; r < R; ++r) tap_major[r * s.out_channels + o] = w[o * R + r];
  return tap_major;
}

// y[b] = conv(x[b], w) for one image, directly.
void direct_forward(const float* image, const float* w, float* y, const Conv2dShape& s) {
  const auto& k = simd::kernels();
  const std::size_t P = pixels(s), R = column_rows(s);
  if (unpadded(s)) {
    for (std::size_t o = 0; o < s.out_channels; ++o)
      k.correlate_valid(image, s.width, w + o * R, s.kernel_h, s.kernel_w, y + o * P, s.out_height, s.out_width, false);
    return;
  }
  std::memset(y, 0, s.out_channels * P * sizeof(float));
  each_column_block(s, [&](const ColumnBlock& b) {
    for (std::size_t o = 0; o < s.out_channels; ++o)
      k.axpy_rows(b.rows, b.len, w[o * R + b.r], image + image_offset(s, b), s.width, y + o * P + column_offset(s, b), s.out_width);
  });
}

// Several input channels and many output channels (two vectors or more): direct convolution
// with the output channels along vectors. A tile of output pixels, channels last in L1, is the
// narrow GEMM of pixels (rows, read where they lie in the image's plane) by taps (gathered k)
// by tap-major weights, then transposed into y. Nothing is copied out, and unlike wide rows no
// product is computed for a pixel that does not exist. With one input channel the GEMM stays:
// conv_v1_1 (1 -> 48, 13x13) forward, 2 threads, quiet machine, three runs: 4.5 ms by GEMM, 4.8-4.9
// direct (on a loaded one direct looked 8% faster).
bool direct_many_outputs(const Conv2dShape& s) { return s.in_channels > 1 && s.out_channels >= 32 && !direct_columns(s); }

// Where each output pixel's window starts in the plane (pixels as the narrow GEMM's rows).
std::vector<std::size_t> pixel_offsets(const Conv2dShape& s) {
  std::vector<std::size_t> offsets(pixels(s));
  for (std::size_t p = 0; p < offsets.size(); ++p) offsets[p] = p / s.out_width * plane_width(s) + p % s.out_width;
  return offsets;
}

// A direct convolution's operands with its taps ordered (ky, c, kx), so that the taps of the
// kernel rows [ky_begin, ky_end) are one stretch of them. The weights' rows are whole 64-byte
// lines (zeros past out_channels), so no load of them straddles two lines or needs a mask.
struct DirectConvolution {
  const float* weights;  // [taps, row], in the calling thread's scratch (as pack_a's)
  std::size_t row;  // out_channels rounded up to 16
  std::vector<std::size_t> pixels, taps;  // pixel_offsets, and where each tap reads in the plane
};

DirectConvolution direct_convolution(const float* w, const Conv2dShape& s) {
  const std::size_t O = s.out_channels, R = column_rows(s), row = (O + 15) / 16 * 16;
  float* weights = scratch(ScratchSlot::packed_a, R * row);
  DirectConvolution conv{weights, row, pixel_offsets(s), {}};
  const std::vector<std::size_t> in_plane = wide_row_offsets(s);  // in w's order
  conv.taps.reserve(R);
  for (std::size_t ky = 0; ky < s.kernel_h; ++ky)
    for (std::size_t c = 0; c < s.in_channels; ++c)
      for (std::size_t kx = 0; kx < s.kernel_w; ++kx) {
        const std::size_t r = (c * s.kernel_h + ky) * s.kernel_w + kx;  // w's order
        float* tap_weights = weights + conv.taps.size() * row;
        for (std::size_t o = 0; o < row; ++o) tap_weights[o] = o < O ? w[o * R + r] : 0.f;
        conv.taps.push_back(in_plane[r]);
      }
  return conv;
}

// The kernel rows [first, second) that read inside the image from output row oy (the others read
// only padding).
std::pair<std::size_t, std::size_t> kernel_rows_inside(const Conv2dShape& s, std::size_t oy) {
  const std::size_t first = s.pad_top > oy ? s.pad_top - oy : 0;
  const std::size_t end = s.height + s.pad_top > oy ? std::min(s.kernel_h, s.height + s.pad_top - oy) : 0;
  return {first, std::max(first, end)};
}

// Output pixels per tile: a multiple of 16 (whole register transposes) and of every row tile of
// gemm_narrow (6, 8 and 12 pixels for 4, 3 and 2 vectors of output channels); 48 x 64 channels is
// 12 KB, an L1-sized tile (gemm_narrow streams its blocks of weights, up to 64 KB, from L2).
constexpr std::size_t tile_pixels = 48;

// y = conv(image, w) + beta y (beta 0 or 1) for one image, directly. Tiles take pixels from
// bands of output rows whose kernel rows reading inside the image are the same, and multiply
// only those (an input gradient's transposed convolution is padded by kernel - 1: conv_nl2's
// multiplied a fifth more zeros than products that count). The image's output is gathered in L2
// and then copied into y in one pass: transposed tile by tile into y itself, a 48-pixel stretch
// of each channel's row at a time, conv_nl2's forward took 31.6 ms against 26.8 staged (2 threads,
// the staged copy then made with non-temporal stores, which on a quiet machine ran 3% slower than
// this plain copy: its large L3 keeps y for the next op).
void convolve_directly(const DirectConvolution& conv, const float* image, float beta, float* y, const Conv2dShape& s) {
  const auto& k = simd::kernels();
  const std::size_t O = s.out_channels, P = pixels(s), taps_per_row = s.in_channels * s.kernel_w;
  const float* plane = unpadded(s) ? image : plane_of(image, s);
  float* tile = scratch(ScratchSlot::channels_last, tile_pixels * conv.row);
  float* output = scratch(ScratchSlot::image_output, O * P);
  for (std::size_t band = 0; band < s.out_height;) {
    const auto kernel_rows = kernel_rows_inside(s, band);
    std::size_t band_end = band + 1;
    while (band_end < s.out_height && kernel_rows_inside(s, band_end) == kernel_rows) ++band_end;
    const std::size_t first_tap = kernel_rows.first * taps_per_row, taps = (kernel_rows.second - kernel_rows.first) * taps_per_row;
    for (std::size_t first = band * s.out_width; first < band_end * s.out_width; first += tile_pixels) {
      const std::size_t count = std::min(tile_pixels, band_end * s.out_width - first);
      if (beta != 0.f) k.transpose(O, count, y + first, P, tile, conv.row);
      k.gemm_narrow(count, conv.row, taps, plane, conv.pixels.data() + first, conv.taps.data() + first_tap,
                    conv.weights + first_tap * conv.row, conv.row, tile, conv.row, beta == 0.f);
      k.transpose(count, O, tile, conv.row, output + first, P);
    }
    band = band_end;
  }
  std::memcpy(y, output, O * P * sizeof(float));
}

// A convolution by GEMM: its packed weights (the A of every image's product) and, when its
// products run over wide rows, where each row of its column matrix lies in the plane.
struct GemmConvolution {
  PackedA weights;
  std::vector<std::size_t> plane_rows;  // empty: the column matrix is copied out by im2col
};

// w: [out_channels, in_channels, kernel_h, kernel_w].
GemmConvolution gemm_convolution(const float* w, const Conv2dShape& s) {
  const std::size_t R = column_rows(s);
  return {pack_a(false, s.out_channels, R, w, R), wide_enough(s) ? wide_row_offsets(s) : std::vector<std::size_t>{}};
}

// y = conv(image, w) + beta y (beta 0 or 1) for one image, as the GEMM of the packed weights and
// the column matrix: read in the image's plane in wide rows, the wide output then compacted into
// y; or else copied out in bands of output rows, each read back while in L2.
void convolve_by_gemm(const GemmConvolution& conv, const float* image, float beta, float* y, const Conv2dShape& s) {
  const std::size_t P = pixels(s);
  if (direct_columns(s)) {
    gemm_serial(conv.weights, P, image, P, beta, y, P, false);
    return;
  }
  const auto& k = simd::kernels();
  if (!conv.plane_rows.empty()) {
    const std::size_t wide = wide_pixels(s);
    float* wide_y = scratch(ScratchSlot::image_output, s.out_channels * wide);
    k.gemm_gathered(s.out_channels, wide, column_rows(s), conv.weights.data, plane_of(image, s), conv.plane_rows.data(), 0.f, wide_y, wide);
    for (std::size_t o = 0; o < s.out_channels; ++o) {
      if (beta == 0.f) {
        k.copy_rows(s.out_height, s.out_width, wide_y + o * wide, plane_width(s), y + o * P, s.out_width);
      } else {
        k.axpy_rows(s.out_height, s.out_width, 1.f, wide_y + o * wide, plane_width(s), y + o * P, s.out_width);
      }
    }
    return;
  }
  const std::size_t rows_per_band = band_rows(s), stride = odd_lines(rows_per_band * s.out_width);
  float* cols = scratch(ScratchSlot::columns, column_rows(s) * stride);
  for (std::size_t oy = 0; oy < s.out_height; oy += rows_per_band) {
    const std::size_t rows = std::min(rows_per_band, s.out_height - oy);
    im2col(image, cols, stride, oy, oy + rows, s);
    gemm_serial(conv.weights, rows * s.out_width, cols, stride, beta, y + oy * s.out_width, P, true);
  }
}

}  // namespace

Conv2dShape conv2d_shape(std::size_t batch, std::size_t in_channels, std::size_t height,
                         std::size_t width, std::size_t out_channels, std::size_t kernel_h,
                         std::size_t kernel_w, Padding padding) {
  if (batch == 0 || in_channels == 0 || height == 0 || width == 0 || out_channels == 0 ||
      kernel_h == 0 || kernel_w == 0) {
    throw std::invalid_argument("conv2d: every size must be positive");
  }
  Conv2dShape s{batch, in_channels, height, width, out_channels, kernel_h, kernel_w, 0, 0, height, width};
  if (padding == Padding::same) {
    s.pad_top = (kernel_h - 1) / 2;
    s.pad_left = (kernel_w - 1) / 2;
    return s;
  }
  if (kernel_h > height || kernel_w > width) {
    throw std::invalid_argument("conv2d: kernel " + std::to_string(kernel_h) + "x" +
                                std::to_string(kernel_w) + " is larger than the input " +
                                std::to_string(height) + "x" + std::to_string(width) +
                                " of a 'valid' convolution");
  }
  s.out_height = height - kernel_h + 1;
  s.out_width = width - kernel_w + 1;
  return s;
}

void conv2d_forward(const float* x, const float* w, float* y, const Conv2dShape& s) {
  const std::size_t image_size = s.in_channels * s.height * s.width;
  const std::size_t P = pixels(s);
  // The weights are the GEMM's A for every image: packed once.
  const bool by_gemm = !direct_single_channel(s) && !direct_few_outputs(s) && !direct_many_outputs(s);
  const GemmConvolution conv = by_gemm ? gemm_convolution(w, s) : GemmConvolution{};
  const DirectConvolution direct = direct_many_outputs(s) ? direct_convolution(w, s) : DirectConvolution{};
  const std::vector<float> tap_major = direct_few_outputs(s) ? tap_major_weights(w, s) : std::vector<float>{};
  parallel_for(s.batch, 1, [&](std::size_t, std::size_t b, std::size_t) {
    if (direct_many_outputs(s)) {
      convolve_directly(direct, x + b * image_size, 0.f, y + b * s.out_channels * P, s);
      return;
    }
    if (direct_single_channel(s)) {
      direct_forward(x + b * image_size, w, y + b * s.out_channels * P, s);
      return;
    }
    if (direct_few_outputs(s)) {
      simd::kernels().correlate_channels(channel_correlation(x + b * image_size, tap_major.data(), y + b * s.out_channels * P, s), false);
      return;
    }
    convolve_by_gemm(conv, x + b * image_size, 0.f, y + b * s.out_channels * P, s);
  });
}

namespace {

// dw += sum over images of dy[b] cols[b]^T, in at most 16 chunks of images fixed by the batch size
// alone, each with its own partial sum ([O, R]; transposed, [R, O], on the GEMM path), added in
// chunk order: identical for any thread count.
void weight_gradient(const float* x, const float* dy, float* dw, const Conv2dShape& s) {
  const std::size_t image_size = s.in_channels * s.height * s.width;
  const std::size_t P = pixels(s), R = column_rows(s);
  const std::size_t weight_size = s.out_channels * R;
  const std::size_t grain = (s.batch + 15) / 16;
  const std::size_t chunks = chunk_count(s.batch, grain);
  // The calling thread's scratch: the tasks below use other slots.
  float* partials = scratch(ScratchSlot::partials, chunks * weight_size);
  const bool by_gemm = !direct_single_channel(s) && !direct_weight_gradient(s);
  // The column matrix read where it lies in the plane: row r (tap) from taps[r], column p (pixel)
  // at pixel_offsets[p] from there.
  const std::vector<std::size_t> taps = by_gemm ? wide_row_offsets(s) : std::vector<std::size_t>{};
  const std::vector<std::size_t> pixel_at = by_gemm ? pixel_offsets(s) : std::vector<std::size_t>{};
  parallel_for(s.batch, grain, [&](std::size_t chunk, std::size_t begin, std::size_t end) {
    float* partial = partials + chunk * weight_size;
    if (direct_single_channel(s)) {
      const auto& k = simd::kernels();
      std::memset(partial, 0, weight_size * sizeof(float));
      for (std::size_t b = begin; b < end; ++b) {
        const float* image = x + b * image_size;
        const float* dy_b = dy + b * s.out_channels * P;
        if (unpadded(s)) {
          for (std::size_t o = 0; o < s.out_channels; ++o)
            k.correlate_valid_weight_grad(image, s.width, dy_b + o * P, s.out_height, s.out_width, s.kernel_h, s.kernel_w,
                                          partial + o * R);
          continue;
        }
        each_column_block(s, [&](const ColumnBlock& blk) {
          for (std::size_t o = 0; o < s.out_channels; ++o)
            for (std::size_t row = 0; row < blk.rows; ++row)
              partial[o * R + blk.r] += k.dot(dy_b + o * P + column_offset(s, blk) + row * s.out_width,
                                              image + image_offset(s, blk) + row * s.width, blk.len);
        });
      }
      return;
    }
    if (direct_weight_gradient(s)) {
      std::memset(partial, 0, weight_size * sizeof(float));
      for (std::size_t b = begin; b < end; ++b)
        simd::kernels().correlate_channels_weight_grad(channel_correlation(x + b * image_size, nullptr, nullptr, s),
                                                       dy + b * s.out_channels * P, partial);
      return;
    }
    // dw^T[R, O] += cols[R, P] dy^T[P, O]: vectors along the output channels, so the sum over
    // pixels needs no horizontal reductions (dot products of 289 pixels spent a third of their
    // time reducing); the columns gathered from the plane, so nothing is copied out and no
    // product is spent on a pixel that does not exist (wide rows: 11% more products).
    const auto& k = simd::kernels();
    float* dy_t = scratch(ScratchSlot::channels_last, P * s.out_channels);
    for (std::size_t b = begin; b < end; ++b) {
      k.transpose(s.out_channels, P, dy + b * s.out_channels * P, P, dy_t, s.out_channels);
      const float* plane = unpadded(s) ? x + b * image_size : plane_of(x + b * image_size, s);
      k.gemm_narrow(R, s.out_channels, P, plane, taps.data(), pixel_at.data(), dy_t, s.out_channels, partial, s.out_channels,
                    b == begin);
    }
  });
  const auto& k = simd::kernels();
  if (!by_gemm) {
    for (std::size_t chunk = 0; chunk < chunks; ++chunk) k.axpy(weight_size, 1.f, partials + chunk * weight_size, dw);
    return;
  }
  for (std::size_t chunk = 0; chunk < chunks; ++chunk) {
    const float* partial = partials + chunk * weight_size;  // [R, O]
    for (std::size_t r = 0; r < R; ++r)
      for (std::size_t o = 0; o < s.out_channels; ++o) dw[o * R + r] += partial[r * s.out_channels + o];
  }
}

// dx += the input gradient (dx = it, with overwrite). With no more output than input channels, or
// when that convolution suits the direct kernel for many outputs, it is computed as a convolution
// of dy with the flipped, transposed kernel (2 threads, direct against before: conv_nl2's 32 <- 64
// channels 31.7 ms against col2im's 32.8-33.7, conv_v1_2's 48 <- 48 12.8 against 14.4 by the
// transposed GEMM, conv_nl3's 64 <- 4 4.2 against 4.6); otherwise as W^T dy folded back by
// col2im. Either way images are independent tasks. Where pieces
// overlap and are added up, an overwritten image is zeroed just before, when it is about to be in
// cache anyway.
void input_gradient(const float* w, const float* dy, float* dx, bool overwrite, const Conv2dShape& s) {
  const std::size_t image_size = s.in_channels * s.height * s.width;
  const std::size_t P = pixels(s), R = column_rows(s);
  const float beta = overwrite ? 0.f : 1.f;
  auto image_grad_of = [&](std::size_t b) {
    float* image_grad = dx + b * image_size;
    if (overwrite) std::memset(image_grad, 0, image_size * sizeof(float));
    return image_grad;
  };
  if (direct_single_channel(s)) {
    const auto& k = simd::kernels();
    parallel_for(s.batch, 1, [&](std::size_t, std::size_t b, std::size_t) {
      float* image_grad = image_grad_of(b);
      const float* dy_b = dy + b * s.out_channels * P;
      each_column_block(s, [&](const ColumnBlock& blk) {
        for (std::size_t o = 0; o < s.out_channels; ++o)
          k.axpy_rows(blk.rows, blk.len, w[o * R + blk.r], dy_b + o * P + column_offset(s, blk), s.out_width,
                      image_grad + image_offset(s, blk), s.width);
      });
    });
    return;
  }
  const std::size_t kh = s.kernel_h, kw = s.kernel_w;
  const Conv2dShape t{s.batch, s.out_channels, s.out_height, s.out_width, s.in_channels, kh, kw,
                      kh - 1 - s.pad_top, kw - 1 - s.pad_left, s.height, s.width};
  if ((s.out_channels <= s.in_channels || direct_many_outputs(t)) && !direct_columns(s)) {
    // flipped[ci, co, ky, kx] = w[co, ci, kh-1-ky, kw-1-kx]
    float* flipped = scratch(ScratchSlot::partials, s.in_channels * s.out_channels * kh * kw);
    for (std::size_t co = 0; co < s.out_channels; ++co)
      for (std::size_t ci = 0; ci < s.in_channels; ++ci)
        for (std::size_t ky = 0; ky < kh; ++ky)
          for (std::size_t kx = 0; kx < kw; ++kx)
            flipped[((ci * s.out_channels + co) * kh + kh - 1 - ky) * kw + kw - 1 - kx] =
                w[((co * s.in_channels + ci) * kh + ky) * kw + kx];
    if (direct_many_outputs(t)) {
      const DirectConvolution transposed = direct_convolution(flipped, t);
      parallel_for(s.batch, 1, [&](std::size_t, std::size_t b, std::size_t) {
        convolve_directly(transposed, dy + b * s.out_channels * P, beta, dx + b * image_size, t);
      });
      return;
    }
    const GemmConvolution transposed = gemm_convolution(flipped, t);
    parallel_for(s.batch, 1, [&](std::size_t, std::size_t b, std::size_t) {
      convolve_by_gemm(transposed, dy + b * s.out_channels * P, beta, dx + b * image_size, t);
    });
    return;
  }
  const PackedA weights_t = pack_a(true, R, s.out_channels, w, R);
  // The column gradient in bands of output rows, each folded back while it is in L2.
  const std::size_t rows_per_band = band_rows(s), band_stride = odd_lines(rows_per_band * s.out_width);
  parallel_for(s.batch, 1, [&](std::size_t, std::size_t b, std::size_t) {
    const float* dy_b = dy + b * s.out_channels * P;
    if (direct_columns(s)) {
      gemm_serial(weights_t, P, dy_b, P, beta, dx + b * image_size, P, false);
      return;
    }
    float* image_grad = image_grad_of(b);
    float* column_grad = scratch(ScratchSlot::column_grad, R * band_stride);
    for (std::size_t oy = 0; oy < s.out_height; oy += rows_per_band) {
      const std::size_t rows = std::min(rows_per_band, s.out_height - oy);
      gemm_serial(weights_t, rows * s.out_width, dy_b + oy * s.out_width, P, 0.f, column_grad, band_stride, false);
      col2im_add(column_grad, band_stride, oy, oy + rows, image_grad, s);
    }
  });
}

}  // namespace

void conv2d_backward(const float* x, const float* w, const float* dy, float* dx, bool overwrite_dx, float* dw,
                     const Conv2dShape& s) {
  if (dw != nullptr) weight_gradient(x, dy, dw, s);
  if (dx != nullptr) input_gradient(w, dy, dx, overwrite_dx, s);
}

}  // namespace ww::ops
