#include "tests/reference.hpp"

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace ww::testing::ref {
namespace {

std::size_t count(const Shape& s) { return ad::element_count(s); }

// Row-major strides.
std::vector<std::size_t> strides(const Shape& s) {
  std::vector<std::size_t> st(s.size(), 1);
  for (std::size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * static_cast<std::size_t>(s[i]);
  return st;
}

}  // namespace

Values unary(const char* op, const Values& x, double alpha) {
  Values y(x.size());
  const std::string name = op;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    if (name == "neg") y[i] = -v;
    else if (name == "exp") y[i] = std::exp(v);
    else if (name == "log") y[i] = std::log(v);
    else if (name == "abs") y[i] = std::fabs(v);
    else if (name == "sqrt") y[i] = std::sqrt(v);
    else if (name == "square") y[i] = v * v;
    else if (name == "relu") y[i] = v > 0 ? v : 0.0;
    else if (name == "elu") y[i] = v > 0 ? v : alpha * (std::exp(v) - 1.0);
    else if (name == "softplus") y[i] = std::log1p(std::exp(v));
    else if (name == "sigmoid") y[i] = 1.0 / (1.0 + std::exp(-v));
    else if (name == "tanh") y[i] = std::tanh(v);
    else throw std::invalid_argument("ref::unary: unknown op " + name);
  }
  return y;
}

Values binary(const char* op, const Values& a, const Shape& sa, const Values& b, const Shape& sb) {
  const std::string name = op;
  const auto sta = strides(sa);
  const auto stb = strides(sb);
  Values y(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    // b's index: a's multi-index right-aligned, dimensions of size 1 read index 0.
    std::size_t bi = 0;
    for (std::size_t j = 0; j < sb.size(); ++j) {
      const std::size_t aj = j + sa.size() - sb.size();
      const std::size_t idx = (i / sta[aj]) % static_cast<std::size_t>(sa[aj]);
      if (sb[j] != 1) bi += idx * stb[j];
    }
    const double u = a[i], v = b[bi];
    if (name == "add") y[i] = u + v;
    else if (name == "sub") y[i] = u - v;
    else if (name == "mul") y[i] = u * v;
    else if (name == "div") y[i] = u / v;
    else throw std::invalid_argument("ref::binary: unknown op " + name);
  }
  return y;
}

Values sum(const Values& x, const Shape& shape, const std::vector<int>& axes, bool average) {
  std::vector<bool> reduced(shape.size(), axes.empty());
  for (int axis : axes) reduced[static_cast<std::size_t>(axis < 0 ? axis + static_cast<int>(shape.size()) : axis)] = true;
  Shape out_shape;
  std::size_t n = 1;
  for (std::size_t j = 0; j < shape.size(); ++j) {
    if (reduced[j]) n *= static_cast<std::size_t>(shape[j]);
    else out_shape.push_back(shape[j]);
  }
  const auto st = strides(shape);
  const auto st_out = strides(out_shape);
  Values y(count(out_shape), 0.0);
  for (std::size_t i = 0; i < x.size(); ++i) {
    std::size_t oi = 0, k = 0;
    for (std::size_t j = 0; j < shape.size(); ++j) {
      if (reduced[j]) continue;
      oi += ((i / st[j]) % static_cast<std::size_t>(shape[j])) * st_out[k++];
    }
    y[oi] += x[i];
  }
  if (average)
    for (double& v : y) v /= static_cast<double>(n);
  return y;
}

Values matmul(const Values& a, const Shape& sa, const Values& b, const Shape& sb, bool ta, bool tb) {
  const bool batched = sa.size() == 3;
  const std::size_t off = batched ? 1 : 0;
  const std::size_t batch = batched ? static_cast<std::size_t>(sa[0]) : 1;
  const auto ra = static_cast<std::size_t>(sa[off]), ca = static_cast<std::size_t>(sa[off + 1]);
  const auto rb = static_cast<std::size_t>(sb[off]), cb = static_cast<std::size_t>(sb[off + 1]);
  const std::size_t m = ta ? ca : ra, k = ta ? ra : ca, n = tb ? rb : cb;
  Values c(batch * m * n, 0.0);
  for (std::size_t e = 0; e < batch; ++e)
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        double acc = 0.0;
        for (std::size_t p = 0; p < k; ++p) {
          const double av = a[e * ra * ca + (ta ? p * ca + i : i * ca + p)];
          const double bv = b[e * rb * cb + (tb ? j * cb + p : p * cb + j)];
          acc += av * bv;
        }
        c[(e * m + i) * n + j] = acc;
      }
  return c;
}

Values conv2d(const Values& x, const Shape& sx, const Values& w, const Shape& sw, bool same) {
  const long N = sx[0], C = sx[1], H = sx[2], W = sx[3], O = sw[0], KH = sw[2], KW = sw[3];
  const long pt = same ? (KH - 1) / 2 : 0, pl = same ? (KW - 1) / 2 : 0;
  const long OH = same ? H : H - KH + 1, OW = same ? W : W - KW + 1;
  Values y(static_cast<std::size_t>(N * O * OH * OW), 0.0);
  for (long n = 0; n < N; ++n)
    for (long o = 0; o < O; ++o)
      for (long oy = 0; oy < OH; ++oy)
        for (long ox = 0; ox < OW; ++ox) {
          double acc = 0.0;
          for (long c = 0; c < C; ++c)
            for (long ky = 0; ky < KH; ++ky)
              for (long kx = 0; kx < KW; ++kx) {
                const long iy = oy + ky - pt, ix = ox + kx - pl;
                if (iy < 0 || ix < 0 || iy >= H || ix >= W) continue;
                acc += x[static_cast<std::size_t>(((n * C + c) * H + iy) * W + ix)] *
                       w[static_cast<std::size_t>(((o * C + c) * KH + ky) * KW + kx)];
              }
          y[static_cast<std::size_t>(((n * O + o) * OH + oy) * OW + ox)] = acc;
        }
  return y;
}

Values batchnorm(const Values& x, const Shape& sx, const Values& gamma, const Values& beta,
                 bool training, const Values& running_mean, const Values& running_var, double eps) {
  const std::size_t N = static_cast<std::size_t>(sx[0]), C = static_cast<std::size_t>(sx[1]);
  const std::size_t S = sx.size() == 4 ? static_cast<std::size_t>(sx[2] * sx[3]) : 1;
  Values y(x.size());
  for (std::size_t c = 0; c < C; ++c) {
    double mean = 0.0, var = 0.0;
    if (training) {
      for (std::size_t n = 0; n < N; ++n)
        for (std::size_t s = 0; s < S; ++s) mean += x[(n * C + c) * S + s];
      mean /= static_cast<double>(N * S);
      for (std::size_t n = 0; n < N; ++n)
        for (std::size_t s = 0; s < S; ++s) {
          const double d = x[(n * C + c) * S + s] - mean;
          var += d * d;
        }
      var /= static_cast<double>(N * S);
    } else {
      mean = running_mean[c];
      var = running_var[c];
    }
    const double g = gamma.empty() ? 1.0 : gamma[c], b = beta.empty() ? 0.0 : beta[c];
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t s = 0; s < S; ++s) {
        const std::size_t i = (n * C + c) * S + s;
        y[i] = (x[i] - mean) / std::sqrt(var + eps) * g + b;
      }
  }
  return y;
}

Values bilinear(const Values& map, const Shape& sm, const Values& pos, const Shape& sp) {
  const long B = sm[0], C = sm[1], H = sm[2], W = sm[3];
  const bool per_sample = sp.size() == 3;
  const long N = per_sample ? sp[1] : sp[0];
  Values out(static_cast<std::size_t>(B * N * C), 0.0);
  auto pixel = [&](long b, long c, long yy, long xx) -> double {
    if (xx < 0 || yy < 0 || xx >= W || yy >= H) return 0.0;
    return map[static_cast<std::size_t>(((b * C + c) * H + yy) * W + xx)];
  };
  for (long b = 0; b < B; ++b)
    for (long n = 0; n < N; ++n) {
      const std::size_t p = static_cast<std::size_t>(((per_sample ? b * N : 0) + n) * 2);
      const double px = (pos[p] + 1.0) / 2.0 * static_cast<double>(W - 1);
      const double py = (pos[p + 1] + 1.0) / 2.0 * static_cast<double>(H - 1);
      const long x0 = static_cast<long>(std::floor(px)), y0 = static_cast<long>(std::floor(py));
      const double fx = px - static_cast<double>(x0), fy = py - static_cast<double>(y0);
      for (long c = 0; c < C; ++c) {
        out[static_cast<std::size_t>((b * N + n) * C + c)] =
            (1 - fx) * (1 - fy) * pixel(b, c, y0, x0) + fx * (1 - fy) * pixel(b, c, y0, x0 + 1) +
            (1 - fx) * fy * pixel(b, c, y0 + 1, x0) + fx * fy * pixel(b, c, y0 + 1, x0 + 1);
      }
    }
  return out;
}

double mse(const Values& p, const Values& t) {
  double total = 0.0;
  for (std::size_t i = 0; i < p.size(); ++i) total += (p[i] - t[i]) * (p[i] - t[i]);
  return total / static_cast<double>(p.size());
}

double poisson(const Values& r, const Values& y, std::size_t batch, double eps) {
  double total = 0.0;
  for (std::size_t i = 0; i < r.size(); ++i) total += r[i] - y[i] * std::log(r[i] + eps);
  return total / static_cast<double>(batch);
}

}  // namespace ww::testing::ref
