#!/usr/bin/env python3
"""Checks an ONNX model that jaq exported against jaq's own predictions, with ONNX Runtime.

  tools/onnx_check.py OUT/model.onnx OUT/predictions.csv [--data-dir DIR] [--dataset fashion-mnist|cifar10]

OUT is a //examples:search output folder: model.onnx (images in [0, 1], the graph normalises)
and predictions.csv (index,label,prediction: jaq's fake-quant arg-max on the first N test
images, in file order). The test images are read from the data set's own files (the
fashion-mnist idx files, gzip or not, or CIFAR-10's test_batch.bin), scaled to [0, 1], run
through ONNX Runtime on the CPU, and compared image by image. Prints one JSON line; exits 1 when
fewer than --min-agree (0.999) of the images agree or the accuracies differ by more than
--max-accuracy-gap (0.001, i.e. 0.1 points), 2 on a usage or input error. Needs onnxruntime
and numpy (tools/bootstrap.sh --onnx puts them in /opt/jaq-onnx-venv).
"""
import argparse
import csv
import gzip
import json
import os
import sys


def fail(msg, code=2):
    print(f"onnx_check: {msg}", file=sys.stderr)
    sys.exit(code)


def read_maybe_gz(path):
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            with (gzip.open(p, "rb") if p.endswith(".gz") else open(p, "rb")) as f:
                return f.read()
    fail(f"{path}[.gz]: not found")


def fashion_mnist_test(data_dir, np):
    raw = read_maybe_gz(os.path.join(data_dir, "t10k-images-idx3-ubyte"))
    if len(raw) < 16 or int.from_bytes(raw[:4], "big") != 2051:
        fail(f"{data_dir}/t10k-images-idx3-ubyte: not an idx image file")
    n, rows, cols = (int.from_bytes(raw[4 * i:4 * i + 4], "big") for i in (1, 2, 3))
    if len(raw) != 16 + n * rows * cols:
        fail(f"{data_dir}/t10k-images-idx3-ubyte: truncated ({len(raw)} bytes for {n} images)")
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, 1, rows, cols)


def cifar10_test(data_dir, np):
    raw = read_maybe_gz(os.path.join(data_dir, "test_batch.bin"))
    if len(raw) % 3073:
        fail(f"{data_dir}/test_batch.bin: {len(raw)} bytes is not a whole number of 3073-byte records")
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3073)[:, 1:].reshape(-1, 3, 32, 32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("predictions")
    ap.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "cifar10"])
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--min-agree", type=float, default=0.999)
    ap.add_argument("--max-accuracy-gap", type=float, default=0.001)
    a = ap.parse_args()
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as e:
        fail(f"needs numpy and onnxruntime ({e}); tools/bootstrap.sh --onnx installs them in /opt/jaq-onnx-venv")

    with open(a.predictions, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or set(rows[0]) != {"index", "label", "prediction"}:
        fail(f"{a.predictions}: expected the columns index,label,prediction")
    labels = np.array([int(r["label"]) for r in rows])
    jaq_pred = np.array([int(r["prediction"]) for r in rows])
    if [int(r["index"]) for r in rows] != list(range(len(rows))):
        fail(f"{a.predictions}: indices are not 0..{len(rows) - 1} in order")

    images = fashion_mnist_test(a.data_dir, np) if a.dataset == "fashion-mnist" else cifar10_test(a.data_dir, np)
    if len(images) < len(rows):
        fail(f"{a.data_dir}: {len(images)} test images, {len(rows)} predictions")
    images = images[:len(rows)].astype(np.float32) / np.float32(255.0)

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    ort_pred = np.concatenate([sess.run(None, {name: images[i:i + a.batch]})[0].argmax(axis=1)
                               for i in range(0, len(images), a.batch)])
    agree = float((ort_pred == jaq_pred).mean())
    acc_jaq = float((jaq_pred == labels).mean())
    acc_ort = float((ort_pred == labels).mean())
    ok = agree >= a.min_agree and abs(acc_jaq - acc_ort) <= a.max_accuracy_gap
    first = int(np.argmax(ort_pred != jaq_pred)) if agree < 1 else -1
    print(json.dumps({"images": len(rows), "agreeing": int((ort_pred == jaq_pred).sum()), "agreement": agree,
                      "accuracy_jaq": acc_jaq, "accuracy_onnxruntime": acc_ort, "first_disagreeing_index": first,
                      "onnxruntime": ort.__version__, "ok": ok}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
