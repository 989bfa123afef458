"""Benchmark the default simulation: median wall time and peak memory, against a plain PyTorch CPU loop.

Usage: python bench/bench_sim.py [--runs 5]
The PyTorch comparison runs only if torch is importable (it is not a dependency of kdanim).
"""

import argparse
import os
import resource
import statistics
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from kdanim.sim import SimConfig  # noqa: E402
from kdanim.sim.data import make_dataset  # noqa: E402
from kdanim.trace import simulate_trace as simulate  # noqa: E402


def time_numpy(cfg, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        simulate(cfg, measure_latency=True)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    simulate(cfg, measure_latency=True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return times, peak


def torch_run(cfg, torch):
    """The same three trainings as an ordinary PyTorch loop: same layers, samples, batches, transfer set, epochs, Adam."""
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(cfg.seed)
    data = make_dataset(cfg, np.random.default_rng(cfg.seed))
    x_pool = torch.from_numpy(data.x_pool.astype(np.float32))
    y_pool = torch.from_numpy(data.y_pool)
    x_test = torch.from_numpy(data.x_test.astype(np.float32))
    y_test = torch.from_numpy(data.y_test)
    idx = torch.from_numpy(data.train_idx)
    x_train, y_train = x_pool[idx], y_pool[idx]
    x_transfer = x_pool[torch.from_numpy(data.transfer_idx)]

    def mlp(hidden):
        layers, n = [], cfg.n_features
        for w in hidden:
            layers += [nn.Linear(n, w), nn.ReLU()]
            n = w
        return nn.Sequential(*layers, nn.Linear(n, cfg.n_classes))

    def fit(model, x, y, epochs, batch_size, teacher_logits=None, transfer=False):
        opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
        tb = cfg.transfer_batch_size
        for _ in range(epochs):
            perm = torch.randperm(len(y))
            tperm = torch.randperm(len(x_transfer)).repeat(len(y) // batch_size + 2)  # wraps like np.take
            for n, start in enumerate(range(0, len(y), batch_size)):
                b = perm[start:start + batch_size]
                z = model(x[b])
                loss = F.cross_entropy(z, y[b])
                if teacher_logits is not None:
                    tau, a = cfg.tau, cfg.alpha
                    zt = teacher_logits[b]
                    if transfer:  # the labelled rows, then the unlabelled transfer rows (soft term only)
                        u = tperm[n * tb:(n + 1) * tb]
                        z, zt = torch.cat([z, model(x_transfer[u])]), torch.cat([zt, t_transfer[u]])
                    soft = F.kl_div(F.log_softmax(z / tau, -1), F.log_softmax(zt / tau, -1),
                                    reduction="batchmean", log_target=True)
                    loss = (1 - a) * loss + a * tau * tau * soft
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():  # the per-epoch test evaluation the trace also records
                (model(x_test).argmax(-1) == y_test).float().mean().item()

    teacher = mlp(cfg.teacher_hidden)
    fit(teacher, x_pool, y_pool, cfg.teacher_epochs, cfg.teacher_batch_size)
    with torch.no_grad():
        t_train, t_transfer = teacher(x_train), teacher(x_transfer)
    student0 = mlp(cfg.student_hidden)
    for distil in (False, True):
        student = mlp(cfg.student_hidden)
        student.load_state_dict(student0.state_dict())
        fit(student, x_train, y_train, cfg.epochs, cfg.batch_size, t_train if distil else None,
            transfer=distil and cfg.alpha > 0 and len(x_transfer) > 0)


def time_torch(cfg, runs, threads=None):
    try:
        import torch
    except ImportError:
        return None
    if threads:
        torch.set_num_threads(threads)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        torch_run(cfg, torch)
        times.append(time.perf_counter() - t0)
    return times, torch.__version__, torch.get_num_threads()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    cfg = SimConfig()
    print(f"default simulation: teacher {cfg.teacher_hidden} × {cfg.teacher_epochs} epochs on "
          f"{cfg.teacher_n_train}, students {cfg.student_hidden} × {cfg.epochs} epochs on {cfg.n_train} labelled "
          f"+ {cfg.n_transfer} unlabelled, "
          f"{os.cpu_count()} CPUs, numpy {np.__version__}")
    simulate(cfg.replace(epochs=1, teacher_epochs=1), measure_latency=False)  # warm-up (imports, BLAS)
    times, peak = time_numpy(cfg, args.runs)
    print(f"kdanim (NumPy), all three models + trace + latency: median {statistics.median(times):.3f} s "
          f"over {args.runs} runs (min {min(times):.3f}, max {max(times):.3f})")
    print(f"  peak traced memory of one run: {peak / 2**20:.1f} MiB; "
          f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    for threads in (None, 1):  # torch's default thread count, then one thread like kdanim
        result = time_torch(cfg, args.runs, threads)
        if result is None:
            print("PyTorch: not installed, comparison skipped")
            return
        ttimes, version, n = result
        print(f"PyTorch {version} CPU loop ({n} threads), same three trainings: "
              f"median {statistics.median(ttimes):.3f} s (min {min(ttimes):.3f}, max {max(ttimes):.3f}); "
              f"kdanim is {statistics.median(ttimes) / statistics.median(times):.1f}× faster")


if __name__ == "__main__":
    main()
