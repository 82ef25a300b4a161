"""PyTorch worker for `lernen bench` (src/cli/bench.ts): trains W1 (mlp) or W2 (cnn) on MNIST.

Started by the harness as `python3 torch_worker.py '<json config>'` with OPENBLAS_NUM_THREADS and
OMP_NUM_THREADS already in the environment (they must be set before torch loads OpenBLAS).
Protocol, one JSON object per line: the harness writes {"cmd": "rep", "batches": N} or
{"cmd": "exit"} on stdin; the worker answers on stdout with {"type": "ready"}, {"type":
"progress"}, {"type": "rep", "seconds": s} and, before exiting, {"type": "done"}.
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def send(**msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def idx(path, header):
    with open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=header)


def build(workload):
    if workload == "w1":
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2),
            nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.2),
            nn.Linear(512, 10))
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(),
        nn.Conv2d(32, 64, 3), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
        nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10))


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg["threads"])
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(cfg["seed"])
    d = cfg["mnistDir"]
    x = torch.from_numpy(idx(os.path.join(d, "train-images-idx3-ubyte"), 16).reshape(60000, 1, 28, 28).astype(np.float32) / 255.0)
    y = torch.from_numpy(idx(os.path.join(d, "train-labels-idx1-ubyte"), 8).astype(np.int64))
    w1 = cfg["workload"] == "w1"
    bs = 128 if w1 else 64
    model = build(cfg["workload"])
    opt = torch.optim.SGD(model.parameters(), lr=0.05 if w1 else 0.01, momentum=0.9)

    def run(batches, report):
        model.train()
        perm = torch.randperm(x.shape[0])
        t0 = time.perf_counter()
        last = t0
        loss = None
        for b in range(batches):
            i = perm[(b * bs) % 60000:(b * bs) % 60000 + bs]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[i]), y[i])
            loss.backward()
            opt.step()
            now = time.perf_counter()
            if report and now - last >= 1.0:
                last = now
                send(type="progress", batch=b + 1, of=batches, elapsed=now - t0)
        lv = loss.item() if loss is not None else float("nan")
        return time.perf_counter() - t0, lv

    run(cfg["warmup"], False)
    send(type="ready", peakRssMB=peak_rss_mb(), info="torch %s, %d torch thread(s), OPENBLAS_NUM_THREADS=%s, OMP_NUM_THREADS=%s" % (
        torch.__version__, torch.get_num_threads(), os.environ.get("OPENBLAS_NUM_THREADS"), os.environ.get("OMP_NUM_THREADS")))
    for line in sys.stdin:
        msg = json.loads(line)
        if msg["cmd"] == "rep":
            s, lv = run(msg["batches"], True)
            send(type="rep", seconds=s, batches=msg["batches"], loss=lv)
        elif msg["cmd"] == "exit":
            break
    send(type="done", peakRssMB=peak_rss_mb())


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # the harness shows this message in the table
        send(type="error", message="%s: %s" % (type(e).__name__, e))
        sys.exit(1)
