"""`humpback-serve`: an OpenAI-compatible server (/v1/chat/completions, /v1/completions with logprobs)
over local HF model folders, so one judge or generator model serves every job of a sweep.

  humpback-serve --model outputs/judge_model --port 8000
  humpback-serve --model DIR --name judge --port 0              # prints the bound URL
  humpback-serve --model DIR --faults fail_500=2,slow=1,slow_s=5   # fault injection for client tests

Binds 127.0.0.1 unless --host says otherwise. With --api-key-env VAR, requests must carry the key held
in that environment variable (the key itself never appears on the command line). Another --host needs
a key, or --insecure to serve it without one.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Optional

from humpback.serve.faults import ENV_VAR, FaultInjector, faults_from_env, parse_faults


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="humpback-serve", description="OpenAI-compatible server over local HF models.")
    p.add_argument("--model", action="append", required=True, metavar="DIR", help="model folder (repeat to serve several)")
    p.add_argument("--name", action="append", default=[], metavar="NAME",
                   help="served name for each --model, in order (default: the folder name)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=8000, help="port (0: any free port; the URL is printed)")
    p.add_argument("--device", default=None, help="torch device (default: cuda when available)")
    p.add_argument("--batch-size", type=int, default=8, help="prompts per forward pass")
    p.add_argument("--prompt-template", choices=["inst", "chat_template"], default=None,
                   help="how chat messages become a prompt (default: the model card's, else the tokenizer's chat template)")
    p.add_argument("--api-key-env", default=None, metavar="VAR", help="require the key held in this environment variable")
    p.add_argument("--insecure", action="store_true", help="allow a non-loopback --host without an API key")
    p.add_argument("--faults", default=None, metavar="SPEC",
                   help=f"fault injection, e.g. fail_500=2,garbage=1,slow=1,slow_s=3 or rate=0.3,seed=0 (or ${ENV_VAR}; see humpback.serve.faults)")
    p.add_argument("--log-level", default="WARNING")
    return p


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


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

    from humpback.quiet import quiet_libraries

    quiet_libraries()
    from humpback.inference.hf_runner import HFRunner

    backends = {}
    for i, folder in enumerate(args.model):
        if not Path(folder).is_dir():
            print(f"humpback-serve: --model {folder}: not a folder", file=sys.stderr)
            return 2
        name = args.name[i] if i < len(args.name) else Path(folder).resolve().name
        backends[name] = HFRunner(folder, device=args.device, batch_size=args.batch_size, prompt_template=args.prompt_template)
    if not is_loopback_host(args.host):
        print(f"humpback-serve: warning: listening on {args.host}, reachable beyond this machine", file=sys.stderr)
    server = HumpbackServer(backends, args.host, args.port, FaultInjector(faults), api_key, args.insecure)
    signal.signal(signal.SIGTERM, _interrupt)  # a plain `kill` stops it cleanly too
    print(f"humpback-serve: serving {', '.join(backends)} at {server.url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
