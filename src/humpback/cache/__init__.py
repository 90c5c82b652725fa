from humpback.cache.store import Artifact, ArtifactStore, artifact_key

__all__ = ["Artifact", "ArtifactStore", "artifact_key"]
