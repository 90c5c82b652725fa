"""`humpback`: the Hydra app. `humpback`, `humpback -m ...`, `humpback --cfg job` work as Hydra users expect."""

from __future__ import annotations

from humpback.quiet import quiet_libraries

quiet_libraries()

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from humpback.config.schema import register_configs  # noqa: E402
from humpback.paths import conf_dir, register_resolvers  # noqa: E402

register_resolvers()
register_configs()


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def main(cfg: DictConfig) -> float | None:
    from humpback.app import run_job

    summary = run_job(cfg)
    if cfg.plan:
        return None
    final = summary["models"].get(summary["final_model"], {})
    return final.get("win_rate")  # the sweep objective


if __name__ == "__main__":
    main()
