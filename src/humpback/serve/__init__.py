"""`humpback-serve`: an OpenAI-compatible server over local HF models, so one judge or generator model
can be shared by every job of a sweep (and so the API judge can be tested against a real server)."""

from humpback.serve.app import HumpbackServer, serve_in_thread
from humpback.serve.faults import FaultConfig, FaultInjector, parse_faults

__all__ = ["FaultConfig", "FaultInjector", "HumpbackServer", "parse_faults", "serve_in_thread"]
