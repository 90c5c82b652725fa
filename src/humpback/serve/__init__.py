"""`humpback-serve`: an OpenAI-compatible server over local HF models, so one judge or generator model
can be shared by every job of a sweep (and so the API judge can be tested against a real server).
FastAPI + uvicorn in front (serve.app), one micro-batching worker per model behind (serve.batcher), so
concurrent requests share forward passes; fault injection for client tests (serve.faults)."""

from humpback.serve.app import ChatRequest, CompletionRequest, HumpbackServer, check_bind, serve_in_thread
from humpback.serve.batcher import MicroBatcher
from humpback.serve.faults import FaultConfig, FaultInjector, parse_faults

__all__ = ["ChatRequest", "CompletionRequest", "FaultConfig", "FaultInjector", "HumpbackServer", "MicroBatcher", "check_bind",
           "parse_faults", "serve_in_thread"]
