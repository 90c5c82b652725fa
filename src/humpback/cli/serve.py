"""`humpback-serve`: an OpenAI-compatible server (/v1/chat/completions, /v1/completions with logprobs)
over local HF model folders, so one judge or generator model serves every job of a sweep.

  humpback-serve --model outputs/judge_model --port 8000
  humpback-serve --model DIR --name judge --port 0              # prints the bound URL
  humpback-serve --model DIR --faults fail_500=2,slow=1,slow_s=5   # fault injection for client tests

Concurrent requests to one model are merged into shared forward passes of up to --batch-size prompts
(waiting at most --max-wait-ms for company; seeded sampling requests always run alone, so their samples
match an in-process run; see humpback.serve.batcher). The refusals (a missing folder, an unset key
variable, a public --host without a key) come before any model loads. SIGTERM or Ctrl-C stops it cleanly.

Binds 127.0.0.1 unless --host says otherwise. With --api-key-env VAR, requests must carry the key held
in that environment variable (the key itself never appears on the command line). Another --host needs
a key, or --insecure to serve it without one.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Optional

from humpback.serve.batcher import DEFAULT_MAX_WAIT_MS
from humpback.serve.faults import ENV_VAR, FaultInjector, faults_from_env, parse_faults


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="humpback-serve", description="OpenAI-compatible server over local HF models.")
    p.add_argument("--model", action="append", required=True, metavar="DIR", help="model folder (repeat to serve several)")
    p.add_argument("--name", action="append", default=[], metavar="NAME",
                   help="served name for each --model, in order (default: the folder name)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=8000, help="port (0: any free port; the URL is printed)")
    p.add_argument("--device", default=None, help="torch device (default: cuda when available)")
    p.add_argument("--batch-size", type=int, default=8, help="prompts per forward pass (concurrent requests are merged up to this)")
    p.add_argument("--max-wait-ms", type=float, default=DEFAULT_MAX_WAIT_MS, metavar="MS",
                   help=f"how long a forward pass waits for more requests to merge (default {DEFAULT_MAX_WAIT_MS:g})")
    p.add_argument("--prompt-template", choices=["inst", "chat_template"], default=None,
                   help="how chat messages become a prompt (default: the model card's, else the tokenizer's chat template)")
    p.add_argument("--api-key-env", default=None, metavar="VAR", help="require the key held in this environment variable")
    p.add_argument("--insecure", action="store_true", help="allow a non-loopback --host without an API key")
    p.add_argument("--faults", default=None, metavar="SPEC",
                   help=f"fault injection, e.g. fail_500=2,garbage=1,slow=1,slow_s=3 or rate=0.3,seed=0 (or ${ENV_VAR}; see humpback.serve.faults)")
    p.add_argument("--log-level", default="WARNING")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if len(args.name) > len(args.model):
        print("humpback-serve: more --name than --model", file=sys.stderr)
        return 2
    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            print(f"humpback-serve: --api-key-env {args.api_key_env}: that variable is not set", file=sys.stderr)
            return 2
    from humpback.serve.app import HumpbackServer, check_bind, is_loopback_host

    try:
        faults = parse_faults(args.faults) if args.faults is not None else faults_from_env()
        check_bind(args.host, api_key, args.insecure)  # before the models load: a refusal costs nothing
    except ValueError as e:
        print(f"humpback-serve: {e}", file=sys.stderr)
        return 2
    if args.max_wait_ms < 0:
        print("humpback-serve: --max-wait-ms must be >= 0", file=sys.stderr)
        return 2
    for folder in args.model:
        if not Path(folder).is_dir():
            print(f"humpback-serve: --model {folder}: not a folder", file=sys.stderr)
            return 2

    from humpback.quiet import quiet_libraries

    quiet_libraries()
    from humpback.inference.hf_runner import HFRunner

    backends = {}
    for i, folder in enumerate(args.model):
        name = args.name[i] if i < len(args.name) else Path(folder).resolve().name
        backends[name] = HFRunner(folder, device=args.device, batch_size=args.batch_size, prompt_template=args.prompt_template)
    if not is_loopback_host(args.host):
        print(f"humpback-serve: warning: listening on {args.host}, reachable beyond this machine", file=sys.stderr)
    try:
        server = HumpbackServer(backends, args.host, args.port, FaultInjector(faults), api_key, args.insecure, max_wait_ms=args.max_wait_ms)
    except OSError as e:  # the port is taken, the host is not this machine's ...
        print(f"humpback-serve: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 1
    try:  # SIGINT / SIGTERM (a plain `kill`) stop it cleanly: serve_forever returns
        server.serve_forever(ready=lambda: print(f"humpback-serve: serving {', '.join(backends)} at {server.url}", flush=True))
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
