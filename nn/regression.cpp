#include "nn/regression.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace ww::nn {
namespace {

// Householder reduction A = Q T Q' (A overwritten); returns Q, T's diagonal d and subdiagonal e
// (e[i] couples i and i + 1; e[n-1] = 0).
std::vector<double> tridiagonalize(std::vector<double>& a, std::size_t n, std::vector<double>& d, std::vector<double>& e) {
  std::vector<double> q(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) q[i * n + i] = 1.0;
  std::vector<double> v(n), p(n), w(n);
  for (std::size_t k = 0; k + 2 < n; ++k) {
    const std::size_t m = n - k - 1, first = k + 1;
    double norm = 0.0;
    for (std::size_t i = 0; i < m; ++i) norm += a[(first + i) * n + k] * a[(first + i) * n + k];
    norm = std::sqrt(norm);
    if (norm == 0.0) continue;
    const double alpha = a[first * n + k] > 0 ? -norm : norm;
    for (std::size_t i = 0; i < m; ++i) v[i] = a[(first + i) * n + k];
    v[0] -= alpha;
    double v_norm2 = 0.0;
    for (std::size_t i = 0; i < m; ++i) v_norm2 += v[i] * v[i];
    if (v_norm2 == 0.0) continue;
    const double beta = 2.0 / v_norm2;
    // H A22 H with H = I - beta v v': A22 -= v w' + w v', w = p - (beta/2)(p'v) v, p = beta A22 v.
    double pv = 0.0;
    for (std::size_t i = 0; i < m; ++i) {
      double s = 0.0;
      for (std::size_t j = 0; j < m; ++j) s += a[(first + i) * n + first + j] * v[j];
      p[i] = beta * s;
      pv += p[i] * v[i];
    }
    for (std::size_t i = 0; i < m; ++i) w[i] = p[i] - 0.5 * beta * pv * v[i];
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < m; ++j) a[(first + i) * n + first + j] -= v[i] * w[j] + w[i] * v[j];
    for (std::size_t i = 0; i < m; ++i) a[(first + i) * n + k] = a[k * n + first + i] = i == 0 ? alpha : 0.0;
    for (std::size_t r = 0; r < n; ++r) {
      double s = 0.0;
      for (std::size_t j = 0; j < m; ++j) s += q[r * n + first + j] * v[j];
      for (std::size_t j = 0; j < m; ++j) q[r * n + first + j] -= beta * s * v[j];
    }
  }
  d.assign(n, 0.0);
  e.assign(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) d[i] = a[i * n + i];
  for (std::size_t i = 0; i + 1 < n; ++i) e[i] = a[(i + 1) * n + i];
  return q;
}

// Implicit QL with Wilkinson shifts on the tridiagonal (d, e); rotations applied to z's columns.
void diagonalize_tridiagonal(std::vector<double>& d, std::vector<double>& e, std::vector<double>& z, std::size_t n) {
  const double eps = std::numeric_limits<double>::epsilon();
  // A subdiagonal entry is negligible next to its two diagonal ones, or next to the whole matrix:
  // between eigenvalues that are zero but for rounding (a Gram matrix of fewer samples than
  // dimensions) the first test alone never holds.
  double norm = 0.0;
  for (std::size_t i = 0; i < n; ++i) norm = std::max(norm, std::fabs(d[i]) + std::fabs(e[i]));
  const double negligible = eps * norm;
  for (std::size_t l = 0; l < n; ++l) {
    for (int iteration = 0;; ++iteration) {
      std::size_t m = l;
      for (; m + 1 < n; ++m)
        if (std::fabs(e[m]) <= eps * (std::fabs(d[m]) + std::fabs(d[m + 1])) || std::fabs(e[m]) <= negligible) break;
      if (m == l) break;
      if (iteration == 100) throw std::runtime_error("symmetric_eigen: no convergence");
      double g = (d[l + 1] - d[l]) / (2.0 * e[l]);
      double r = std::hypot(g, 1.0);
      g = d[m] - d[l] + e[l] / (g + std::copysign(r, g));
      double s = 1.0, c = 1.0, p = 0.0;
      bool deflated = false;
      for (std::size_t i = m; i-- > l;) {
        const double f = s * e[i], b = c * e[i];
        r = std::hypot(f, g);
        e[i + 1] = r;
        if (r == 0.0) {  // an exactly zero subdiagonal splits the problem: start again
          d[i + 1] -= p;
          e[m] = 0.0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2.0 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        for (std::size_t k = 0; k < n; ++k) {
          const double upper = z[k * n + i + 1];
          z[k * n + i + 1] = s * z[k * n + i] + c * upper;
          z[k * n + i] = c * z[k * n + i] - s * upper;
        }
      }
      if (deflated) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0.0;
    }
  }
}

struct Centred {
  std::vector<double> column_mean;
  double response_mean = 0.0;
  std::vector<double> gram;   // centred x'x, p x p
  std::vector<double> cross;  // centred x'y, p
};

Centred centre(const ad::Tensor& x, const std::vector<float>& y) {
  if (x.shape().size() != 2 || x.shape()[0] != static_cast<std::int64_t>(y.size()) || y.size() < 2) {
    throw std::invalid_argument("regression: design " + ad::shape_string(x.shape()) + " and " + std::to_string(y.size()) +
                                " responses do not match (or fewer than 2 samples)");
  }
  const auto rows = static_cast<std::size_t>(x.shape()[0]), p = static_cast<std::size_t>(x.shape()[1]);
  Centred c;
  c.column_mean.assign(p, 0.0);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t j = 0; j < p; ++j) c.column_mean[j] += x.data()[r * p + j];
    c.response_mean += y[r];
  }
  for (double& m : c.column_mean) m /= static_cast<double>(rows);
  c.response_mean /= static_cast<double>(rows);
  c.gram.assign(p * p, 0.0);
  c.cross.assign(p, 0.0);
  std::vector<double> row(p);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t j = 0; j < p; ++j) row[j] = x.data()[r * p + j] - c.column_mean[j];
    const double yr = y[r] - c.response_mean;
    for (std::size_t i = 0; i < p; ++i) {
      c.cross[i] += row[i] * yr;
      for (std::size_t j = 0; j <= i; ++j) c.gram[i * p + j] += row[i] * row[j];
    }
  }
  for (std::size_t i = 0; i < p; ++i)
    for (std::size_t j = 0; j < i; ++j) c.gram[j * p + i] = c.gram[i * p + j];
  return c;
}

void set_intercept(LinearFit& fit, const Centred& c) {
  fit.intercept = c.response_mean;
  for (std::size_t j = 0; j < fit.weights.size(); ++j) fit.intercept -= c.column_mean[j] * fit.weights[j];
}

double mse(const LinearFit& fit, const ad::Tensor& x, const std::vector<float>& y) {
  const std::vector<double> prediction = predict_linear(fit, x);
  double total = 0.0;
  for (std::size_t r = 0; r < y.size(); ++r) total += (prediction[r] - y[r]) * (prediction[r] - y[r]);
  return total / static_cast<double>(y.size());
}

// Keeps the candidate with the lowest validation MSE.
void keep_better(LinearFit& best, LinearFit candidate, const ad::Tensor& x_validation, const std::vector<float>& y_validation) {
  candidate.validation_mse = mse(candidate, x_validation, y_validation);
  if (best.weights.empty() || candidate.validation_mse < best.validation_mse) best = std::move(candidate);
}

// w = V diag(1 / (lambda_i + strength)) V' x'y over eigenvalues above the cutoff.
std::vector<double> spectral_solve(const SymmetricEigen& eigen, const std::vector<double>& projected, double strength, double cutoff) {
  const std::size_t p = eigen.values.size();
  std::vector<double> w(p, 0.0);
  for (std::size_t i = 0; i < p; ++i) {
    if (eigen.values[i] + strength <= cutoff) continue;
    const double coefficient = projected[i] / (eigen.values[i] + strength);
    for (std::size_t j = 0; j < p; ++j) w[j] += eigen.vectors[j * p + i] * coefficient;
  }
  return w;
}

std::vector<double> project(const SymmetricEigen& eigen, const std::vector<double>& cross) {
  const std::size_t p = cross.size();
  std::vector<double> projected(p, 0.0);
  for (std::size_t j = 0; j < p; ++j)
    for (std::size_t i = 0; i < p; ++i) projected[i] += eigen.vectors[j * p + i] * cross[j];
  return projected;
}

double soft_threshold(double v, double threshold) { return v > threshold ? v - threshold : v < -threshold ? v + threshold : 0.0; }

}  // namespace

SymmetricEigen symmetric_eigen(std::vector<double> matrix, std::size_t n) {
  if (matrix.size() != n * n) throw std::invalid_argument("symmetric_eigen: the matrix is not " + std::to_string(n) + "x" + std::to_string(n));
  std::vector<double> d, e;
  std::vector<double> z = tridiagonalize(matrix, n, d, e);
  diagonalize_tridiagonal(d, e, z, n);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return d[a] < d[b]; });
  SymmetricEigen result;
  result.values.resize(n);
  result.vectors.resize(n * n);
  for (std::size_t i = 0; i < n; ++i) {
    result.values[i] = d[order[i]];
    for (std::size_t r = 0; r < n; ++r) result.vectors[r * n + i] = z[r * n + order[i]];
  }
  return result;
}

std::vector<double> log_spaced(double low, double high, int count) {
  std::vector<double> values(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    const double t = count > 1 ? static_cast<double>(i) / (count - 1) : 0.0;
    values[static_cast<std::size_t>(i)] = std::exp(std::log(low) + t * (std::log(high) - std::log(low)));
  }
  return values;
}

std::vector<double> predict_linear(const LinearFit& fit, const ad::Tensor& x) {
  const auto rows = static_cast<std::size_t>(x.shape()[0]), p = static_cast<std::size_t>(x.shape()[1]);
  if (p != fit.weights.size()) {
    throw std::invalid_argument("regression: design with " + std::to_string(p) + " columns for a fit of " + std::to_string(fit.weights.size()));
  }
  std::vector<double> prediction(rows, fit.intercept);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < p; ++j) prediction[r] += fit.weights[j] * x.data()[r * p + j];
  return prediction;
}

LinearFit fit_ridge(const ad::Tensor& x, const std::vector<float>& y, const ad::Tensor& x_validation,
                    const std::vector<float>& y_validation, const std::vector<double>& strengths) {
  const Centred c = centre(x, y);
  const std::size_t p = c.cross.size();
  const SymmetricEigen eigen = symmetric_eigen(c.gram, p);
  const std::vector<double> projected = project(eigen, c.cross);
  const double mean_eigenvalue = std::max(std::accumulate(eigen.values.begin(), eigen.values.end(), 0.0) / static_cast<double>(p), 1e-300);
  LinearFit best;
  for (const double strength : strengths) {
    LinearFit candidate;
    candidate.strength = strength;
    candidate.weights = spectral_solve(eigen, projected, strength * mean_eigenvalue, 1e-12 * eigen.values.back());
    set_intercept(candidate, c);
    keep_better(best, std::move(candidate), x_validation, y_validation);
  }
  return best;
}

LinearFit fit_ols(const ad::Tensor& x, const std::vector<float>& y) {
  const Centred c = centre(x, y);
  const SymmetricEigen eigen = symmetric_eigen(c.gram, c.cross.size());
  LinearFit fit;
  // Directions with (numerically) no variance get no weight: the minimum-norm solution.
  fit.weights = spectral_solve(eigen, project(eigen, c.cross), 0.0, 1e-10 * std::max(eigen.values.back(), 1e-300));
  set_intercept(fit, c);
  return fit;
}

LinearFit fit_lasso(const ad::Tensor& x, const std::vector<float>& y, const ad::Tensor& x_validation,
                    const std::vector<float>& y_validation, const std::vector<double>& strengths) {
  const Centred c = centre(x, y);
  const std::size_t p = c.cross.size();
  const double rows = static_cast<double>(y.size());
  double largest = 0.0;
  for (const double v : c.cross) largest = std::max(largest, std::fabs(v));
  // Coordinate descent on |y - xw|^2 / (2D) + alpha |w|_1 with gradient bookkeeping
  // residual_j = (x_j'y - sum_k G_jk w_k) / D; strengths from large to small, warm-started.
  std::vector<double> sorted = strengths;
  std::sort(sorted.rbegin(), sorted.rend());
  std::vector<double> w(p, 0.0), residual(p);
  for (std::size_t j = 0; j < p; ++j) residual[j] = c.cross[j] / rows;
  LinearFit best;
  for (const double strength : sorted) {
    const double alpha = strength * largest / rows;
    for (int sweep = 0; sweep < 1000; ++sweep) {
      double largest_change = 0.0, largest_weight = 0.0;
      for (std::size_t j = 0; j < p; ++j) {
        const double curvature = c.gram[j * p + j] / rows;
        if (curvature <= 0.0) continue;
        const double updated = soft_threshold(residual[j] + curvature * w[j], alpha) / curvature;
        const double change = updated - w[j];
        if (change == 0.0) continue;
        w[j] = updated;
        for (std::size_t k = 0; k < p; ++k) residual[k] -= c.gram[k * p + j] / rows * change;
        largest_change = std::max(largest_change, std::fabs(change));
        largest_weight = std::max(largest_weight, std::fabs(updated));
      }
      if (largest_change <= 1e-6 * std::max(largest_weight, 1e-12)) break;
    }
    LinearFit candidate;
    candidate.strength = strength;
    candidate.weights = w;
    set_intercept(candidate, c);
    keep_better(best, std::move(candidate), x_validation, y_validation);
  }
  return best;
}

}  // namespace ww::nn
