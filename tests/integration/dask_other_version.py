"""A Dask worker's preload (``dask worker --preload``) for test_cluster: this worker's
dbbench says it is another version, as a worker with another install would."""

from dbbench.engine import cluster

#: the real one, kept once: Dask may run a preload file more than once
_own = getattr(cluster, "own_versions", cluster.versions)
cluster.own_versions = _own


def _other(settings, runner_names):
    return {**_own(settings, runner_names), "dbbench": "0.0.0-other"}


cluster.versions = _other
