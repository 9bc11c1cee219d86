"""Generation throughput: the plain loop, llmlab's KV-cache engine, and HuggingFace
``generate`` with its cache.

Peers, measured in the same run on the same machine: a random-weight GPT-2-shaped
model (12 layers, d 768, 12 heads, vocab 50257, context 1024) run three ways, the
plain loop (``generate_plain``: the whole prefix every step), our cached engine
(``generate``) and HF ``GPT2LMHeadModel.generate`` (``use_cache=True``) built with
the *same* weights through ``llmlab.model.weights``; and the zoo model
(``stdlib-small``) with the plain loop and the engine (it uses RoPE and RMSNorm,
which GPT-2's HF class cannot load, so it has no HF row). All runs are greedy,
with a fixed number of new tokens and no stop token, from prompts of
``--prompt-len`` random tokens. The methods are interleaved within each repeat
and each cell is the median of ``--repeats``.

Before each batch size, ``llmlab.generate.kernels.tune_kernels`` times three ways of
multiplying by each group of same-shaped weight matrices at that batch size and
keeps the fastest for the engine (the row says which and how long the timing
took); ``--no-tune`` measures the engine with torch's default instead. The plain
loop always runs with the default, and HF as it ships.

Also printed: KV-cache bytes against 2 · layers · kv_heads · d_head · T · B · bytes
(with and without grouped-query attention), and speculative decoding (zoo target,
``stdlib-draft`` draft) against the cached target alone, with the acceptance rate.

Usage: python benchmarks/bench_generate.py [--new-tokens 128 256 512]
       [--batch-sizes 1 8] [--repeats 3] [--plain-max 512]
       [--plain-batch-sizes 1] [--skip-zoo] [--no-tune]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch

from llmlab.generate import (
    generate,
    generate_plain,
    speculative_generate,
    tune_kernels,
    use_kernels,
)
from llmlab.model import GPT, PRESETS, KVCache
from llmlab.model.weights import state_dict_to_hf_gpt2

GPT2 = PRESETS["gpt2-124m"]  # GPT-2 small: 12 layers, d_model 768


def hf_twin(model: GPT):
    """HF GPT2LMHeadModel with exactly ``model``'s weights."""
    from transformers import GPT2Config, GPT2LMHeadModel

    c = model.config
    config = GPT2Config(
        vocab_size=c.vocab_size,
        n_positions=c.context_length,
        n_embd=c.d_model,
        n_layer=c.n_layers,
        n_head=c.n_heads,
        n_inner=c.d_ff,
        activation_function="gelu_new",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    )
    config._attn_implementation = "sdpa"
    hf = GPT2LMHeadModel(config).eval()
    hf.load_state_dict(state_dict_to_hf_gpt2(model), strict=False)
    return hf


def run_hf(hf, prompts: torch.Tensor, new: int) -> list[list[int]]:
    with torch.no_grad():
        out = hf.generate(
            prompts,
            attention_mask=torch.ones_like(prompts),
            max_new_tokens=new,
            min_new_tokens=new,
            do_sample=False,
            use_cache=True,
            pad_token_id=0,
        )
    return out[:, prompts.shape[1] :].tolist()


def timed(fn) -> tuple[float, list]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bench_model(name, model, hf, args, *, plain_batches) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    rows = []
    for batch in args.batch_sizes:
        prompts = torch.randint(
            model.config.vocab_size, (batch, args.prompt_len), generator=g
        )
        choice = {}
        if not args.no_tune:
            s, choice = timed(lambda: tune_kernels(model, batch_size=batch))
            kinds = ", ".join(f"{o}x{i}: {k}" for (o, i), k in choice.items())
            print(f"| {name:<12} | {batch:>2} | kernels tuned in {s:.1f} s: {kinds} |")
        for new in args.new_tokens:
            if args.prompt_len + new > model.config.context_length:
                limit = model.config.context_length
                print(
                    f"| {name:<12} | {batch:>2} | {new:>4} | skipped: prompt + new "
                    f"tokens exceed the context of {limit} |"
                )
                continue
            methods = {
                "cache": lambda: generate(model, prompts.tolist(), max_new_tokens=new)
            }
            if new <= args.plain_max and batch in plain_batches:
                methods["plain"] = lambda: generate_plain(
                    model, prompts.tolist(), max_new_tokens=new
                )
            if hf is not None:
                methods["hf"] = lambda: run_hf(hf, prompts, new)
            # the engine decodes with the tuned kernels; the plain loop, whose
            # steps are full-prefix matrix products, with torch's default
            kernels = {"cache": choice, "plain": {}}
            seconds = {m: [] for m in methods}
            outputs = {}
            for _ in range(args.repeats):
                for m, fn in methods.items():  # interleaved
                    if m in kernels:
                        use_kernels(model, kernels[m])  # untimed
                    s, outputs[m] = timed(fn)
                    seconds[m].append(s)
            tps = {m: batch * new / statistics.median(s) for m, s in seconds.items()}
            same = all(outputs[m] == outputs["cache"] for m in outputs)
            rows.append(
                {"model": name, "batch": batch, "new": new, **tps, "same": same}
            )
            print(_row(rows[-1]), flush=True)
    return rows


def _row(r: dict) -> str:
    def cell(key):
        return f"{r[key]:9.1f}" if key in r else f"{'-':>9}"

    plain = f"{r['cache'] / r['plain']:7.1f}x" if "plain" in r else f"{'-':>8}"
    hf = f"{r['cache'] / r['hf']:6.2f}x" if "hf" in r else f"{'-':>7}"
    return (
        f"| {r['model']:<12} | {r['batch']:>2} | {r['new']:>4} | {cell('plain')} | "
        f"{cell('cache')} | {cell('hf')} | {plain} | {hf} | {r['same']!s:>5} |"
    )


def cache_bytes() -> None:
    for kv in (12, 4, 1):
        config = dataclasses.replace(GPT2, n_kv_heads=kv)
        T, B = 1024, 8
        got = KVCache(config, batch_size=B, max_len=T).nbytes()
        want = 2 * config.n_layers * kv * config.d_head * T * B * 4
        print(
            f"kv_heads={kv:>2}: cache {got / 2**20:8.1f} MiB, formula "
            f"{want / 2**20:8.1f} MiB, equal={got == want}"
        )


def bench_speculative(args) -> None:
    from llmlab.recipes import pretrained

    target, tokenizer = pretrained("stdlib-small", progress=False)
    draft, _ = pretrained("stdlib-draft", progress=False)
    # a file starts, then "def" (the healed form of "def ", chapter 07)
    prompt = [tokenizer.eot_id] + tokenizer.encode("def")
    for n_draft in (2, 4, 6):
        seconds = {"target": [], "speculative": []}
        for _ in range(args.repeats):
            s, base = timed(lambda: generate(target, [prompt], max_new_tokens=128))
            seconds["target"].append(s)
            s, spec = timed(
                lambda: speculative_generate(
                    target, draft, prompt, max_new_tokens=128, n_draft=n_draft
                )
            )
            seconds["speculative"].append(s)
        speedup = statistics.median(seconds["target"]) / statistics.median(
            seconds["speculative"]
        )
        print(
            f"n_draft={n_draft}: acceptance {spec.acceptance_rate:.2f}, speedup "
            f"{speedup:.2f}x over the cached target, same tokens "
            f"{spec.tokens == base[0]}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--new-tokens", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--prompt-len", type=int, default=16)
    parser.add_argument(
        "--plain-max",
        type=int,
        default=512,
        help="skip the plain loop above this many new tokens",
    )
    parser.add_argument(
        "--plain-batch-sizes",
        type=int,
        nargs="+",
        default=[1],
        help="batch sizes at which the GPT-2-shaped model also runs the plain loop "
        "(at 8 x 512 new tokens it takes hours on 2 cores); the zoo model runs it "
        "at every batch size",
    )
    parser.add_argument(
        "--no-tune",
        action="store_true",
        help="decode with torch's default matrix kernels instead of the ones "
        "llmlab.generate.kernels.tune_kernels picks per batch size",
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--skip-zoo", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch threads: {torch.get_num_threads()}, repeats: {args.repeats}, "
        f"prompt: {args.prompt_len} tokens; tokens/s"
    )
    print(
        "| model        |  B |  new |     plain |     cache |        hf | "
        "vs plain | vs HF | same? |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    torch.manual_seed(0)
    gpt2 = GPT(GPT2).eval()
    bench_model(
        "gpt2-shaped", gpt2, hf_twin(gpt2), args, plain_batches=args.plain_batch_sizes
    )
    if not args.skip_zoo:
        from llmlab.recipes import pretrained

        zoo, _ = pretrained("stdlib-small", progress=False)
        bench_model("stdlib-small", zoo, None, args, plain_batches=args.batch_sizes)
    cache_bytes()
    if not args.skip_zoo:
        bench_speculative(args)


if __name__ == "__main__":
    main()
