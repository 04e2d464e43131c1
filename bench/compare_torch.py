#!/usr/bin/env python3
"""Times ww-bench's workloads and the same computations in PyTorch (Debian's python3-torch) in one
invocation, alternating between the two, and prints both medians and their ratio; then the peak
memory of a process running one training step workload on each side.

Usage: bench/compare_torch.py [--ww-bench build/bench/ww-bench] [--threads 2] [--filter REGEX]

PyTorch is configured fairly: an explicit thread count, OpenBLAS's own choice of kernels, and glibc
told to keep freed memory (first touches of fresh pages are expensive on these VMs); the script
re-executes itself with that environment. Where OpenBLAS does not know the CPU (Debian 12's 0.3.21
takes a virtualised "Intel Xeon Processor" of model 207 for a Prescott, with SSE3 kernels: a 1024^3
product at 32 GFLOP/s on one thread instead of SkylakeX's 146), OPENBLAS_CORETYPE is set to the
core its instruction set runs (SkylakeX with AVX-512, Haswell with AVX2), and the header says so.
Debian's python3-torch calls whatever libblas.so.3 the alternatives system selects: install
libopenblas0-pthread, or its matrix products run on the reference BLAS (about 40x slower); the
script refuses to compare against the reference BLAS."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

FAIR_ENV = {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296"}
CONFIGURED = "COMPARE_TORCH_CONFIGURED"  # set in the re-executed process: the OpenBLAS note (or empty)


def openblas_core(env):
    """The core OpenBLAS picks by itself, as it reports it while PyTorch is imported (None if it
    says nothing: another BLAS, or PyTorch missing, which the re-executed script reports)."""
    probe = subprocess.run([sys.executable, "-c", "import torch"], env=dict(env, OPENBLAS_VERBOSE="2"),
                           capture_output=True, text=True)
    found = re.search(r"Core: (\w+)", probe.stdout + probe.stderr)
    return found.group(1) if found else None


def core_for_instruction_set():
    """OpenBLAS's core type whose kernels use this CPU's widest FMA vectors (None: neither)."""
    with open("/proc/cpuinfo") as cpuinfo:
        flags = next((line.split(":", 1)[1].split() for line in cpuinfo if line.startswith("flags")), [])
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= set(flags):
        return "SkylakeX"
    return "Haswell" if {"avx2", "fma"} <= set(flags) else None


if CONFIGURED not in os.environ:
    env = dict(os.environ, **FAIR_ENV)
    env.pop("OPENBLAS_CORETYPE", None)
    chosen, note = openblas_core(env), ""
    # Prescott is OpenBLAS's fallback for a CPU it does not know.
    instead = core_for_instruction_set() if chosen == "Prescott" else None
    if instead:
        env["OPENBLAS_CORETYPE"] = instead
        note = f"; OpenBLAS took this CPU for a {chosen}: OPENBLAS_CORETYPE={instead}"
    elif chosen:
        note = f"; OpenBLAS core {chosen}"
    env[CONFIGURED] = note
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.path.exists("/usr/bin/python3"):
        # Debian's python3-torch is importable only by Debian's Python (not a pyenv or conda one).
        sys.exit(f"compare_torch: PyTorch is not importable by {sys.executable}; "
                 "run this script with /usr/bin/python3 (Debian's python3-torch)")
    sys.exit("compare_torch: PyTorch is not installed (apt-get install python3-torch)")

BLAS_LINK = "/etc/alternatives/libblas.so.3-x86_64-linux-gnu"
if os.path.exists(BLAS_LINK) and "openblas" not in os.path.realpath(BLAS_LINK):
    sys.exit(f"compare_torch: {BLAS_LINK} -> {os.path.realpath(BLAS_LINK)} is not OpenBLAS; "
             "install libopenblas0-pthread for a fair comparison")

LAPLACIAN = torch.tensor([[0.5, 1.0, 0.5], [1.0, -6.0, 1.0], [0.5, 1.0, 0.5]]).view(1, 1, 3, 3)


def timed(body, min_seconds):
    body()
    times, total = [], 0.0
    while len(times) < 5 or (total < min_seconds and len(times) < 1000):
        start = time.perf_counter()
        body()
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        total += elapsed
    return statistics.median(times) * 1e3


def pass_body(make_inputs, fn, backward):
    inputs = make_inputs()
    if not backward:
        def forward_only():
            with torch.no_grad():
                fn(*inputs)
        return forward_only
    with torch.no_grad():
        cotangent = torch.randn_like(fn(*inputs))

    def forward_backward():
        for t in inputs:
            t.grad = None
        fn(*inputs).backward(cotangent)
    return forward_backward


def conv_case(batch, cin, cout, k, side):
    return lambda: [torch.randn(batch, cin, side, side, requires_grad=True),
                    torch.randn(cout, cin, k, k, requires_grad=True)], lambda x, w: F.conv2d(x, w)


class Factorized(torch.nn.Module):
    def __init__(self, layers, side, neurons, positive=False, output=None, loss="mse"):
        super().__init__()
        convs, norms, acts, cin = [], [], [], 1
        for channels, k, act in layers:
            convs.append(torch.nn.Conv2d(cin, channels, k, bias=False))
            norms.append(torch.nn.BatchNorm2d(channels))
            acts.append(act)
            side -= k - 1
            cin = channels
        self.convs, self.norms, self.acts = torch.nn.ModuleList(convs), torch.nn.ModuleList(norms), acts
        self.mask = torch.nn.Parameter(torch.randn(neurons, side * side) * 1e-3)
        self.features = torch.nn.Parameter(torch.randn(cin, neurons) * 0.01 + 1.0 / cin)
        self.bias = torch.nn.Parameter(torch.zeros(neurons))
        self.positive, self.output, self.loss_kind = positive, output, loss

    def forward(self, x):
        for conv, norm, act in zip(self.convs, self.norms, self.acts):
            x = act(norm(conv(x)))
        b, k, h, w = x.shape
        mask = self.mask.abs() if self.positive else self.mask
        features = self.features.abs() if self.positive else self.features
        r = ((x.reshape(b * k, h * w) @ mask.T).view(b, k, -1) * features).sum(1) + self.bias
        return self.output(r) if self.output else r


def step_case(name):
    identity = lambda v: v
    if name == "step_linear":
        model, batch, side, neurons = Factorized([(1, 17, identity)], 48, 1000), 256, 48, 1000
    elif name == "step_nonlinear":
        model, batch, side, neurons = Factorized([(32, 5, F.relu), (64, 5, F.relu), (4, 5, F.relu)], 44, 1000), 64, 44, 1000
    else:
        model = Factorized([(48, 13, F.softplus), (48, 3, F.softplus), (48, 3, identity)], 31, 103, positive=True,
                           output=F.softplus, loss="poisson")
        batch, side, neurons = 256, 31, 103
    images = torch.randn(batch, 1, side, side)
    targets = torch.randn(batch, neurons).abs()
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        adam.zero_grad()
        prediction = model(images)
        if model.loss_kind == "mse":
            loss = ((prediction - targets) ** 2).mean() + 0.01 * model.mask.abs().sum() + 0.01 * model.features.abs().sum()
        else:
            loss = (prediction - targets * torch.log(prediction + 1e-5)).sum() / batch
            w0 = model.convs[0].weight
            images0 = w0.reshape(-1, 1, w0.shape[2], w0.shape[3])
            smooth = ((F.conv2d(images0, LAPLACIAN * 0.5, padding=1) ** 2).sum((1, 2, 3)) / (images0 ** 2).sum((1, 2, 3))).sum()
            group = sum(torch.sqrt((c.weight ** 2).sum((2, 3)) + 1e-12).sum() for c in model.convs[1:])
            product = (model.mask.abs().sum(1) * model.features.abs().sum(0)).sum()
            loss = loss + 0.01 * (smooth + group + product)
        loss.backward()
        adam.step()
    return step


def readout_case(kind, batch, channels, height, width, neurons):
    def make():
        core = torch.randn(batch, channels, height, width, requires_grad=True)
        if kind == "factorized":
            return [core, torch.randn(neurons, height * width, requires_grad=True),
                    torch.randn(channels, neurons, requires_grad=True), torch.zeros(neurons, requires_grad=True)]
        return [core, (torch.rand(neurons, 2) * 0.2 - 0.1).requires_grad_(), torch.eye(2).repeat(neurons, 1, 1).requires_grad_(),
                torch.full((neurons, channels), 1.0 / channels, requires_grad=True), torch.zeros(neurons, requires_grad=True)]

    def factorized(c, mask, features, bias):
        b, k, h, w = c.shape
        return ((c.reshape(b * k, h * w) @ mask.T).view(b, k, -1) * features).sum(1) + bias

    def gaussian(c, mu, sigma, features, bias):
        # Training mode: positions mu + Sigma eps, one sample per image and neuron.
        eps = torch.randn(c.shape[0], mu.shape[0], 2)
        grid = (mu + torch.einsum("nij,bnj->bni", sigma, eps)).unsqueeze(2)
        sampled = F.grid_sample(c, grid, align_corners=True)[..., 0].transpose(1, 2)
        return (sampled * features).sum(2) + bias
    return make, factorized if kind == "factorized" else gaussian


def torch_body(name):
    convs = {"conv_nl1": (64, 1, 32, 5, 44), "conv_nl2": (64, 32, 64, 5, 40), "conv_nl3": (64, 64, 4, 5, 36),
             "conv_v1_1": (256, 1, 48, 13, 31), "conv_v1_2": (256, 48, 48, 3, 19), "conv_lin": (256, 1, 1, 17, 48)}
    base, _, kind = name.rpartition("_")
    if name.startswith("step_"):
        return step_case(name)
    readouts = {"readout_nl": ("factorized", 64, 4, 32, 32, 1000), "readout_v1": ("factorized", 256, 48, 15, 15, 103),
                "readout_big": ("factorized", 64, 64, 18, 32, 5000), "gaussian_big": ("gaussian", 64, 64, 18, 32, 5000)}
    if base in readouts:
        make, fn = readout_case(*readouts[base])
        return pass_body(make, fn, kind == "fwdbwd")
    if base in convs:
        make, fn = conv_case(*convs[base])
        return pass_body(make, fn, kind == "fwdbwd")
    shape = (64, 32, 40, 40)
    if base in ("softplus", "relu"):
        fn = F.softplus if base == "softplus" else F.relu
        return pass_body(lambda: [torch.randn(*shape, requires_grad=True)], fn, kind == "fwdbwd")
    if base == "batchnorm":
        running_mean, running_var = torch.zeros(32), torch.ones(32)
        return pass_body(lambda: [torch.randn(*shape, requires_grad=True), torch.ones(32, requires_grad=True),
                                  torch.zeros(32, requires_grad=True)],
                         lambda x, g, b: F.batch_norm(x, running_mean, running_var, g, b, training=True), kind == "fwdbwd")
    return None


def ours(ww_bench, name, threads, min_seconds):
    """ww-bench on one workload in a fresh process: its median and the process's peak RSS. It runs
    without PyTorch's malloc settings (which keep every freed page: 552 MB instead of 228 for
    step_nonlinear; ours keeps freed tensors in its own cache)."""
    env = {k: v for k, v in os.environ.items() if k not in FAIR_ENV}
    out = subprocess.run([ww_bench, "--filter", "^" + re.escape(name) + "$", "--threads", str(threads), "--format", "json",
                          "--min-seconds", str(min_seconds)], check=True, capture_output=True, text=True, env=env).stdout
    result = json.loads(out)[0]
    return result["median_ms"], result["peak_rss_mb"]


def status_mb(field):
    """VmRSS (now) or VmHWM (the peak since the last reset) of this process, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def torch_step_memory(name, threads):
    """Run in a fresh process (--memory-of): PyTorch's peak RSS over a few steps, and its RSS once
    imported (the interpreter and libtorch, before the workload exists). Importing torch peaks
    above where it settles, so the peak is reset (clear_refs 5) before the workload."""
    torch.set_num_threads(threads)
    imported = status_mb("VmRSS")
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    step = torch_body(name)
    for _ in range(3):
        step()
    print(json.dumps({"imported_mb": imported, "peak_mb": status_mb("VmHWM")}))


def compare_memory(args, names):
    steps = [n for n in names if n.startswith("step_")]
    if not steps:
        return
    print("\npeak RSS of a process running one workload (MB); PyTorch's also less its RSS once imported")
    print(f"{'workload':24s} {'ww_MB':>8s} {'torch_MB':>9s} {'torch-import':>13s} {'ratio':>7s}")
    for name in steps:
        _, ww_mb = ours(args.ww_bench, name, args.threads, 0.05)
        out = subprocess.run([sys.executable, __file__, "--memory-of", name, "--threads", str(args.threads)], check=True,
                             capture_output=True, text=True).stdout
        t = json.loads(out.strip().splitlines()[-1])
        workload_mb = t["peak_mb"] - t["imported_mb"]
        print(f"{name:24s} {ww_mb:8.0f} {t['peak_mb']:9.0f} {workload_mb:13.0f} {ww_mb / workload_mb:7.2f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ww-bench", default="build/bench/ww-bench")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--filter", default="^(conv|softplus|relu|batchnorm|readout|gaussian|step)")
    parser.add_argument("--min-seconds", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=2, help="alternations of ours and PyTorch per workload")
    parser.add_argument("--memory-of", help=argparse.SUPPRESS)  # internal: one step's memory in this process
    args = parser.parse_args()
    if args.memory_of:
        return torch_step_memory(args.memory_of, args.threads)
    torch.set_num_threads(args.threads)
    names = subprocess.run([args.ww_bench, "--list", "--filter", args.filter], check=True, capture_output=True,
                           text=True).stdout.split()
    print(f"PyTorch {torch.__version__}, {args.threads} threads{os.environ[CONFIGURED]}; medians of {args.rounds} alternating rounds")
    print(f"{'workload':24s} {'ww_ms':>10s} {'torch_ms':>10s} {'ratio':>7s}")
    for name in names:
        body = torch_body(name)
        if body is None:
            continue
        ww_times, torch_times = [], []
        for _ in range(args.rounds):
            ww_times.append(ours(args.ww_bench, name, args.threads, args.min_seconds)[0])
            torch_times.append(timed(body, args.min_seconds))
        ww_ms, torch_ms = statistics.median(ww_times), statistics.median(torch_times)
        print(f"{name:24s} {ww_ms:10.3f} {torch_ms:10.3f} {ww_ms / torch_ms:7.2f}", flush=True)
    compare_memory(args, names)


if __name__ == "__main__":
    main()
