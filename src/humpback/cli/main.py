"""`humpback`: the Hydra app. `humpback`, `humpback -m ...`, `humpback --cfg job` work as Hydra users expect."""

from __future__ import annotations

from humpback.quiet import quiet_libraries

quiet_libraries()

import os  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Iterator  # noqa: E402

import hydra  # noqa: E402
from hydra.errors import CompactHydraException  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from humpback.config.schema import register_configs  # noqa: E402
from humpback.data.records import DataError  # noqa: E402
from humpback.paths import conf_dir, register_resolvers  # noqa: E402
from humpback.validate import ConfigError  # noqa: E402

register_resolvers()
register_configs()

PACKAGE = Path(__file__).resolve().parents[1]
HINTS = {
    ConfigError: "change the key named above (an override key=value or a YAML file); `humpback --cfg job` prints the composed config",
    DataError: "fix or replace the input named above (file:line), or point the config at another file",
}


class UserError(CompactHydraException):
    """An error whose message says it all: Hydra prints it without a traceback, and exits 1."""


def _raised_here(err: BaseException) -> bool:
    """The innermost frame is humpback's own code: a message written for users, not a crash in a library."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(PACKAGE)


def _full_errors() -> bool:
    """HYDRA_FULL_ERROR=1 or hydra.verbose asks for tracebacks."""
    from hydra.core.hydra_config import HydraConfig

    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        return True
    return HydraConfig.initialized() and bool(HydraConfig.get().verbose)


@contextmanager
def readable_errors() -> Iterator[None]:
    """Our errors as one line and a hint; anything else (a bug, a library crash) keeps its traceback."""
    try:
        yield
    except (ValueError, OSError, EOFError, RuntimeError) as err:
        if _full_errors() or not (isinstance(err, (ConfigError, DataError)) or _raised_here(err)):
            raise
        hint = next((h for cls, h in HINTS.items() if isinstance(err, cls)),
                    "set HYDRA_FULL_ERROR=1 (or hydra.verbose=true) for the traceback")
        message = " ".join(str(err).split())  # one line, whatever the message held
        raise UserError(f"humpback: error: {message}\nhint: {hint}") from None


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def main(cfg: DictConfig) -> float | None:
    from humpback.app import run_job

    with readable_errors():
        summary = run_job(cfg)
    if cfg.plan:
        return None
    final = summary["models"].get(summary["final_model"], {})
    return final.get("win_rate")  # the sweep objective


if __name__ == "__main__":
    main()
