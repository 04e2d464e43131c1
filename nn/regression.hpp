#pragma once
// Per-neuron linear regression, the classical baselines of the paper's Fig. 3: OLS, ridge and
// lasso on a design matrix (e.g. the stimulus crop at a neuron's location), with an intercept,
// the regularisation strength chosen by validation MSE.
#include <vector>

#include "autodiff/tensor.hpp"

namespace ww::nn {

// Eigendecomposition of a symmetric n x n matrix (row-major, double): eigenvalues ascending,
// eigenvectors as the columns of `vectors` (row-major n x n). Householder tridiagonalisation,
// then implicit QL with Wilkinson shifts.
struct SymmetricEigen {
  std::vector<double> values, vectors;
};
SymmetricEigen symmetric_eigen(std::vector<double> matrix, std::size_t n);

struct LinearFit {
  std::vector<double> weights;  // one per column of the design
  double intercept = 0.0;
  double strength = 0.0;        // the chosen one (relative, see below)
  double validation_mse = 0.0;
};

// Designs x [D, p] and responses y [D] (and the validation pair). Strengths are relative: ridge
// penalises strength * mean eigenvalue of the centred x'x * |w|^2; lasso minimises
// |y - xw - b|^2 / (2D) + strength * max_j |x_j'y| / D * |w|_1 (strength 1 zeroes every weight).
LinearFit fit_ridge(const ad::Tensor& x, const std::vector<float>& y, const ad::Tensor& x_validation,
                    const std::vector<float>& y_validation, const std::vector<double>& strengths);
// Ordinary least squares (minimum-norm when x'x is singular).
LinearFit fit_ols(const ad::Tensor& x, const std::vector<float>& y);
LinearFit fit_lasso(const ad::Tensor& x, const std::vector<float>& y, const ad::Tensor& x_validation,
                    const std::vector<float>& y_validation, const std::vector<double>& strengths);

// count strengths spaced evenly in log from low to high.
std::vector<double> log_spaced(double low, double high, int count);

// x w + b for each row of x.
std::vector<double> predict_linear(const LinearFit& fit, const ad::Tensor& x);

}  // namespace ww::nn
