"""Image-level vision stages: models, transient masks, embeddings, local features, verification."""
