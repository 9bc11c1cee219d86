"""Install the pinned torch into the current environment without surprises.

An unqualified ``pip install torch`` on Linux resolves to the CUDA build from PyPI:
several GB of NVIDIA libraries that a CPU-only machine cannot use. This script is
the Makefile's first install step. It

1. does nothing when an acceptable torch is already installed;
2. otherwise asks pip, in a dry run, which torch wheel it *would* install;
3. refuses to go on if that is a CUDA build on a machine without an NVIDIA GPU,
   and says how to get the CPU build instead (``TORCH_INDEX=...``).

Usage: python scripts/install_torch.py CONSTRAINTS [--index URL] [--allow-cuda]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import platform
import shutil
import subprocess
import sys
import tempfile

CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def pinned_torch(constraints: str) -> str:
    for line in open(constraints, encoding="utf-8"):
        line = line.split("#")[0].strip()
        if line.startswith("torch=="):
            return line
    raise SystemExit(f"no 'torch==' pin found in {constraints}")


def installed_torch() -> str | None:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def has_nvidia_gpu() -> bool:
    return shutil.which("nvidia-smi") is not None


def planned_wheel(requirement: str, index: str | None) -> list[str]:
    """Names and versions pip would install for ``requirement`` (a dry run)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet"]
        cmd += ["--report", report.name, requirement]
        if index:
            cmd += ["--index-url", index]
        subprocess.run(cmd, check=True)
        plan = json.load(open(report.name, encoding="utf-8"))
    return [
        f"{item['metadata']['name']}=={item['metadata']['version']}"
        for item in plan.get("install", [])
    ]


def refusal(plan: list[str], *, is_linux: bool, has_gpu: bool, allow_cuda: bool) -> str:
    """Why installing ``plan`` would be a mistake here, or "" when it is fine."""
    cuda_libs = [p for p in plan if p.lower().startswith("nvidia-")]
    if not (is_linux and cuda_libs) or has_gpu or allow_cuda:
        return ""
    return (
        f"pip would pull the CUDA build ({len(cuda_libs)} NVIDIA packages, several "
        f"GB) but this machine has no NVIDIA GPU (nvidia-smi not found).\n"
        f"  CPU build:  make <target> TORCH_INDEX={CPU_INDEX}\n"
        f"  CUDA build anyway:  make <target> TORCH_ALLOW_CUDA=1"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("constraints")
    parser.add_argument("--index", default=None, help="pip index for torch only")
    parser.add_argument("--allow-cuda", action="store_true")
    args = parser.parse_args()

    requirement = pinned_torch(args.constraints)
    wanted = requirement.split("==")[1]
    have = installed_torch()
    if have is not None and have.split("+")[0] == wanted:
        print(f"torch {have} already installed")
        return

    plan = planned_wheel(requirement, args.index)
    problem = refusal(
        plan,
        is_linux=platform.system() == "Linux",
        has_gpu=has_nvidia_gpu(),
        allow_cuda=args.allow_cuda,
    )
    if problem:
        raise SystemExit(f"Refusing to install {requirement}: {problem}")
    cmd = [sys.executable, "-m", "pip", "install", requirement]
    if args.index:
        cmd += ["--index-url", args.index]
    subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
