"""Wall time of ``drafter batch`` and ``drafter eval`` against a slow local model, beside the ideal.

Run: .venv/bin/python benchmarks/bench_batch.py [--messages 160] [--latency 0.2] [--concurrency 1 8 32]

A scripted OpenAI-compatible server on 127.0.0.1 (tests/openai_server.py) answers every chat completion
after ``--latency`` seconds with a reply that passes the hard tone rules in the request's language, so
each message costs one model call. Each command runs as a subprocess (process start included) over
``--messages`` messages built from the shipped eval cases; the ideal is messages × latency ÷ concurrency.
The ``floor`` rows make the same number of calls from a bare openai client (one shared AsyncOpenAI, no
drafting work): what the machine, the SDK import and the test server cost before drafter does anything.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

def _answer(request):  # noqa: ANN001, ANN202 - a scripted-server step
    from batch_api_server import good_reply  # a reply that passes the hard rules, in the prompt's language
    from openai_server import reply

    return reply(good_reply(request.body or {}))


def _case_blocks() -> list[str]:
    """The shipped cases, one TOML ``[[cases]]`` block each (with its sub-tables)."""
    blocks: list[str] = []
    for path in sorted((ROOT / "evals" / "cases").glob("*.toml")):
        current: list[str] | None = None
        for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
            if line.strip() == "[[cases]]":
                if current:
                    blocks.append("".join(current))
                current = [line]
            elif current is not None:
                current.append(line)
        if current:
            blocks.append("".join(current))
    return blocks


def make_inputs(folder: Path, n: int) -> tuple[Path, Path]:
    """``n`` messages as a batch JSONL file and as a cases directory, from the shipped cases (cycled)."""
    from drafter.evaluation.cases import load_cases

    cases = load_cases(None)
    batch = folder / "messages.jsonl"
    with batch.open("w", encoding="utf-8") as out:
        for i in range(n):
            case = cases[i % len(cases)]
            row = {"id": f"m{i:04d}", "message": case.message, "context": case.context.to_dict()}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    blocks = _case_blocks()
    cases_dir = folder / "cases"
    cases_dir.mkdir()
    chosen = []
    for i in range(n):
        block = blocks[i % len(blocks)]
        if i >= len(blocks):   # a second lap: the same case under a new id
            block = block.replace('id = "', f'id = "r{i // len(blocks)}-', 1)
        chosen.append(block)
    (cases_dir / "bench.toml").write_text("".join(chosen), encoding="utf-8")
    assert len(load_cases(cases_dir)) == n
    return batch, cases_dir


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


FLOOR = """\
import asyncio, sys
import openai

async def main(url, n, concurrency):
    client = openai.AsyncOpenAI(base_url=url, api_key="bench", max_retries=0)
    messages = [{"role": "system", "content": "x" * 3000}, {"role": "user", "content": "y" * 2000}]
    todo = iter(range(n))

    async def worker():
        for _ in todo:
            await client.chat.completions.create(model="m", messages=messages)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await client.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall time and CPU time (user + system) of one CLI run (``args`` after ``drafter``, or a full
    command line when it starts with the Python interpreter)."""
    command = args if args[0] == sys.executable else [str(Path(sys.executable).parent / "drafter"), *args]
    cpu, started = _cpu(), time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    return time.perf_counter() - started, _cpu() - cpu, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=160)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--only", nargs="+", choices=("batch", "eval", "floor"), help="only these commands")
    parser.add_argument("--stock-server", action="store_true",
                        help="keep the scripted server's Nagle algorithm and listen backlog of 5 (see below)")
    opts = parser.parse_args()

    import openai_server
    from openai_server import ScriptedOpenAIServer, delay, dynamic

    # Two costs of the test server itself, not of drafter nor of real model servers: (1) it writes a
    # response's headers and body in two sends, so with Nagle's algorithm on the body waits for the
    # client's delayed ACK (~40 ms per response on Linux loopback); (2) socketserver's listen backlog is
    # 5, so a burst of more new connections loses SYNs, retransmitted after 1 s. Lift both.
    if not opts.stock_server:
        openai_server._Handler.disable_nagle_algorithm = True
        openai_server._HTTPServer.request_queue_size = 128

    rows = []
    with tempfile.TemporaryDirectory() as tmp, \
            ScriptedOpenAIServer(default=delay(opts.latency, dynamic(_answer))) as server:
        folder = Path(tmp)
        batch_in, cases_dir = make_inputs(folder, opts.messages)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "DRAFTER_"))}
        env.update(OPENAI_API_KEY="bench", XDG_CACHE_HOME=str(folder / "cache"), NO_PROXY="127.0.0.1")
        load = os.getloadavg()[0]
        timed(["batch", str(batch_in), "-o", str(folder / "warm.jsonl"), "--offline"], env)  # warm OS caches
        commands = {
            "batch": lambda c: ["batch", str(batch_in), "-o", str(folder / f"out-{c}-{time.time_ns()}.jsonl"),
                                "--base-url", server.base_url, "--concurrency", str(c)],
            "eval": lambda c: ["eval", "--cases", str(cases_dir), "--base-url", server.base_url,
                               "--concurrency", str(c), "--no-cache", "--quiet"],
            # the model calls alone: a bare openai client, one shared AsyncOpenAI, no drafting work
            "floor": lambda c: [sys.executable, "-c", FLOOR, server.base_url, str(opts.messages), str(c)],
        }
        for c in opts.concurrency:          # interleaved, so that each row sees about the same machine load
            for name, build in commands.items():
                if opts.only and name not in opts.only:
                    continue
                server.clear()
                wall, cpu, done = timed(build(c), env)
                if done.returncode not in (0, 1) or (name != "eval" and done.returncode):
                    sys.exit(f"{name} at concurrency {c} failed ({done.returncode}): {done.stderr[-400:]}")
                ideal = opts.messages * opts.latency / c
                rows.append((name, c, wall, ideal, len(server.chat_requests), cpu))

    print(f"{opts.messages} messages, server latency {opts.latency * 1000:.0f} ms, process start included"
          f"{', stock test server (Nagle on, backlog 5)' if opts.stock_server else ''}")
    print(f"load average at the start: {load:.2f} on {os.cpu_count()} CPU(s)")
    print("floor: the same number of calls from a bare openai client (process start and import included)")
    print(f"{'command':<8} {'conc':>5} {'wall s':>8} {'ideal s':>8} {'ratio':>6} {'calls':>6} {'cpu s':>6}")
    for name, c, wall, ideal, calls, cpu in sorted(rows, key=lambda r: (r[0] != "batch", r[0], r[1])):
        print(f"{name:<8} {c:>5} {wall:>8.2f} {ideal:>8.2f} {wall / ideal:>6.2f} {calls:>6} {cpu:>6.2f}")


if __name__ == "__main__":
    main()
