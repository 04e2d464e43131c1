#!/usr/bin/env python3
"""Recomputes, in PyTorch (float64), each case that test_parity wrote: the same model with the same
weights and inputs; compares the prediction, loss, penalty and every gradient with ours.

Usage: torch_parity.py DIR  (DIR holds <case>.json and <case>.npz for each case)
Prints one line per compared quantity; exits 1 when any relative error exceeds 1e-4,
and 77 (skip) when PyTorch is not installed."""
import json
import pathlib
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as missing:
    print(f"torch_parity: skipped, {missing.name} is not installed (apt-get install python3-torch)")
    sys.exit(77)

TOLERANCE = 1e-4
LAPLACIAN = [[0.5, 1.0, 0.5], [1.0, -6.0, 1.0], [0.5, 1.0, 0.5]]


def activate(x, name):
    return {"identity": lambda v: v, "relu": F.relu, "softplus": F.softplus, "elu": F.elu}[name](x)


def core_forward(config, p, b, x, training):
    for i, layer in enumerate(config["core"]["layers"]):
        prefix = f"core.layer{i}."
        pad = "same" if layer["padding"] == "same" else "valid"
        k = layer["kernel"]
        if pad == "same":
            # PyTorch's 'same' pads the extra row/column bottom/right, as ours.
            top = (k - 1) // 2
            x = F.pad(x, (top, k - 1 - top, top, k - 1 - top))
        x = F.conv2d(x, p[prefix + "weight"])
        if layer["batch_norm"]:
            x = F.batch_norm(x, b[prefix + "running_mean"], b[prefix + "running_var"],
                             p.get(prefix + "bn_scale"), p.get(prefix + "bn_center"),
                             training=training, momentum=0.1, eps=1e-5)
        x = activate(x, layer["nonlinearity"])
    return x


def gaussian_positions(r, p, eps, training):
    """mu in evaluation; mu + Sigma eps in training (eps [B, N, 2] as drawn by the C++ side)."""
    mu = p["readout.mu"]
    if not training:
        return mu.view(1, -1, 2).expand(eps.shape[0], -1, 2)
    sigma = p["readout.sigma"]
    if r["covariance"] == "full":
        return mu + torch.einsum("nij,bnj->bni", sigma, eps)
    return mu + sigma * eps  # [N, 2] or [N, 1] broadcast


def readout_forward(config, p, b, c, eps, training):
    r = config["readout"]
    batch, channels, height, width = c.shape
    kind = r["kind"]
    if kind in ("factorized", "fixed_mask"):
        mask = p["readout.mask"] if kind == "factorized" else b["readout.mask"]
        features = p["readout.features"]
        if r["positive"]:
            features = features.abs()
            if kind == "factorized":
                mask = mask.abs()
        if r["normalize_features"]:
            features = features / torch.sqrt((features ** 2).sum(0) + 1e-12)
        located = (c.reshape(batch * channels, height * width) @ mask.T).reshape(batch, channels, -1)
        raw = (located * features).sum(1)
    elif kind == "fully_connected":
        raw = c.reshape(batch, -1) @ p["readout.weight"].T
    else:
        grid = gaussian_positions(r, p, eps, training).unsqueeze(2)
        sampled = F.grid_sample(c, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
        raw = (sampled[..., 0].transpose(1, 2) * p["readout.features"]).sum(2)
    if r["bias"]:
        raw = raw + p["readout.bias"]
    return activate(raw, r["output"])


def penalty(config, p, b, prediction):
    pen = config["penalties"]
    r = config["readout"]
    total = torch.zeros((), dtype=torch.float64)
    kernels = [p[f"core.layer{i}.weight"] for i in range(len(config["core"]["layers"]))]
    if pen["smoothness"]:
        w = kernels[0]
        scale = 0.5 if pen["smoothness_normalized"] else 1.0
        lap = torch.tensor(LAPLACIAN, dtype=torch.float64).view(1, 1, 3, 3) * scale
        images = w.reshape(-1, 1, w.shape[2], w.shape[3])
        per_kernel = (F.conv2d(images, lap, padding=1) ** 2).sum((1, 2, 3))
        if pen["smoothness_normalized"]:
            per_kernel = per_kernel / (images ** 2).sum((1, 2, 3))
        total = total + pen["smoothness"] * per_kernel.sum()
    for i, w in enumerate(kernels):
        if i > 0 and pen["group_sparsity"]:
            total = total + pen["group_sparsity"] * torch.sqrt((w ** 2).sum((2, 3)) + 1e-12).sum()
        if pen["kernel_l2"]:
            total = total + pen["kernel_l2"] * (w ** 2).sum()
    kind = r["kind"]
    if kind == "factorized" and pen["mask_l1"]:
        total = total + pen["mask_l1"] * p["readout.mask"].abs().sum()
    if kind in ("factorized", "fixed_mask", "gaussian") and pen["feature_l1"]:
        total = total + pen["feature_l1"] * p["readout.features"].abs().sum()
    if kind in ("factorized", "fixed_mask") and pen["readout_product"]:
        mask = p["readout.mask"] if kind == "factorized" else b["readout.mask"]
        total = total + pen["readout_product"] * (mask.abs().sum(1) * p["readout.features"].abs().sum(0)).sum()
    if kind == "fully_connected":
        if pen["readout_l2"]:
            total = total + pen["readout_l2"] * (p["readout.weight"] ** 2).sum()
        if pen["activity_l1"]:
            total = total + pen["activity_l1"] * prediction.abs().sum(1).mean()
    return total


def loss(config, prediction, responses):
    if config["loss"] == "mse":
        return ((prediction - responses) ** 2).mean()
    return (prediction - responses * torch.log(prediction + 1e-5)).sum() / prediction.shape[0]


def relative_error(ours, reference):
    reference = np.asarray(reference, dtype=np.float64)
    scale = np.linalg.norm(reference)
    difference = np.linalg.norm(np.asarray(ours, dtype=np.float64) - reference)
    return difference / scale if scale > 0 else difference


def check_case(json_path):
    spec = json.loads(json_path.read_text())
    config, training = spec["config"]["model"], spec["training_mode"]
    arrays = np.load(json_path.with_suffix(".npz"))
    as_tensor = lambda a, grad: torch.tensor(a, dtype=torch.float64, requires_grad=grad)
    p = {k[6:]: as_tensor(arrays[k], True) for k in arrays.files if k.startswith("param:")}
    b = {k[7:]: as_tensor(arrays[k], False) for k in arrays.files if k.startswith("buffer:")}
    images = as_tensor(arrays["images"], True)
    responses = as_tensor(arrays["responses"], False)
    eps = torch.tensor(arrays["eps"], dtype=torch.float64)
    # Normalisation kept with the model: the core sees (image - mean) / SD, the readout predicts in
    # units of each neuron's response SD; loss and penalties compare in those units.
    image_mean, image_sd = b["normalization.image"]
    response_sd = b["normalization.response_sd"]
    normalized = readout_forward(config, p, b, core_forward(config, p, b, (images - image_mean) / image_sd, training), eps, training)
    prediction = normalized * response_sd
    data_loss = loss(config, normalized, responses / response_sd)
    pen = penalty(config, p, b, normalized)
    (data_loss + pen).backward()
    results = [("prediction", arrays["prediction"], prediction.detach().numpy()),
               ("loss", arrays["loss"], data_loss.item()),
               ("penalty", arrays["penalty"], pen.item()),
               ("grad images", arrays["grad_images"], images.grad.numpy())]
    # A parameter the forward pass does not use (sigma in evaluation mode) has gradient zero.
    results += [(f"grad {name}", arrays["grad:" + name],
                 tensor.grad.numpy() if tensor.grad is not None else np.zeros(tuple(tensor.shape))) for name, tensor in p.items()]
    results += [(f"running {name}", arrays["after:" + name], tensor.numpy()) for name, tensor in b.items()
                if name.endswith(("running_mean", "running_var"))]
    worst = 0.0
    for what, ours, reference in results:
        error = relative_error(ours, reference)
        worst = max(worst, error)
        print(f"{json_path.stem:28s} {what:36s} relative error {error:.2e}")
    return worst


def main():
    folder = pathlib.Path(sys.argv[1])
    torch.set_num_threads(1)
    worst = max(check_case(path) for path in sorted(folder.glob("*.json")))
    print(f"torch_parity: largest relative error {worst:.2e} (tolerance {TOLERANCE:.0e})")
    sys.exit(0 if worst <= TOLERANCE else 1)


if __name__ == "__main__":
    main()
