"""The toy world: a seeded synthetic web where every answer is checkable (the network-free default input).

    world = build_world(ToyWorldConfig(seed=0))   # pure function of the config
    world.write("out/")                           # seed, pages, corpus, eval, gold/segments, manifest
    OracleJudge().preference(eval_record, output_1, output_2)

See config.py for the knobs and a one-GPU preset.
"""

from .config import GPU_PRESET, ToyWorldConfig
from .oracle import OracleJudge
from .world import TOYWORLD_VERSION, World, build_world

__all__ = ["GPU_PRESET", "OracleJudge", "TOYWORLD_VERSION", "ToyWorldConfig", "World", "build_world"]
