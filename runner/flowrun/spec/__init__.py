"""The pipeline spec: model, YAML loading with positions, profiles and rules."""
