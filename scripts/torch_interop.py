#!/usr/bin/env python3
"""ferronet's safetensors files and PyTorch's, both ways. Run by hand, from the repository root:

    pip install torch safetensors numpy
    cargo run --release --example mnist -- --save target/interop/mnist.safetensors
    python3 scripts/torch_interop.py target/interop/mnist.safetensors

(a) ferronet -> PyTorch. Loads the saved tutorial model into
    nn.Sequential(Flatten, Linear(784,128), ReLU, Linear(128,64), ReLU, Linear(64,10)) with
    load_state_dict(safetensors.torch.load_file(path)), computes the softmax probabilities of
    the 10,000 MNIST test images, has ferronet compute its own (the export_probs example), and
    fails unless the largest absolute difference is at most 1e-5.

(b) PyTorch -> ferronet. Makes the small network nn.Sequential(Linear(4,3), ReLU, Linear(3,2),
    Softmax) from torch.manual_seed(2) and checks that tests/data/torch_4_3_2.safetensors holds
    exactly its state_dict (with --write-tiny it writes that file instead), then prints the
    weights and the probabilities for the fixed input that tests/pytorch.rs checks ferronet
    against with `cargo test`.
"""

import argparse
import gzip
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOLERANCE = 1e-5
TINY_INPUT = [[0.5, -1.0, 2.0, 0.25], [-0.75, 0.125, 1.5, -2.0], [1.0, 1.0, -1.0, 0.0]]
# With this seed every hidden unit is active for some row of TINY_INPUT and the ReLU cuts off
# others, so the outputs depend on every weight and on the ReLU.
TINY_SEED = 2


def read_idx_images(path: pathlib.Path) -> np.ndarray:
    """An IDX image file (raw or gzip) as a uint8 array [count, rows, cols]."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    magic, count, rows, cols = np.frombuffer(data[:16], dtype=">u4")
    assert magic == 2051, f"{path}: magic {magic}, expected 2051 (images)"
    return np.frombuffer(data[16:], dtype=np.uint8).reshape(count, rows, cols)


def test_images(data_dir: pathlib.Path) -> np.ndarray:
    for name in ["t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"]:
        if (data_dir / name).exists():
            return read_idx_images(data_dir / name)
    sys.exit(f"no MNIST test images in {data_dir}")


def ferronet_to_pytorch(model_path: pathlib.Path, data_dir: pathlib.Path) -> None:
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)
    )
    model.load_state_dict(load_file(model_path))  # strict: every name and shape must match
    model.eval()
    images = torch.from_numpy(test_images(data_dir).copy()).float() / 255.0
    with torch.no_grad():
        torch_probs = torch.softmax(model(images), dim=1)

    with tempfile.TemporaryDirectory() as scratch:
        probs_path = pathlib.Path(scratch) / "probabilities.safetensors"
        command = ["cargo", "run", "--release", "--quiet", "--example", "export_probs", "--",
                   str(model_path), str(probs_path), "--data", str(data_dir)]
        subprocess.run(command, cwd=ROOT, check=True)
        ferronet_probs = load_file(probs_path)["probabilities"]

    assert ferronet_probs.shape == torch_probs.shape, (ferronet_probs.shape, torch_probs.shape)
    difference = (ferronet_probs - torch_probs).abs()
    worst = int(difference.max(dim=1).values.argmax())
    agree = int((ferronet_probs.argmax(dim=1) == torch_probs.argmax(dim=1)).sum())
    print(f"(a) {model_path} in PyTorch {torch.__version__}: {len(images)} test images")
    print(f"    largest |ferronet - PyTorch| probability difference: {difference.max().item():.3e} "
          f"(image {worst}); mean {difference.mean().item():.3e}")
    print(f"    same predicted class for {agree} of {len(images)} images")
    if difference.max().item() > TOLERANCE:
        sys.exit(f"FAILED: the difference exceeds {TOLERANCE}")


def f32(value: float) -> str:
    """The shortest decimal that reads back as the same f32, as a Rust literal."""
    text = np.format_float_positional(np.float32(value), unique=True, trim="0")
    return text if "." in text else text + ".0"


def pytorch_to_ferronet(tiny_path: pathlib.Path, write: bool) -> None:
    torch.manual_seed(TINY_SEED)
    tiny = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.Softmax(dim=1))
    if write:
        save_file(tiny.state_dict(), tiny_path)
        print(f"(b) wrote {tiny_path}")
    stored = load_file(tiny_path)
    state = tiny.state_dict()
    same = stored.keys() == state.keys() and all(torch.equal(stored[k], state[k]) for k in state)
    if not same:
        sys.exit(f"FAILED: {tiny_path} is not the state_dict of the seeded 4-3-2 network")
    print(f"(b) {tiny_path} holds the state_dict of the seeded 4-3-2 network, made by PyTorch {torch.__version__}")
    with torch.no_grad():
        probs = tiny(torch.tensor(TINY_INPUT))
    for name, tensor in state.items():
        rows = tensor.tolist() if tensor.dim() == 2 else [tensor.tolist()]
        print(f"    {name} {list(tensor.shape)}: " + ", ".join("[" + ", ".join(f32(v) for v in row) + "]" for row in rows))
    print("    probabilities for " + repr(TINY_INPUT) + ":")
    for row in probs.tolist():
        print("        [" + ", ".join(f32(v) for v in row) + "],")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=pathlib.Path, nargs="?", default=ROOT / "target/interop/mnist.safetensors",
                        help="a tutorial model saved by ferronet (default: target/interop/mnist.safetensors)")
    parser.add_argument("--data", type=pathlib.Path, default=ROOT / "data/mnist", help="the MNIST folder")
    parser.add_argument("--tiny", type=pathlib.Path, default=ROOT / "tests/data/torch_4_3_2.safetensors",
                        help="the PyTorch-made file of (b)")
    parser.add_argument("--write-tiny", action="store_true", help="write the file of (b) instead of checking it")
    args = parser.parse_args()
    if not args.model.exists():
        sys.exit(f"{args.model} does not exist: run\n"
                 f"  cargo run --release --example mnist -- --save {args.model}")
    ferronet_to_pytorch(args.model.resolve(), args.data.resolve())
    pytorch_to_ferronet(args.tiny, args.write_tiny)


if __name__ == "__main__":
    main()
