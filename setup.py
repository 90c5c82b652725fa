"""The package list: the code under src/ plus the two data packages pyproject.toml maps from conf/ and sweeps/."""

from setuptools import find_packages, setup

setup(packages=find_packages("src") + ["humpback.conf", "humpback.sweeps"])
